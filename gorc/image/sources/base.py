"""The interface every image source implements, and what it hands to the layer reader.

A source (engine, archive, OCI layout, registry) finds one image's manifest and
config and describes its layers as :class:`LayerBlob` records; it never reads
layer content itself. The layer reader (:mod:`gorc.image.layers`) opens each
blob, decompresses it in one pass and verifies both digests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO, Self


@dataclass(frozen=True, slots=True)
class LayerBlob:
    """One layer as the source stores it.

    ``digest`` is the digest of the stored bytes (compressed or not), which the
    reader verifies; ``diff_id`` is the config's ``rootfs.diff_ids[i]``, the
    digest of the uncompressed tar. ``media_type`` is "" when the source does
    not say (classic ``docker save``); ``size`` bounds the reader when known.
    """

    digest: str
    media_type: str
    size: int | None
    diff_id: str | None
    opener: Callable[[], BinaryIO]

    def open(self) -> BinaryIO:
        """A fresh stream over the stored bytes; the caller closes it."""
        return self.opener()


@dataclass(frozen=True, slots=True)
class OpenedImage:
    """One image a source found: its identity, config and layers (base first).

    ``digest`` is the manifest digest when the source has one (registry, OCI),
    else the image id (the config digest).
    """

    reference: str
    digest: str | None
    config: Mapping[str, Any]
    config_digest: str
    layers: tuple[LayerBlob, ...]


class Closing:
    """``close()`` and the context-manager protocol that calls it."""

    def close(self) -> None:
        """Release what the object holds; the default holds nothing."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ImageSource(Closing, ABC):
    """A place an image is read from; a context manager that drops its temp files."""

    @abstractmethod
    def open(self) -> OpenedImage:
        """Find the image and describe it; raises an ImageSourceError when it cannot."""

    def close(self) -> None:
        """Drop temp files and connections; the default has nothing to drop."""
        return None
