"""Registry source and auth against an in-process fake registry (real HTTP on loopback)."""

from __future__ import annotations

import base64
import io
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3.response

from gorc.errors import ImageSourceError
from gorc.image.platform import parse_platform
from gorc.image.reference import parse_name
from gorc.image.sources.auth import (
    Credentials,
    find_credentials,
    parse_challenge,
)
from gorc.image.sources.registry import RegistrySource, _token_from, is_insecure
from tests.image.imagekit import Blobs, Image, Layer, check_image, digest

TOKEN = "tok-123"


class FakeRegistry:
    """Serves one repository's manifests and blobs; optional Bearer or Basic auth."""

    def __init__(self, blobs: Blobs, tags: dict[str, dict[str, Any]], auth: str = "") -> None:
        self.blobs, self.tags, self.auth = blobs, tags, auth
        self.requests: list[str] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                fake.requests.append(self.path)
                if self.path.startswith("/token"):
                    return self._reply(200, json.dumps({"token": TOKEN}).encode())
                if not fake.authorized(self.headers.get("Authorization", "")):
                    return self._challenge()
                return self._serve()

            def _challenge(self) -> None:
                self.send_response(401)
                if fake.auth == "bearer":
                    realm = f"http://{fake.host}/token"
                    value = f'Bearer realm="{realm}",service="fake",scope="repository:app:pull"'
                else:
                    value = 'Basic realm="fake"'
                self.send_header("WWW-Authenticate", value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _serve(self) -> None:
                _, _, repo, kind, ref = self.path.split("/", 4)
                if repo != "app":
                    return self._reply(404, b"{}")
                descriptor = fake.tags.get(ref)
                key = descriptor["digest"] if descriptor else ref
                data = fake.blobs.blobs.get(key)
                if data is None:
                    return self._reply(404, b"{}")
                media = descriptor["mediaType"] if descriptor else "application/octet-stream"
                if kind == "manifests" and not descriptor:
                    media = json.loads(data).get("mediaType", media)
                return self._reply(200, data, media)

            def _reply(self, status: int, body: bytes, media: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def authorized(self, header: str) -> bool:
        if self.auth == "bearer":
            return header == f"Bearer {TOKEN}"
        if self.auth == "basic":
            return header == "Basic " + base64.b64encode(b"user:secret").decode()
        return True


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty DOCKER_CONFIG directory for this test."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    (tmp_path / "docker").mkdir()
    yield tmp_path / "docker"


def write_auths(config_dir: Path, host: str) -> None:
    auth = base64.b64encode(b"user:secret").decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))


AMD = Image([Layer({"a": b"amd"}, "gzip")])
ARM = Image([Layer({"a": b"arm"}, "zstd")], architecture="arm64")


def multi_platform() -> tuple[Blobs, dict[str, Any]]:
    blobs = Blobs()
    index = blobs.index([blobs.manifest(AMD, platform=AMD.platform()),
                         blobs.manifest(ARM, platform=ARM.platform())])
    return blobs, index


@pytest.mark.parametrize("auth", ["", "bearer", "basic"])
def test_registry_source(auth: str, docker_config: Path) -> None:
    blobs, index = multi_platform()
    fake = FakeRegistry(blobs, {"v1": index}, auth)
    write_auths(docker_config, fake.host)
    with RegistrySource(parse_name(f"{fake.host}/app:v1")) as source:
        opened = source.open()
    check_image(opened, AMD)
    assert opened.reference == f"{fake.host}/app:v1"
    arm = RegistrySource(parse_name(f"{fake.host}/app:v1"), platform=parse_platform("linux/arm64"))
    check_image(arm.open(), ARM)
    fake.server.shutdown()


def test_registry_by_digest(docker_config: Path) -> None:
    blobs, index = multi_platform()
    fake = FakeRegistry(blobs, {})
    check_image(RegistrySource(parse_name(f"{fake.host}/app@{index['digest']}")).open(), AMD)
    wrong = "sha256:" + "0" * 64
    blobs.blobs[wrong] = blobs.blobs[index["digest"]]
    with pytest.raises(ImageSourceError, match="sent a manifest with digest"):
        RegistrySource(parse_name(f"{fake.host}/app@{wrong}")).open()
    fake.server.shutdown()


def test_registry_errors(docker_config: Path) -> None:
    blobs, index = multi_platform()
    fake = FakeRegistry(blobs, {"v1": index}, "basic")
    with pytest.raises(ImageSourceError, match="needs credentials; log in with docker login"):
        RegistrySource(parse_name(f"{fake.host}/app:v1")).open()
    (docker_config / "config.json").write_text(json.dumps({"auths": {fake.host: {
        "username": "user", "password": "wrong"}}}))
    with pytest.raises(ImageSourceError, match="refused the credentials"):
        RegistrySource(parse_name(f"{fake.host}/app:v1")).open()
    write_auths(docker_config, fake.host)
    with pytest.raises(ImageSourceError, match="app:v2: not found"):
        RegistrySource(parse_name(f"{fake.host}/app:v2")).open()
    del blobs.blobs[digest(AMD.config())]
    with pytest.raises(ImageSourceError, match="not found in the registry"):
        RegistrySource(parse_name(f"{fake.host}/app:v1")).open()
    fake.server.shutdown()


def test_registry_unreachable(docker_config: Path) -> None:
    with pytest.raises(ImageSourceError, match=r"cannot reach the registry 127\.0\.0\.1:9"):
        RegistrySource(parse_name("127.0.0.1:9/app:v1")).open()


@pytest.mark.parametrize(
    ("host", "insecure"),
    [("127.0.0.1:5000", True), ("localhost", True), ("[::1]:80", True), ("ghcr.io", False),
     ("myreg:5000", False)],
)
def test_insecure_hosts(host: str, insecure: bool) -> None:
    assert is_insecure(host, ()) is insecure
    assert is_insecure("myreg:5000", ["myreg:5000"])
    assert is_insecure("myreg:5000", ["http://myreg:5000/"])


def test_parse_challenge() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/alpine:pull,push"'
    )
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params["scope"] == "repository:library/alpine:pull,push"
    assert parse_challenge("") is None


def test_credentials_from_auths() -> None:
    hub = base64.b64encode(b"hubuser:hubpass").decode()
    config = {"auths": {
        "https://index.docker.io/v1/": {"auth": hub},
        "http://reg.example:5000/v2/": {"username": "u", "password": "p"},
        "ghcr.io": {"auth": "!!!"},
        "quay.io": {"identitytoken": "refresh"},
    }}
    assert find_credentials("docker.io", config) == Credentials("hubuser", "hubpass")
    assert find_credentials("reg.example:5000", config) == Credentials("u", "p")
    assert find_credentials("ghcr.io", config) is None
    quay = find_credentials("quay.io", config)
    assert quay is not None and quay.is_identity_token
    assert find_credentials("other.io", config) is None
    assert find_credentials("ghcr.io", {"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNzé"}}}) is None


def test_credential_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helper = tmp_path / "docker-credential-fake"
    helper.write_text(
        "#!/bin/sh\nread server\n"
        'if [ "$server" = "https://index.docker.io/v1/" ]; then\n'
        '  echo \'{"ServerURL": "x", "Username": "hub", "Secret": "s1"}\'; exit 0; fi\n'
        'if [ "$server" = "reg.example" ]; then\n'
        '  echo \'{"ServerURL": "x", "Username": "r", "Secret": "s2"}\'; exit 0; fi\n'
        "echo 'credentials not found in native keychain'; exit 1\n"
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert find_credentials("docker.io", {"credsStore": "fake"}) == Credentials("hub", "s1")
    helpers = {"credHelpers": {"reg.example": "fake"}}
    assert find_credentials("reg.example", helpers) == Credentials("r", "s2")
    hub_helper = {"credHelpers": {"https://index.docker.io/v1/": "fake"}}
    assert find_credentials("docker.io", hub_helper) == Credentials("hub", "s1")
    assert find_credentials("nothere.io", {"credsStore": "fake"}) is None
    assert find_credentials("x.io", {"credHelpers": {"x.io": "missing"}}) is None


def test_registry_nested_index_from_manifests_endpoint(docker_config: Path) -> None:
    """An OCI index inside an index is a manifest to the registry, not a blob."""
    blobs, inner = multi_platform()
    outer = blobs.index([inner])
    fake = FakeRegistry(blobs, {"v1": outer})
    check_image(RegistrySource(parse_name(f"{fake.host}/app:v1")).open(), AMD)
    assert f"/v2/app/manifests/{inner['digest']}" in fake.requests
    assert f"/v2/app/blobs/{inner['digest']}" not in fake.requests
    fake.server.shutdown()


def _token_answer(body: bytes) -> requests.Response:
    answer = requests.Response()
    answer.status_code = 200
    answer.raw = urllib3.response.HTTPResponse(body=io.BytesIO(body), preload_content=False)
    return answer


def test_token_answer_is_read_bounded() -> None:
    assert _token_from(_token_answer(b'{"token": "t"}'), "http://realm") == "t"
    endless = b'{"token": "' + b"t" * (9 * 1024 * 1024) + b'"}'
    with pytest.raises(ImageSourceError, match="the token answer is over"):
        _token_from(_token_answer(endless), "http://realm")
    with pytest.raises(ImageSourceError, match="no token in answer"):
        _token_from(_token_answer(b"[1]"), "http://realm")
