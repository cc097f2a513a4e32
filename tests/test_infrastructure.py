"""The test infrastructure itself: the ground truth the rest of the suite relies on."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import requests

from tests.support.engine import EXIT_NOT_FOUND, DockerEngine
from tests.support.probes import ProbeBuilder
from tests.support.registry import Registry
from tests.support.roots import RootBuilder, image_from_root

pytestmark = [pytest.mark.engine, pytest.mark.go]


def _interpreter(binary: Path) -> str:
    """Return the PT_INTERP of ``binary`` as readelf shows it ('' for a static binary)."""
    shown = subprocess.run(
        ["readelf", "-p", ".interp", str(binary)], capture_output=True, text=True, check=False
    ).stdout
    paths = [word for word in shown.split() if word.startswith("/")]
    return paths[0] if paths else ""


@pytest.fixture(scope="module")
def empty_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty root directory: images built from it hold only the extra files."""
    return tmp_path_factory.mktemp("empty-root")


def test_static_probe_runs_in_scratch(
    engine: DockerEngine, probes: ProbeBuilder, empty_root: Path
) -> None:
    hello = probes.build("hello", "static")
    tag = image_from_root(
        engine,
        empty_root,
        "gorc-test/infra-hello:static",
        files={"/app": hello},
        entrypoint=["/app"],
    )

    result = engine.run(tag)

    assert result.exit_code == 0, result.output
    assert "hello" in result.output


def test_dynamic_probe_cannot_start_in_scratch(
    engine: DockerEngine, probes: ProbeBuilder, empty_root: Path
) -> None:
    app = probes.build("cgo", "cgo-glibc")
    tag = image_from_root(
        engine, empty_root, "gorc-test/infra-cgo:glibc", files={"/app": app}, entrypoint=["/app"]
    )

    result = engine.run(tag)

    assert result.exit_code != 0
    assert "no such file or directory" in result.output


def test_missing_entrypoint_gives_runtime_error(
    engine: DockerEngine, empty_root: Path, probes: ProbeBuilder
) -> None:
    tag = image_from_root(
        engine,
        empty_root,
        "gorc-test/infra-hello:static",
        files={"/app": probes.build("hello", "static")},
        entrypoint=["/app"],
    )

    result = engine.run(tag, entrypoint=["/nope"])

    assert result.exit_code == EXIT_NOT_FOUND
    assert "/nope" in result.output


@pytest.mark.parametrize(
    ("variant", "interpreter"),
    [
        ("static", ""),
        ("cgo-glibc", "/lib64/ld-linux-x86-64.so.2"),
        ("cgo-musl", "/lib/ld-musl-x86_64.so.1"),
    ],
)
def test_probe_variants_link_as_named(probes: ProbeBuilder, variant: str, interpreter: str) -> None:
    name = "hello" if variant == "static" else "cgo"

    assert _interpreter(probes.build(name, variant)) == interpreter


def test_arm64_probe_is_aarch64(probes: ProbeBuilder) -> None:
    header = probes.build("hello", "arm64").read_bytes()[:20]

    # e_machine (ELF gABI, offset 18, little-endian) is 183 for EM_AARCH64.
    assert int.from_bytes(header[18:20], "little") == 183


def test_probe_cache_returns_the_same_binary(probes: ProbeBuilder) -> None:
    assert probes.build("hello", "static") == probes.build("hello", "static")
    assert probes.build("hello", "static") != probes.build("hello", "stripped")


@pytest.fixture(scope="module")
def hello_image(engine: DockerEngine, probes: ProbeBuilder, empty_root: Path) -> str:
    """A FROM scratch image holding the static hello probe as its entrypoint."""
    return image_from_root(
        engine,
        empty_root,
        "gorc-test/infra-hello:static",
        files={"/app": probes.build("hello", "static")},
        entrypoint=["/app"],
    )


@pytest.mark.registry
def test_push_to_registry_shows_in_catalog(
    engine: DockerEngine, registry: Registry, hello_image: str
) -> None:
    reference = registry.push(engine, hello_image, "infra/hello:v1")

    catalog = requests.get(f"{registry.url}/v2/_catalog", timeout=10)
    tags = requests.get(f"{registry.url}/v2/infra/hello/tags/list", timeout=10)

    assert reference == f"{registry.host}/infra/hello:v1"
    assert "infra/hello" in catalog.json()["repositories"]
    assert tags.json()["tags"] == ["v1"]


@pytest.mark.registry
def test_auth_registry_needs_credentials(
    engine: DockerEngine, auth_registry: Registry, hello_image: str
) -> None:
    assert auth_registry.username is not None and auth_registry.password is not None
    auth_registry.push(engine, hello_image, "infra/private:v1")
    credentials = (auth_registry.username, auth_registry.password)

    anonymous = requests.get(f"{auth_registry.url}/v2/_catalog", timeout=10)
    wrong = requests.get(f"{auth_registry.url}/v2/_catalog", auth=("gorc", "wrong"), timeout=10)
    known = requests.get(f"{auth_registry.url}/v2/_catalog", auth=credentials, timeout=10)

    assert anonymous.status_code == 401
    assert "Basic" in anonymous.headers.get("WWW-Authenticate", "")
    assert wrong.status_code == 401
    assert known.status_code == 200
    assert "infra/private" in known.json()["repositories"]


@pytest.mark.slow
def test_image_keeps_tmp_mode_and_symlinks(engine: DockerEngine, roots: RootBuilder) -> None:
    tag = image_from_root(engine, roots.build("musl-busybox"), "gorc-test/infra-musl:shell")
    script = "stat -c %a /tmp; readlink /bin/sh; readlink /lib/ld-musl-x86_64.so.1"

    result = engine.run(tag, entrypoint=["/bin/busybox", "sh", "-c", script])

    assert result.exit_code == 0, result.output
    assert result.output.split() == ["1777", "busybox", "x86_64-linux-musl/libc.so"]


@pytest.mark.slow
def test_image_gets_files_env_and_entrypoint(
    engine: DockerEngine, roots: RootBuilder, tmp_path: Path
) -> None:
    script = tmp_path / "show.sh"
    script.write_text('#!/bin/sh\necho "GREETING=$GREETING"\n')
    script.chmod(0o755)

    tag = image_from_root(
        engine,
        roots.build("musl-busybox"),
        "gorc-test/infra-musl:env",
        files={"/usr/local/bin/show": script},
        entrypoint=["/usr/local/bin/show"],
        env={"GREETING": "a b"},
    )
    result = engine.run(tag)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "GREETING=a b"


def test_distroless_static_root_has_no_shell_or_libc(roots: RootBuilder) -> None:
    root = roots.build("distroless-static")

    assert (root / "etc/ssl/certs/ca-certificates.crt").stat().st_size > 100_000
    assert (root / "usr/share/zoneinfo/Europe/Paris").is_file()
    assert "nonroot:x:65532:65532:" in (root / "etc/passwd").read_text()
    assert oct((root / "tmp").stat().st_mode & 0o7777) == "0o1777"
    assert not (root / "bin/sh").exists()
    assert not list(root.glob("lib*/**/libc.so*"))


def test_glibc_root_has_loader_and_libc(roots: RootBuilder) -> None:
    root = roots.build("glibc")

    loader = root / "lib64/ld-linux-x86-64.so.2"
    assert loader.is_symlink()
    assert (root / "lib/x86_64-linux-gnu/libc.so.6").is_file()
    assert (root / "etc/ld.so.cache").is_file()
    assert "include /etc/ld.so.conf.d/*.conf" in (root / "etc/ld.so.conf").read_text()


def test_roots_are_built_once(roots: RootBuilder) -> None:
    first = roots.build("musl-busybox")

    assert roots.build("musl-busybox") == first
    assert (first / "bin/busybox").is_file()
    assert (first / "bin/ls").resolve() == (first / "bin/busybox").resolve()


def test_probe_build_tags_change_linkage(probes: ProbeBuilder) -> None:
    with_cgo = probes.build("net", "cgo-glibc")
    pure_go = probes.build("net", "cgo-glibc", tags=("netgo",))

    assert _interpreter(with_cgo) == "/lib64/ld-linux-x86-64.so.2"
    assert _interpreter(pure_go) == ""


def test_build_and_save_a_dockerfile_context(
    engine: DockerEngine, probes: ProbeBuilder, tmp_path: Path
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    shutil.copy(probes.build("hello", "static"), context / "hello")
    (context / "Containerfile").write_text('FROM scratch\nCOPY hello /hello\nCMD ["/hello"]\n')

    image_id = engine.build(context, "gorc-test/infra-build:v1", dockerfile="Containerfile")
    archive = engine.save("gorc-test/infra-build:v1", tmp_path / "image.tar")

    assert image_id.startswith("sha256:")
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == ["gorc-test/infra-build:v1"]
    assert engine.run("gorc-test/infra-build:v1").output.strip() == "hello"
