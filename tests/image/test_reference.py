"""Reference, platform and config parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorc.errors import ImageReferenceError, ImageSourceError
from gorc.image.config import instruction, layer_commands, parse_config, summarize
from gorc.image.platform import Platform, choose, parse_platform
from gorc.image.reference import Transport, parse_reference


@pytest.mark.parametrize(
    ("text", "transport", "normalized"),
    [
        ("alpine", Transport.ANY, "docker.io/library/alpine:latest"),
        ("user/app", Transport.ANY, "docker.io/user/app:latest"),
        ("docker:alpine:3.19", Transport.DOCKER, "docker:docker.io/library/alpine:3.19"),
        ("docker-daemon:alpine", Transport.DOCKER, "docker:docker.io/library/alpine:latest"),
        ("127.0.0.1:5000/app:v1", Transport.ANY, "127.0.0.1:5000/app:v1"),
        ("localhost/app", Transport.ANY, "localhost/app:latest"),
        ("registry:ghcr.io/o/r/app:1.2", Transport.REGISTRY, "registry:ghcr.io/o/r/app:1.2"),
        ("docker://quay.io/x/y", Transport.REGISTRY, "registry:quay.io/x/y:latest"),
        ("index.docker.io/library/busybox", Transport.ANY, "docker.io/library/busybox:latest"),
        ("a/b@sha256:" + "a" * 64, Transport.ANY, "docker.io/a/b@sha256:" + "a" * 64),
        ("a:v1@sha256:" + "b" * 64, Transport.ANY, "docker.io/library/a:v1@sha256:" + "b" * 64),
    ],
)
def test_named_references(text: str, transport: Transport, normalized: str) -> None:
    ref = parse_reference(text)
    assert ref.transport is transport
    assert str(ref) == normalized


def test_image_id_goes_to_the_engine() -> None:
    ref = parse_reference("c" * 64)
    assert ref.transport is Transport.DOCKER
    assert ref.image_id == "sha256:" + "c" * 64
    assert str(ref) == "docker:sha256:" + "c" * 64


def test_short_id_is_a_candidate() -> None:
    ref = parse_reference("docker:431c54c58f18")
    assert ref.image_id == "431c54c58f18"
    assert str(ref) == "docker:docker.io/library/431c54c58f18:latest"
    assert parse_reference("registry:431c54c58f18").image_id is None


@pytest.mark.parametrize(
    ("text", "path", "selector"),
    [
        ("docker-archive:/x/img.tar", "/x/img.tar", None),
        ("docker-archive:/x/img.tar:app:v1", "/x/img.tar", "app:v1"),
        ("oci-archive:o.tar:v2", "o.tar", "v2"),
        ("oci-dir:/layout", "/layout", None),
        ("oci:/layout:latest", "/layout", "latest"),
        ("dir:/root", "/root", None),
    ],
)
def test_path_references(text: str, path: str, selector: str | None) -> None:
    ref = parse_reference(text)
    assert ref.path == Path(path)
    assert ref.selector == selector


def test_existing_path_with_colon_is_kept(tmp_path: Path) -> None:
    odd = tmp_path / "a:b.tar"
    odd.write_bytes(b"")
    assert parse_reference(f"docker-archive:{odd}").path == odd


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Alpine", "lowercase"),
        ("alpine:bad tag", "invalid tag"),
        ("alpine@sha256:abc", "64 lowercase hex"),
        ("alpine@md5:" + "a" * 32, "unsupported algorithm"),
        ("a//b", "invalid repository"),
        ("docker-archive:", "no path"),
        ("docker-archive:x.tar:Bad:Tag", "lowercase"),
    ],
)
def test_bad_references(text: str, message: str) -> None:
    with pytest.raises(ImageReferenceError, match=message):
        parse_reference(text)


def test_familiar_names() -> None:
    name = parse_reference("alpine").name
    assert name is not None and name.familiar == "alpine:latest"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/aarch64", "linux/arm64/v8"),
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/armhf", "linux/arm/v7"),
    ],
)
def test_platform_normalisation(text: str, expected: str) -> None:
    assert str(parse_platform(text)) == expected


@pytest.mark.parametrize("text", ["linux", "linux/", "a/b/c/d"])
def test_bad_platform(text: str) -> None:
    with pytest.raises(ImageReferenceError, match="os/arch"):
        parse_platform(text)


def test_choose_platform() -> None:
    entries = [
        (Platform("linux", "amd64"), "amd"),
        (Platform("linux", "arm64"), "arm"),
        (Platform("linux", "arm", "v6"), "v6"),
        (Platform("unknown", "unknown"), "attestation"),
    ]
    assert choose(entries, parse_platform("linux/arm64/v8"), "x") == "arm"
    assert choose(entries, Platform("linux", "amd64"), "x") == "amd"
    with pytest.raises(ImageSourceError, match=r"linux/s390x; platforms present: linux/amd64, "):
        choose(entries, parse_platform("linux/s390x"), "index")


def test_config_summary() -> None:
    config = parse_config(
        b'{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin:/usr/bin","E=a=b"],'
        b'"Entrypoint":["/app"],"Cmd":null,"User":"65532",'
        b'"Healthcheck":{"Test":["CMD-SHELL","curl x"]}}}',
        "test",
    )
    summary = summarize("ref", "sha256:x", config)
    assert summary.entrypoint == ("/app",)
    assert summary.cmd is None
    assert summary.env_value("E") == "a=b"
    assert summary.healthcheck == ("CMD-SHELL", "curl x")
    assert summary.architecture == "amd64"


@pytest.mark.parametrize("data", [b"not json", b"[1]", b"\xff\xfe"])
def test_config_not_an_object(data: bytes) -> None:
    with pytest.raises(ImageSourceError, match="image config"):
        parse_config(data, "x")


def test_layer_commands() -> None:
    config = {
        "rootfs": {"diff_ids": ["sha256:1", "sha256:2"]},
        "history": [
            {"created_by": "/bin/sh -c #(nop) COPY file:ab in / "},
            {"created_by": "/bin/sh -c #(nop)  CMD [\"/app\"]", "empty_layer": True},
            {"created_by": "|1 V=2 /bin/sh -c apt-get install -y curl"},
        ],
    }
    assert layer_commands(config) == {
        "sha256:1": "COPY file:ab in /",
        "sha256:2": "RUN apt-get install -y curl",
    }
    assert instruction("COPY app /app # buildkit") == "COPY app /app"
    assert instruction("RUN /bin/sh -c make # buildkit") == "RUN /bin/sh -c make"
    assert instruction("|1 V=x /bin/busybox rm /a") == "RUN /bin/busybox rm /a"
    assert instruction("/bin/sh -c make") == "RUN make"
    assert layer_commands({"rootfs": {"diff_ids": ["sha256:1"]}, "history": []}) == {}
