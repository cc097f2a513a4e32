"""Image sources: the engine, docker-archive, OCI layouts, a registry.

:func:`open_source` maps a parsed reference to its source. A bare name tries
the engine first (without pulling) and then the registry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gorc.errors import ImageReferenceError, ImageSourceError
from gorc.image.platform import Platform
from gorc.image.reference import ImageName, Reference, Transport
from gorc.image.sources.base import ImageSource, LayerBlob, OpenedImage
from gorc.image.sources.docker_archive import DockerArchiveSource
from gorc.image.sources.engine_build import BuildRequest

log = logging.getLogger(__name__)

__all__ = ["BuildRequest", "ImageSource", "LayerBlob", "OpenedImage", "open_source"]


def open_source(
    reference: Reference,
    *,
    platform: Platform | None = None,
    cache_dir: Path | None = None,
    insecure_registries: Sequence[str] = (),
    has_layer: Callable[[str], bool] | None = None,
    build: BuildRequest | None = None,
) -> ImageSource:
    """The source a reference names (not opened yet: call its ``open``)."""
    # Each source's module is imported only when it is the one used: the registry's
    # pulls in requests, which a run on a local archive never needs.
    transport, path = reference.transport, reference.path
    if build is not None or transport is Transport.DOCKER:
        from gorc.image.sources.docker_engine import DockerEngineSource

        return DockerEngineSource(reference.name, reference.image_id, platform, cache_dir,
                                  has_layer, build)
    if transport is Transport.DOCKER_ARCHIVE and path is not None:
        return DockerArchiveSource(path, reference.selector)
    if transport in (Transport.OCI_ARCHIVE, Transport.OCI_DIR) and path is not None:
        from gorc.image.sources.oci import OCILayoutSource

        return OCILayoutSource(path, reference.selector,
                               archive=transport is Transport.OCI_ARCHIVE, platform=platform)
    if transport is Transport.REGISTRY and reference.name is not None:
        from gorc.image.sources.registry import RegistrySource

        return RegistrySource(reference.name, platform=platform,
                              insecure_registries=insecure_registries)
    if transport is Transport.ANY and reference.name is not None:
        return EngineThenRegistry(reference.name, platform, cache_dir, insecure_registries,
                                  has_layer, reference.image_id)
    raise ImageReferenceError(f"{reference} names no image source (dir: is read directly)")


@dataclass
class EngineThenRegistry(ImageSource):
    """A bare name: the engine's local image if it has one, else the registry."""

    name: ImageName
    platform: Platform | None
    cache_dir: Path | None
    insecure_registries: Sequence[str]
    has_layer: Callable[[str], bool] | None
    image_id: str | None = None
    _chosen: ImageSource | None = field(default=None, init=False)

    def open(self) -> OpenedImage:
        """See :meth:`ImageSource.open`."""
        from gorc.image.sources.docker_engine import (
            DockerEngineSource,
            EngineUnavailableError,
            ImageNotInEngineError,
        )

        engine = DockerEngineSource(self.name, self.image_id, self.platform, self.cache_dir,
                                    self.has_layer, pull=False)
        try:
            self._chosen = engine
            return engine.open()
        except (EngineUnavailableError, ImageNotInEngineError) as err:
            engine.close()
            log.info("%s; trying the registry", err)
            engine_reason = str(err)
        from gorc.image.sources.registry import RegistrySource

        registry = RegistrySource(self.name, platform=self.platform,
                                  insecure_registries=self.insecure_registries)
        self._chosen = registry
        try:
            return registry.open()
        except ImageSourceError as err:
            raise ImageSourceError(
                f"{err} (the engine was tried first: {engine_reason.split(';')[0]})"
            ) from err

    def close(self) -> None:
        """See :meth:`ImageSource.close`."""
        if self._chosen is not None:
            self._chosen.close()
