"""open_image end to end on synthetic images: every file source gives the same view."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from gorc.errors import ImageReferenceError, ImageSourceError, LayerError
from gorc.image.fs import DirFileSystem, FileSystem
from gorc.image.open import open_image
from gorc.image.platform import parse_platform
from tests.image.imagekit import (
    Blobs,
    Image,
    Layer,
    docker_archive,
    ref_name,
    tar_bytes,
    tar_dir,
)

BASE = Layer({"bin/busybox": b"\x7fELF busybox", "etc/passwd": b"root:x:0:0::/:/bin/sh\n",
              "etc/old": b"old"}, "gzip")
APP = Layer({"app": b"\x7fELF app", "etc/.wh.old": b""}, "zstd")
IMAGE = Image([BASE, APP])


def listing(fs: FileSystem) -> list[tuple[str, str, int]]:
    return [(i.path, i.type.value, i.size) for i in fs.walk("/")]


@pytest.fixture
def references(tmp_path: Path) -> dict[str, str]:
    """The same image as a docker-archive, an OCI dir and an OCI archive."""
    blobs = Blobs()
    layout = blobs.write_layout(tmp_path / "oci", [blobs.manifest(IMAGE, **ref_name("v1"))])
    return {
        "docker-archive": f"docker-archive:{docker_archive(tmp_path / 'd.tar', {'a:1': IMAGE})}",
        "oci-dir": f"oci-dir:{layout}:v1",
        "oci-archive": f"oci-archive:{tar_dir(layout, tmp_path / 'o.tar')}",
    }


def test_every_file_source_agrees(references: dict[str, str], tmp_path: Path) -> None:
    views = {}
    for kind, reference in references.items():
        with open_image(reference, cache_dir=tmp_path / f"cache-{kind}") as image:
            views[kind] = listing(image.fs)
            assert image.summary.entrypoint == ("/app",)
            assert image.summary.reference == reference
            assert image.fs.read("/app") == b"\x7fELF app"
            assert not image.fs.exists("/etc/old")
            assert sorted(image.layer_commands.values()) == ["COPY l0 /", "COPY l1 /"]
    assert views["oci-dir"] == views["docker-archive"] == views["oci-archive"]


def test_shared_cache(references: dict[str, str], tmp_path: Path) -> None:
    first = open_image(references["oci-dir"], cache_dir=tmp_path / "cache")
    second = open_image(references["docker-archive"], cache_dir=tmp_path / "cache")
    assert listing(first.fs) == listing(second.fs)


def test_dir_source(tmp_path: Path) -> None:
    (tmp_path / "root" / "bin").mkdir(parents=True)
    (tmp_path / "root" / "bin" / "sh").write_text("#!")
    image = open_image(f"dir:{tmp_path / 'root'}")
    assert isinstance(image.fs, DirFileSystem)
    assert image.summary.reference == f"dir:{tmp_path / 'root'}"
    assert image.fs.exists("/bin/sh")
    with pytest.raises(ImageSourceError, match="not a directory"):
        open_image(f"dir:{tmp_path / 'missing'}")


def test_bad_reference() -> None:
    with pytest.raises(ImageReferenceError, match="lowercase"):
        open_image("registry:Bad/Name")


def test_platform_choice(tmp_path: Path) -> None:
    arm = Image([Layer({"arm": b"x"})], architecture="arm64")
    blobs = Blobs()
    index = blobs.index([blobs.manifest(IMAGE, platform=IMAGE.platform()),
                         blobs.manifest(arm, platform=arm.platform())])
    layout = blobs.write_layout(tmp_path / "oci", [index])
    image = open_image(f"oci-dir:{layout}", platform=parse_platform("linux/aarch64"),
                       cache_dir=tmp_path / "c")
    assert image.summary.architecture == "arm64"
    assert image.fs.exists("/arm")


def test_explicit_platform_on_a_single_image(tmp_path: Path) -> None:
    blobs = Blobs()
    layout = blobs.write_layout(tmp_path / "oci", [blobs.manifest(IMAGE)])
    with pytest.raises(ImageSourceError, match="no image for linux/arm64/v8; platforms present: "
                                               "linux/amd64"):
        open_image(f"oci-dir:{layout}", platform=parse_platform("linux/arm64"),
                   cache_dir=tmp_path / "c")
    # without --platform an image of any architecture is read (CCG204 reports it)
    assert open_image(f"oci-dir:{layout}", cache_dir=tmp_path / "c").summary.architecture


def test_wrong_diff_id(tmp_path: Path) -> None:
    config = json.loads(IMAGE.config())
    config["rootfs"]["diff_ids"][1] = "sha256:" + "0" * 64
    bad = Image(IMAGE.layers, config_override=json.dumps(config).encode())
    blobs = Blobs()
    layout = blobs.write_layout(tmp_path / "oci", [blobs.manifest(bad)])
    with pytest.raises(LayerError):
        open_image(f"oci-dir:{layout}", cache_dir=tmp_path / "c")


def test_hostile_layer_names_stay_inside(tmp_path: Path) -> None:
    evil = Layer({"../../escaped": b"x", "/abs/file": b"y", "ok": b"z"})
    blobs = Blobs()
    layout = blobs.write_layout(tmp_path / "oci", [blobs.manifest(Image([evil]))])
    image = open_image(f"oci-dir:{layout}", cache_dir=tmp_path / "c")
    assert image.fs.exists("/ok")
    assert not (tmp_path / "escaped").exists() and not Path("/abs/file").exists()
    assert not (tmp_path.parent / "escaped").exists()


def test_archive_with_escaping_member_names(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "a.tar", {"a:1": IMAGE})
    poisoned = tmp_path / "p.tar"
    extra = tar_bytes({"../outside": b"x", "/etc/evil": b"y"})
    with tarfile.open(archive) as source, tarfile.open(poisoned, "w") as out, \
            tarfile.open(fileobj=io.BytesIO(extra)) as more:
        for tar in (source, more):
            for member in tar:
                out.addfile(member, tar.extractfile(member))
    image = open_image(f"docker-archive:{poisoned}", cache_dir=tmp_path / "c")
    assert image.fs.exists("/app")
    assert not (tmp_path.parent / "outside").exists()
