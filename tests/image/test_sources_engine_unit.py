"""Engine source pieces that need no engine: pull events, build events, fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorc.errors import ImageSourceError
from gorc.image.reference import parse_name, parse_reference
from gorc.image.sources import EngineThenRegistry, open_source
from gorc.image.sources.docker_archive import DockerArchiveSource
from gorc.image.sources.docker_engine import DockerEngineSource, _why
from gorc.image.sources.engine_build import BuildRequest, _follow
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
