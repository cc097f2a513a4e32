"""One real image reached through every source: engine, docker save, skopeo OCI, registry.

Each way must give the same run-time config, the same layer diff_ids and
history, and the same squashed listing.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gorc.errors import ImageSourceError
from gorc.image.config import diff_ids
from gorc.image.fs import FileSystem
from gorc.image.inventory import collect_inventory
from gorc.image.open import Image, open_image
from gorc.image.sources.docker_engine import DockerEngineSource
from gorc.image.sources.engine_build import BuildRequest
from gorc.model import Provides
from tests.support.engine import DockerEngine
from tests.support.registry import Registry

pytestmark = [pytest.mark.engine, pytest.mark.slow]

TAG = "gorc-test/sources:v1"
DOCKERFILE = """\
FROM scratch
ARG GREETING=hello
COPY busybox /bin/busybox
COPY etc /etc
RUN ["/bin/busybox", "mkdir", "-p", "/data/sub"]
COPY hello.txt /data/sub/hello.txt
RUN ["/bin/busybox", "rm", "/etc/removed"]
ENV PATH=/bin
USER 65532
ENTRYPOINT ["/bin/busybox", "echo"]
CMD ["hi"]
"""


def write_context(root: Path, dockerfile: str = DOCKERFILE) -> Path:
    """A build context with static busybox and a few files."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy("/bin/busybox", root / "busybox")
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "etc" / "removed").write_text("gone\n")
    (root / "hello.txt").write_text("hello\n")
    (root / "Dockerfile").write_text(dockerfile)
    return root


@pytest.fixture(scope="module")
def built(engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test image, built once per module; its tag."""
    if not Path("/bin/busybox").is_file():
        pytest.skip("needs a static busybox at /bin/busybox")
    engine.build(write_context(tmp_path_factory.mktemp("ctx")), TAG)
    return TAG


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layer cache shared by the module's tests."""
    return tmp_path_factory.mktemp("cache")


def listing(fs: FileSystem) -> list[tuple[str, str, int, int]]:
    """Path, type, mode and size of every entry: what must not depend on the source."""
    return [(i.path, i.type.value, i.mode, i.size if i.type.value == "file" else 0)
            for i in fs.walk("/")]


def check_same(first: Image, second: Image) -> None:
    # skopeo rewrites a Docker config as an OCI one (dropping container_config...):
    # what must agree is the run-time config, the layers and their history
    assert replace(second.summary, reference="", digest=None) == replace(
        first.summary, reference="", digest=None)
    assert diff_ids(second.config) == diff_ids(first.config)
    assert second.layer_commands == first.layer_commands
    assert listing(second.fs) == listing(first.fs)
    assert inventory(second) == inventory(first)


def inventory(image: Image) -> Provides:
    """What the image provides, as reconcile sees it."""
    return collect_inventory(image.fs, image.summary).provides()


@pytest.fixture(scope="module")
def from_engine(built: str, cache: Path) -> Image:
    """The image read through docker:."""
    return open_image(f"docker:{built}", cache_dir=cache)


def test_engine_image(from_engine: Image) -> None:
    summary = from_engine.summary
    assert summary.entrypoint == ("/bin/busybox", "echo")
    assert summary.cmd == ("hi",)
    assert summary.user == "65532"
    assert summary.env_value("PATH") == "/bin"
    assert summary.digest is not None and summary.digest.startswith("sha256:")
    fs = from_engine.fs
    assert fs.read("/data/sub/hello.txt") == b"hello\n"
    assert fs.exists("/etc/passwd") and not fs.exists("/etc/removed")
    commands = sorted(from_engine.layer_commands.values())
    assert any(c.startswith("RUN /bin/busybox mkdir") for c in commands), commands
    assert any(c.startswith("COPY ") for c in commands), commands


def test_engine_by_id(engine: DockerEngine, built: str, from_engine: Image,
                      cache: Path) -> None:
    image_id = str(engine.client().images.get(built).id)
    check_same(from_engine, open_image(f"docker:{image_id}", cache_dir=cache))
    check_same(from_engine, open_image(image_id[7:19], cache_dir=cache))


def test_docker_save_archive(engine: DockerEngine, built: str, from_engine: Image,
                             cache: Path, tmp_path: Path) -> None:
    archive = engine.save(built, tmp_path / "image.tar")
    check_same(from_engine, open_image(f"docker-archive:{archive}", cache_dir=cache))
    check_same(from_engine, open_image(f"docker-archive:{archive}:{built}", cache_dir=cache))


@pytest.mark.parametrize("kind", ["oci-archive", "oci"])
def test_skopeo_oci(engine: DockerEngine, built: str, from_engine: Image, cache: Path,
                    tmp_path: Path, kind: str) -> None:
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.skip("needs skopeo")
    target = tmp_path / ("image.tar" if kind == "oci-archive" else "layout")
    subprocess.run([skopeo, "copy", "--quiet", "--src-daemon-host", engine.host,
                    f"docker-daemon:{built}", f"{kind}:{target}:v1"], check=True)
    check_same(from_engine, open_image(f"{kind}:{target}:v1", cache_dir=cache))
    # a fresh cache too: the layers are really read from the OCI blobs (gzip here)
    check_same(from_engine, open_image(f"{kind}:{target}", cache_dir=tmp_path / "fresh"))


def test_unpacked_dir(engine: DockerEngine, built: str, from_engine: Image,
                      tmp_path: Path) -> None:
    container = engine.client().containers.create(built)
    try:
        with open(tmp_path / "export.tar", "wb") as out:
            for chunk in container.export():
                out.write(chunk)
    finally:
        container.remove()
    root = tmp_path / "root"
    with tarfile.open(tmp_path / "export.tar") as archive:
        archive.extractall(root, filter="tar")
    image = open_image(f"dir:{root}")
    # docker export adds the runtime's own files (/.dockerenv, /etc/hosts, /dev...)
    added = {"/.dockerenv", "/dev", "/proc", "/sys", "/etc/hostname", "/etc/hosts",
             "/etc/resolv.conf", "/etc/mtab", "/dev/console", "/dev/pts", "/dev/shm"}
    seen = [entry for entry in listing(image.fs) if entry[0] not in added]
    assert seen == listing(from_engine.fs)
    with_config = Image(from_engine.summary, image.fs)
    assert inventory(with_config) == inventory(from_engine)


@pytest.mark.registry
def test_registry(engine: DockerEngine, registry: Registry, built: str, from_engine: Image,
                  tmp_path: Path) -> None:
    ref = registry.push(engine, built, "sources/app:v1")
    check_same(from_engine, open_image(f"registry:{ref}", cache_dir=tmp_path))
    # a bare name the engine does not hold falls back to the registry
    check_same(from_engine, open_image(ref, cache_dir=tmp_path))


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private DOCKER_CONFIG directory."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    (tmp_path / "docker-config").mkdir()
    yield tmp_path / "docker-config"


@pytest.mark.registry
def test_registry_with_htpasswd(engine: DockerEngine, auth_registry: Registry, built: str,
                                from_engine: Image, docker_config: Path,
                                tmp_path: Path) -> None:
    ref = auth_registry.push(engine, built, "private/app:v1")
    with pytest.raises(ImageSourceError, match="needs credentials"):
        open_image(f"registry:{ref}", cache_dir=tmp_path)
    token = base64.b64encode(f"{auth_registry.username}:{auth_registry.password}".encode())
    config = {"auths": {f"http://{auth_registry.host}": {"auth": token.decode()}}}
    (docker_config / "config.json").write_text(json.dumps(config))
    check_same(from_engine, open_image(f"registry:{ref}", cache_dir=tmp_path))


@pytest.mark.registry
def test_engine_pulls_absent_image(engine: DockerEngine, registry: Registry, built: str,
                                   from_engine: Image, tmp_path: Path) -> None:
    ref = registry.push(engine, built, "sources/pulled:v1")
    client = engine.client()
    try:
        check_same(from_engine, open_image(f"docker:{ref}", cache_dir=tmp_path))
        assert client.images.get(ref) is not None
    finally:
        client.images.remove(ref, noprune=True)


def test_warm_cache_skips_save(built: str, from_engine: Image, cache: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the warm path saved the image")

    monkeypatch.setattr(DockerEngineSource, "_save", refuse)
    check_same(from_engine, open_image(f"docker:{built}", cache_dir=cache))


def test_build(tmp_path: Path, cache: Path, engine: DockerEngine) -> None:
    dockerfile = DOCKERFILE.replace("COPY hello.txt", "COPY ${GREETING}.txt")
    context = write_context(tmp_path / "ctx", dockerfile="")
    (context / "bye.txt").write_text("bye\n")
    (tmp_path / "Other.Dockerfile").write_text(dockerfile)
    request = BuildRequest(context, str(tmp_path / "Other.Dockerfile"), {"GREETING": "bye"},
                           "gorc-test/built:v1")
    image = open_image("", build=request, cache_dir=cache)
    assert image.fs.read("/data/sub/hello.txt") == b"bye\n"
    engine.client().images.remove("gorc-test/built:v1", noprune=True)


def test_build_failure(tmp_path: Path, engine: DockerEngine) -> None:
    context = write_context(tmp_path / "ctx", 'FROM scratch\nCOPY busybox /bin/busybox\n'
                            'RUN ["/bin/busybox", "false"]\n')
    with pytest.raises(ImageSourceError, match=r"at step 'RUN \[\"/bin/busybox\", \"false\"\]'"
                                               r".*returned a non-zero code: 1"):
        open_image("", build=BuildRequest(context), cache_dir=tmp_path)


def test_engine_down(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dead = f"unix://{tmp_path}/dead.sock"
    monkeypatch.setenv("DOCKER_HOST", dead)
    with pytest.raises(ImageSourceError) as caught:
        open_image("docker:alpine", cache_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"cannot reach the Docker engine at {dead}: ")
    assert "No such file or directory" in message
    assert "use docker-archive:PATH (docker save) or registry:NAME instead" in message
    assert "\n" not in message


def test_archive_never_imports_docker(engine: DockerEngine, built: str, tmp_path: Path) -> None:
    archive = engine.save(built, tmp_path / "image.tar")
    code = (
        "import sys; from gorc.image.open import open_image; "
        f"open_image('docker-archive:{archive}', cache_dir='{tmp_path / 'c'}'); "
        "assert 'docker' not in sys.modules, 'docker imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
