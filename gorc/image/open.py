"""One call from a reference to a readable image: summary, squashed filesystem, history.

:func:`open_image` parses the reference, opens its source, reads every layer
once through the layer cache and squashes them. ``dir:PATH`` has no layers
and no config: its filesystem is the directory itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gorc.errors import ImageSourceError
from gorc.image.config import layer_commands, summarize
from gorc.image.decompress import short
from gorc.image.fs import DirFileSystem, FileSystem
from gorc.image.platform import Platform, platform_of
from gorc.image.reference import Reference, Transport, parse_reference
from gorc.image.sources import open_source
from gorc.image.sources.base import Closing, OpenedImage
from gorc.image.sources.engine_build import BuildRequest
from gorc.model import ImageSummary

log = logging.getLogger(__name__)

__all__ = ["BuildRequest", "Image", "open_image"]


@dataclass
class Image(Closing):
    """An opened image: what its config says, and its filesystem.

    ``layer_commands`` maps a layer's diff_id to the Dockerfile instruction
    that made it, when the image history tells; ``config`` is the raw config
    JSON ({} for ``dir:``).
    """

    summary: ImageSummary
    fs: FileSystem
    layer_commands: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Release the image; layer data lives in the cache, so nothing is held now."""
        return None


def open_image(
    reference: str,
    *,
    platform: Platform | None = None,
    cache_dir: Path | None = None,
    insecure_registries: Sequence[str] = (),
    build: BuildRequest | None = None,
) -> Image:
    """Open the image ``reference`` names (or the one ``build`` makes); raises GorcError."""
    ref = Reference(Transport.DOCKER) if build is not None else parse_reference(reference)
    if ref.transport is Transport.DIR:
        assert ref.path is not None
        if not ref.path.is_dir():
            raise ImageSourceError(f"cannot open {ref}: not a directory")
        return Image(ImageSummary(reference=str(ref)), DirFileSystem(ref.path))
    return _open_layered(ref, platform, cache_dir, insecure_registries, build)


def _open_layered(
    ref: Reference,
    platform: Platform | None,
    cache_dir: Path | None,
    insecure_registries: Sequence[str],
    build: BuildRequest | None,
) -> Image:
    # imported here so that reference parsing and dir: never load the layer machinery
    from gorc.image.layers import LayerStore
    from gorc.image.squash import squash

    store = LayerStore(cache_dir)
    source = open_source(ref, platform=platform, cache_dir=store.cache_dir,
                         insecure_registries=insecure_registries, has_layer=store.has,
                         build=build)
    with source:
        opened = source.open()
        _check_platform(opened, platform)
        indexes = []
        for position, blob in enumerate(opened.layers, start=1):
            log.info("reading layer %s/%s %s", position, len(opened.layers), short(blob.digest))
            indexes.append(store.load(blob))
    summary = summarize(opened.reference, opened.digest, opened.config)
    filesystem = squash(indexes, opened.reference)
    return Image(summary, filesystem, layer_commands(opened.config), opened.config)


def _check_platform(opened: OpenedImage, wanted: Platform | None) -> None:
    """An explicit --platform must match the image, whatever the source.

    Registries, OCI layouts and the engine choose by platform; a docker-archive
    holds one image per tag, so a mismatch there surfaces here, before any layer
    is read. Without --platform another architecture is a finding (CCG204).
    """
    found = platform_of(opened.config)
    if wanted is not None and found is not None and not wanted.matches(found):
        raise ImageSourceError(f"{opened.reference} is {found}, not {wanted} (--platform)")
