"""Images of a Docker engine (``docker:NAME``), through the docker SDK.

The SDK is imported here only, and only when an engine is asked for: reading an
archive never loads it. ``DOCKER_HOST`` is honoured (``docker.from_env``). An
image that is absent is pulled; ``--build`` builds one first. The image is then
saved (``docker save``) to a private temp file, chunk by chunk, and read as a
docker-archive.

Warm path: the config of a saved image is kept in the cache dir under its image
id; when every layer is already in the layer cache, nothing is saved at all.
The layers then open lazily, saving the image only if a reader really asks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from gorc.errors import ImageSourceError
from gorc.image.config import diff_ids, parse_config
from gorc.image.platform import Platform, platform_of
from gorc.image.reference import ImageName
from gorc.image.sources.base import ImageSource, LayerBlob, OpenedImage
from gorc.image.sources.docker_archive import DockerArchiveSource
from gorc.image.sources.engine_build import BuildRequest, build_image
from gorc.image.sources.progress import follow_pull

log = logging.getLogger(__name__)

DEFAULT_HOST = "unix:///var/run/docker.sock"
_SAVE_CHUNK = 1024 * 1024

__all__ = ["BuildRequest", "DockerEngineSource", "EngineUnavailableError",
           "ImageNotInEngineError", "connect"]


class EngineUnavailableError(ImageSourceError):
    """The Docker engine cannot be reached."""


class ImageNotInEngineError(ImageSourceError):
    """The engine does not hold the image (and was not asked to pull it)."""


def engine_host() -> str:
    """The engine address the SDK will use."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def connect() -> Any:
    """A docker SDK client that has answered a ping; EngineUnavailableError if none."""
    import docker  # the SDK is heavy and only engine sources need it

    try:
        client = docker.from_env()
        client.ping()
    except Exception as err:  # the SDK raises DockerException, requests and OS errors
        raise EngineUnavailableError(
            f"cannot reach the Docker engine at {engine_host()}: {_why(err)}; "
            "use docker-archive:PATH (docker save) or registry:NAME instead"
        ) from err
    return client


def _why(err: BaseException) -> str:
    """The innermost OS-level reason of a connection failure, when there is one."""
    seen: BaseException | None = err
    reason = str(err)
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            reason = seen.strerror
        seen = seen.__cause__ or seen.__context__
    return reason.splitlines()[0][:200] if reason else type(err).__name__


@dataclass
class DockerEngineSource(ImageSource):
    """An image held by (or pulled into, or built by) the local Docker engine."""

    name: ImageName | None = None
    image_id: str | None = None
    platform: Platform | None = None
    cache_dir: Path | None = None
    has_layer: Callable[[str], bool] | None = None
    build: BuildRequest | None = None
    pull: bool = True
    _tmpdir: str | None = field(default=None, init=False)
    _archive: DockerArchiveSource | None = field(default=None, init=False)
    _saved: OpenedImage | None = field(default=None, init=False)

    @property
    def where(self) -> str:
        """The reference as a user would write it."""
        return str(self.name) if self.name else (self.image_id or "the built image")

    def open(self) -> OpenedImage:
        """See :meth:`ImageSource.open`."""
        client = connect()
        attrs = self._inspect(client)
        self._check_platform(attrs)
        image_id = str(attrs["Id"])
        config = self._cached_config(image_id)
        if config is not None and self.has_layer and all(map(self.has_layer, diff_ids(config))):
            log.debug("every layer of %s is cached; not saving it", image_id)
            return self._lazy(client, image_id, config)
        saved = self._save(client, image_id)
        self._remember_config(image_id)
        return saved

    def close(self) -> None:
        """See :meth:`ImageSource.close`."""
        if self._archive is not None:
            self._archive.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _candidates(self, client: Any) -> list[str]:
        if self.build is not None:
            return [build_image(client, self.build)]
        return [t for t in (self.image_id, str(self.name) if self.name else None) if t]

    def _inspect(self, client: Any) -> Mapping[str, Any]:
        candidates = self._candidates(client)
        found = _inspect_first(client, candidates)
        if found is not None:
            return found
        if not self.pull or self.name is None:
            raise ImageNotInEngineError(f"the Docker engine has no image {self.where}")
        self._pull(client)
        found = _inspect_first(client, [str(self.name)])
        if found is None:
            raise ImageSourceError(f"cannot find {self.name} in the engine after pulling it")
        return found

    def _pull(self, client: Any) -> None:
        import docker.errors

        from gorc.image.sources.stream import STREAM_ERRORS

        assert self.name is not None
        repository = f"{self.name.registry}/{self.name.repository}"
        log.info("pulling %s", self.name)
        try:
            events = client.api.pull(
                repository, tag=self.name.digest or self.name.tag, stream=True, decode=True,
                platform=str(self.platform) if self.platform else None,
            )
            follow_pull(events, str(self.name))
        except docker.errors.APIError as err:
            raise ImageSourceError(f"cannot pull {self.name}: {err.explanation or err}") \
                from err
        except STREAM_ERRORS as err:  # the engine went away in the middle of the pull
            raise ImageSourceError(f"cannot pull {self.name}: {_why(err)}") from err

    def _check_platform(self, attrs: Mapping[str, Any]) -> None:
        found = platform_of({"os": attrs.get("Os"), "architecture": attrs.get("Architecture"),
                             "variant": attrs.get("Variant")})
        if self.platform and found and not self.platform.matches(found):
            raise ImageSourceError(
                f"the engine's {self.where} is {found}, not {self.platform}; "
                f"pull it with docker pull --platform {self.platform}"
            )

    def _save(self, client: Any, image_id: str) -> OpenedImage:
        """Stream ``docker save`` into a private temp file and read it as an archive."""
        if self._saved is not None:
            return self._saved
        self._tmpdir = tempfile.mkdtemp(prefix="gorc-engine-")
        path = Path(self._tmpdir) / "image.tar"
        log.debug("saving %s to %s", image_id, path)
        try:
            with open(path, "wb") as out:
                for chunk in client.api.get_image(image_id, chunk_size=_SAVE_CHUNK):
                    out.write(chunk)
        except Exception as err:  # the SDK raises DockerException, requests and OS errors
            raise ImageSourceError(f"cannot save {self.where} from the engine: {_why(err)}") \
                from err
        self._archive = DockerArchiveSource(path)
        opened = self._archive.open()
        self._saved = OpenedImage(self.where, image_id, opened.config, opened.config_digest,
                                  opened.layers)
        return self._saved

    def _lazy(self, client: Any, image_id: str, config: Mapping[str, Any]) -> OpenedImage:
        def opener(position: int) -> Callable[[], BinaryIO]:
            return lambda: self._save(client, image_id).layers[position].open()

        layers = tuple(LayerBlob(diff_id, "", None, diff_id, opener(i))
                       for i, diff_id in enumerate(diff_ids(config)))
        return OpenedImage(self.where, image_id, config, image_id, layers)

    def _config_path(self, image_id: str) -> Path | None:
        if self.cache_dir is None or not image_id.startswith("sha256:"):
            return None
        return self.cache_dir / "engine-configs" / f"{image_id[7:]}.json"

    def _cached_config(self, image_id: str) -> Mapping[str, Any] | None:
        path = self._config_path(image_id)
        if path is None or not path.is_file():
            return None
        try:
            data = path.read_bytes()
        except OSError as err:  # a cache dir shared with another user, a failing disk
            log.warning("ignoring the cached config %s: %s", path, err.strerror)
            return None
        if "sha256:" + hashlib.sha256(data).hexdigest() != image_id:
            log.warning("ignoring the cached config %s: its digest is not the image id", path)
            return None
        return parse_config(data, self.where)

    def _remember_config(self, image_id: str) -> None:
        path = self._config_path(image_id)
        data = self._archive.config_bytes if self._archive else None
        if path is None or data is None:
            return
        if "sha256:" + hashlib.sha256(data).hexdigest() != image_id:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(data)
            partial.replace(path)  # atomic: a concurrent run never reads half a config
        except OSError as err:
            log.warning("cannot cache the config of %s in %s: %s", image_id, path, err.strerror)


def _inspect_first(client: Any, candidates: list[str]) -> Mapping[str, Any] | None:
    """The inspect data of the first candidate the engine knows, or None."""
    import docker.errors

    from gorc.image.sources.stream import STREAM_ERRORS

    for target in candidates:
        try:
            return dict(client.api.inspect_image(target))
        except docker.errors.ImageNotFound:
            continue
        except (docker.errors.APIError, *STREAM_ERRORS) as err:
            raise ImageSourceError(f"cannot inspect {target} in the engine: {_why(err)}") \
                from err
    return None
