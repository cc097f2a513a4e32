"""Engine source pieces that need no engine: pull events, build events, fallbacks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gorc.errors import ImageSourceError
from gorc.image.reference import parse_name, parse_reference
from gorc.image.sources import EngineThenRegistry, open_source
from gorc.image.sources.docker_archive import DockerArchiveSource
from gorc.image.sources.docker_engine import DockerEngineSource, _inspect_first, _why
from gorc.image.sources.engine_build import BuildRequest, _follow, build_image
from gorc.image.sources.oci import OCILayoutSource
from gorc.image.sources.progress import follow_pull
from gorc.image.sources.registry import RegistrySource


def test_follow_pull() -> None:
    events = [
        {"status": "Pulling from library/x", "id": "v1"},
        {"status": "Downloading", "id": "abc", "progressDetail": {"current": 5, "total": 10}},
        {"status": "Pull complete", "id": "abc"},
        {"status": "Digest: sha256:00"},
    ]
    follow_pull(events, "x")
    failing = [*events, {"error": "boom", "errorDetail": {"message": "manifest unknown"}}]
    with pytest.raises(ImageSourceError, match="cannot pull x: manifest unknown"):
        follow_pull(failing, "x")


def test_build_events(tmp_path: Path) -> None:
    request = BuildRequest(tmp_path)
    ok = [{"stream": "Step 1/2 : FROM scratch\n"}, {"aux": {"ID": "sha256:ab"}},
          {"stream": "Successfully built ab\n"}]
    assert _follow(ok, request) == "sha256:ab"
    failed = [{"stream": "Step 2/2 : RUN make\n"},
              {"error": "x", "errorDetail": {"message": "returned a non-zero code: 2"}}]
    with pytest.raises(ImageSourceError, match=r"at step 'RUN make': returned a non-zero code"):
        _follow(failed, request)
    with pytest.raises(ImageSourceError, match="gave no image id"):
        _follow([], request)


def test_why_finds_the_os_reason() -> None:
    try:
        try:
            raise FileNotFoundError(2, "No such file or directory")
        except OSError as inner:
            raise RuntimeError("Error while fetching server API version: (...)") from inner
    except RuntimeError as err:
        assert _why(err) == "No such file or directory"


def test_open_source_dispatch(tmp_path: Path) -> None:
    assert isinstance(open_source(parse_reference("docker-archive:/x.tar")), DockerArchiveSource)
    assert isinstance(open_source(parse_reference("oci:/x:v1")), OCILayoutSource)
    assert isinstance(open_source(parse_reference("registry:a/b")), RegistrySource)
    assert isinstance(open_source(parse_reference("docker:a/b")), DockerEngineSource)
    assert isinstance(open_source(parse_reference("a/b")), EngineThenRegistry)
    built = open_source(parse_reference("oci:/x"), build=BuildRequest(tmp_path))
    assert isinstance(built, DockerEngineSource)


def test_bare_name_without_engine_or_registry(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/dead.sock")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    source = EngineThenRegistry(parse_name("127.0.0.1:9/app:v1"), None, None, (), None)
    with pytest.raises(ImageSourceError, match=r"cannot reach the registry 127\.0\.0\.1:9.*"
                                               r"\(the engine was tried first: cannot reach"):
        source.open()
    source.close()


def test_unreadable_cached_config_is_ignored(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    image_id = "sha256:" + "ab" * 32
    source = DockerEngineSource(cache_dir=tmp_path)
    cached = tmp_path / "engine-configs" / f"{'ab' * 32}.json"
    cached.parent.mkdir()
    cached.write_bytes(b"{}")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert source._cached_config(image_id) is None


class _DroppingAPI:
    """An engine API whose streams and calls fail as a connection that went away does."""

    def _stream(self) -> Iterator[dict[str, object]]:
        yield {"status": "Pulling fs layer", "id": "abc"}
        raise requests.ConnectionError("Connection aborted: engine went away")

    def pull(self, *args: object, **kwargs: object) -> Iterator[dict[str, object]]:
        return self._stream()

    def build(self, *args: object, **kwargs: object) -> Iterator[dict[str, object]]:
        return self._stream()

    def inspect_image(self, target: str) -> dict[str, object]:
        raise requests.ConnectionError("Connection aborted: engine went away")


class _DroppingClient:
    api = _DroppingAPI()


def test_engine_going_away_mid_stream_is_a_source_error(tmp_path: Path) -> None:
    client = _DroppingClient()
    source = DockerEngineSource(parse_name("app:v1"))
    with pytest.raises(ImageSourceError, match=r"cannot pull docker\.io/library/app:v1: "
                                               r"Connection aborted"):
        source._pull(client)
    built = f"cannot build from {re.escape(str(tmp_path))}: Connection"
    with pytest.raises(ImageSourceError, match=built):
        build_image(client, BuildRequest(tmp_path))
    with pytest.raises(ImageSourceError, match="cannot inspect app:v1 in the engine"):
        _inspect_first(client, ["app:v1"])
