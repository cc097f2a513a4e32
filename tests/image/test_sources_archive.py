"""docker-archive and OCI layout sources on small synthetic images."""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

from gorc.errors import ImageSourceError, LayerError
from gorc.image.platform import parse_platform
from gorc.image.sources.docker_archive import DockerArchiveSource
from gorc.image.sources.oci import OCILayoutSource
from gorc.image.sources.store import TarStore
from tests.image.imagekit import (
    Blobs,
    Image,
    Layer,
    check_image,
    digest,
    docker_archive,
    read_layers,
    ref_name,
    tar_bytes,
    tar_dir,
)

BASE = Layer({"bin/sh": b"#!shell"})
APP = Layer({"app": b"\x7fELF app"})


@pytest.mark.parametrize("oci_paths", [False, True], ids=["classic", "oci-in-save"])
def test_docker_archive_layouts(tmp_path: Path, oci_paths: bool) -> None:
    image = Image([BASE, APP])
    path = docker_archive(tmp_path / "a.tar", {"app:v1": image}, oci_paths=oci_paths)
    with DockerArchiveSource(path) as source:
        opened = source.open()
        check_image(opened, image)
        assert opened.digest == opened.config_digest
        assert opened.config["config"]["Entrypoint"] == ["/app"]


def test_docker_archive_gzip(tmp_path: Path) -> None:
    image = Image([BASE])
    plain = docker_archive(tmp_path / "a.tar", {"app:v1": image})
    packed = tmp_path / "a.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    source = DockerArchiveSource(packed)
    check_image(source.open(), image)
    source.close()


def test_docker_archive_truncated_gzip(tmp_path: Path) -> None:
    plain = docker_archive(tmp_path / "a.tar", {"app:v1": Image([BASE])})
    packed = tmp_path / "a.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes())[:-40])
    with pytest.raises(ImageSourceError, match="bad gzip stream"):
        DockerArchiveSource(packed).open()


def test_docker_archive_corrupt_gzip(tmp_path: Path) -> None:
    plain = docker_archive(tmp_path / "a.tar", {"app:v1": Image([BASE])})
    packed = gzip.compress(plain.read_bytes())
    corrupt = tmp_path / "a.tar.gz"
    corrupt.write_bytes(packed[:20] + bytes(50) + packed[70:])  # a broken deflate block
    with pytest.raises(ImageSourceError, match="bad gzip stream"):
        DockerArchiveSource(corrupt).open()


def test_docker_archive_choose_by_tag(tmp_path: Path) -> None:
    one, two = Image([BASE]), Image([BASE, APP])
    path = docker_archive(tmp_path / "a.tar", {"one:v1": one, "docker.io/library/two:v2": two})
    check_image(DockerArchiveSource(path, "two:v2").open(), two)
    check_image(DockerArchiveSource(path, "@0").open(), one)
    with pytest.raises(ImageSourceError, match=r"holds 2 images .*one:v1.*choose one with"):
        DockerArchiveSource(path).open()
    with pytest.raises(ImageSourceError, match="no image tagged three"):
        DockerArchiveSource(path, "three").open()


def test_docker_archive_hostile_members(tmp_path: Path) -> None:
    image = Image([BASE])
    path = docker_archive(tmp_path / "a.tar", {"app:v1": image})
    manifest = [{"Config": "../evil.json", "RepoTags": ["x:1"], "Layers": []}]
    bad = tmp_path / "bad.tar"
    bad.write_bytes(tar_bytes({"../evil.json": b"{}", "manifest.json":
                               json.dumps(manifest).encode()}))
    with pytest.raises(ImageSourceError, match=r"\.\./evil\.json is missing"):
        DockerArchiveSource(bad).open()
    assert not (tmp_path.parent / "evil.json").exists()
    check_image(DockerArchiveSource(path).open(), image)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"x": b""}, "no manifest.json"),
        ({"manifest.json": b"{"}, "manifest.json is not JSON"),
        ({"manifest.json": b"[]"}, "lists no image"),
        ({"manifest.json": b'[{"Config": "c.json", "Layers": []}]', "c.json": b"nope"},
         "not JSON"),
        ({"manifest.json": b'[{"Config": "c.json", "Layers": ["l.tar"]}]',
          "c.json": b'{"rootfs": {"diff_ids": ["sha256:' + b"a" * 64 + b'"]}}'},
         "layer l.tar is missing"),
        ({"manifest.json": b'[{"Config": "c.json", "Layers": []}]',
          "c.json": b'{"rootfs": {"diff_ids": ["sha256:' + b"a" * 64 + b'"]}}'},
         "lists 0 layers, the config 1"),
    ],
)
def test_docker_archive_damage(tmp_path: Path, members: dict[str, bytes], message: str) -> None:
    path = tmp_path / "a.tar"
    path.write_bytes(tar_bytes(members))
    with pytest.raises(ImageSourceError, match=message):
        DockerArchiveSource(path).open()


def test_docker_archive_not_a_tar(tmp_path: Path) -> None:
    path = tmp_path / "a.tar"
    path.write_bytes(b"hello" * 200)
    with pytest.raises(ImageSourceError, match="not a tar archive"):
        DockerArchiveSource(path).open()
    with pytest.raises(ImageSourceError, match="no such file"):
        DockerArchiveSource(tmp_path / "missing.tar").open()


def layout(tmp_path: Path, image: Image) -> Path:
    blobs = Blobs()
    return blobs.write_layout(tmp_path / "oci", [blobs.manifest(image, **ref_name("v1"))])


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
@pytest.mark.parametrize("archive", [False, True], ids=["dir", "tar"])
def test_oci_layout(tmp_path: Path, compression: str, archive: bool) -> None:
    image = Image([Layer(BASE.files, compression), Layer(APP.files, compression)])
    root = layout(tmp_path, image)
    path = tar_dir(root, tmp_path / "oci.tar") if archive else root
    with OCILayoutSource(path, "v1", archive=archive) as source:
        opened = source.open()
        check_image(opened, image)
        assert opened.layers[0].media_type.endswith({"none": "tar"}.get(compression,
                                                                         compression))
        assert opened.digest is not None and opened.digest != opened.config_digest


def test_oci_nested_index_and_platforms(tmp_path: Path) -> None:
    amd, arm = Image([BASE]), Image([APP], architecture="arm64", variant="v8")
    blobs = Blobs()
    inner = blobs.index([blobs.manifest(amd, platform=amd.platform()),
                         blobs.manifest(arm, platform=arm.platform())])
    outer = blobs.index([inner])
    root = blobs.write_layout(tmp_path / "oci", [outer | ref_name("multi")])
    check_image(OCILayoutSource(root, archive=False).open(), amd)
    arm64 = parse_platform("linux/arm64")
    check_image(OCILayoutSource(root, archive=False, platform=arm64).open(), arm)
    with pytest.raises(ImageSourceError, match="platforms present: linux/amd64, linux/arm64/v8"):
        OCILayoutSource(root, archive=False, platform=parse_platform("linux/ppc64le")).open()


def test_oci_several_images_need_a_ref(tmp_path: Path) -> None:
    one, two = Image([BASE]), Image([APP])
    blobs = Blobs()
    root = blobs.write_layout(tmp_path / "oci", [blobs.manifest(one, **ref_name("one")),
                                                 blobs.manifest(two, **ref_name("two"))])
    check_image(OCILayoutSource(root, "two", archive=False).open(), two)
    with pytest.raises(ImageSourceError, match=r"several images \(one, two\)"):
        OCILayoutSource(root, archive=False).open()
    with pytest.raises(ImageSourceError, match="no image named 'three'"):
        OCILayoutSource(root, "three", archive=False).open()


def test_oci_missing_blob(tmp_path: Path) -> None:
    root = layout(tmp_path, Image([BASE]))
    config = digest(Image([BASE]).config()).split(":")[1]
    (root / "blobs" / "sha256" / config).unlink()
    with pytest.raises(ImageSourceError, match=f"blobs/sha256/{config} is missing"):
        OCILayoutSource(root, archive=False).open()


def test_oci_wrong_digest(tmp_path: Path) -> None:
    root = layout(tmp_path, Image([BASE]))
    index = json.loads((root / "index.json").read_text())
    manifest = root / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]
    data = manifest.read_bytes().replace(b'"schemaVersion": 2', b'"schemaVersion":2 ')
    manifest.write_bytes(data)
    with pytest.raises(ImageSourceError, match="has digest sha256:"):
        OCILayoutSource(root, archive=False).open()


def test_oci_config_not_json(tmp_path: Path) -> None:
    root = layout(tmp_path, Image([], config_override=b"\x00 not json"))
    with pytest.raises(ImageSourceError, match=r"image config .* not JSON"):
        OCILayoutSource(root, archive=False).open()


def test_oci_unknown_media_type(tmp_path: Path) -> None:
    image = Image([Layer(BASE.files, media_type="application/vnd.example.layer.v1.tar+bzip2")])
    with pytest.raises(LayerError, match=r"unsupported media type application/vnd\.example"):
        OCILayoutSource(layout(tmp_path, image), archive=False).open()


def test_oci_not_a_layout(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(ImageSourceError, match="not an OCI layout"):
        OCILayoutSource(tmp_path / "x", archive=False).open()


def test_oci_blob_symlink_out_of_layout(tmp_path: Path) -> None:
    root = layout(tmp_path, Image([BASE]))
    config = root / "blobs" / "sha256" / digest(Image([BASE]).config()).split(":")[1]
    outside = tmp_path / "outside.json"
    outside.write_bytes(config.read_bytes())
    config.unlink()
    config.symlink_to(outside)
    with pytest.raises(ImageSourceError, match="is missing"):
        OCILayoutSource(root, archive=False).open()


def test_docker_archive_linked_layer(tmp_path: Path) -> None:
    """docker save stores a layer that repeats as a symlink to its first copy."""
    image = Image([BASE, BASE])
    path = docker_archive(tmp_path / "a.tar", {"app:v1": image})
    linked = tmp_path / "linked.tar"
    with tarfile.open(path) as source, tarfile.open(linked, "w") as out:
        seen: dict[bytes, str] = {}
        for member in source:
            data = source.extractfile(member)
            content = data.read() if data else b""
            if member.name.endswith("layer.tar") and content in seen:
                link = tarfile.TarInfo(member.name)
                link.type, link.linkname = tarfile.SYMTYPE, f"../{seen[content]}"
                out.addfile(link)
                continue
            seen.setdefault(content, member.name)
            out.addfile(member, io.BytesIO(content))
    opened = DockerArchiveSource(linked).open()
    assert read_layers(opened) == [BASE.tar, BASE.tar]


def test_no_space_to_inflate_a_compressed_archive_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "image.tar.gz"
    archive.write_bytes(gzip.compress(b"\0" * 10240))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "spool"))
    (tmp_path / "spool").mkdir()

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfileobj", full)
    monkeypatch.setattr(tempfile, "tempdir", None)  # take TMPDIR from the environment again
    with pytest.raises(ImageSourceError, match=r"no space left to inflate it in .*spool"):
        TarStore(archive, f"docker-archive:{archive}")
    assert list((tmp_path / "spool").iterdir()) == []  # the spool was dropped
