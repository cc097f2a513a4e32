"""OCI image layouts, as a directory (``oci-dir:``) or a tar (``oci-archive:``).

A layout (OCI image spec, image-layout.md) has an ``oci-layout`` marker, an
``index.json`` and content-addressed ``blobs/<alg>/<hex>``. The image is chosen
by the ``org.opencontainers.image.ref.name`` annotation (``PATH:REF``) or is
the only one, then by platform through nested indexes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from gorc.errors import ImageSourceError
from gorc.image.config import MAX_CONFIG_SIZE
from gorc.image.platform import Platform, choose
from gorc.image.sources.base import ImageSource, OpenedImage
from gorc.image.sources.manifest import (
    CONTAINERD_NAME,
    MAX_MANIFEST_SIZE,
    Descriptor,
    ManifestWalker,
    entries,
    parse_json,
)
from gorc.image.sources.store import BlobStore, DirStore, TarStore, blob_path

log = logging.getLogger(__name__)


class OCILayoutSource(ImageSource):
    """An OCI image layout in a directory or a tar archive."""

    def __init__(
        self, path: Path, selector: str | None = None, *, archive: bool,
        platform: Platform | None = None,
    ) -> None:
        self.path, self.selector, self.archive, self.platform = path, selector, archive, platform
        prefix = "oci-archive" if archive else "oci-dir"
        self.where = f"{prefix}:{path}" + (f":{selector}" if selector else "")
        self._store: BlobStore | None = None

    def open(self) -> OpenedImage:
        """See :meth:`ImageSource.open`."""
        if not self.path.exists():
            raise ImageSourceError(f"cannot open {self.where}: no such file or directory")
        if self.archive and not self.path.is_file():
            # a FIFO or a device would block the first read, and members are read
            # in place by seeking: only a regular file will do
            raise ImageSourceError(f"cannot open {self.where}: not a regular file")
        store = TarStore(self.path, self.where) if self.archive else DirStore(self.path, self.where)
        self._store = store
        if not store.exists("oci-layout"):
            raise ImageSourceError(f"cannot open {self.where}: not an OCI layout (no oci-layout)")
        index = parse_json(store.read("index.json", MAX_MANIFEST_SIZE), "index.json", self.where)
        top = self._select(entries(index, self.where))
        walker = ManifestWalker(self._fetch, self._opener, self.where, self.platform)
        descriptor, manifest = walker.resolve(top)
        return walker.image(self.where, descriptor, manifest)

    def close(self) -> None:
        """See :meth:`ImageSource.close`."""
        if self._store is not None:
            self._store.close()

    def _select(self, candidates: list[Descriptor]) -> Descriptor:
        if not candidates:
            raise ImageSourceError(f"cannot open {self.where}: index.json lists no image")
        if self.selector:
            chosen = [c for c in candidates if self._named(c, self.selector)]
            if not chosen:
                raise ImageSourceError(
                    f"cannot open {self.where}: no image named {self.selector!r}; "
                    f"present: {_names(candidates)}"
                )
            candidates = chosen
        if len(candidates) == 1:
            return candidates[0]
        if len({c.ref_name for c in candidates}) > 1:
            raise ImageSourceError(
                f"cannot open {self.where}: it holds several images ({_names(candidates)}); "
                f"choose one with {self.where}:REF"
            )
        return choose([(c.platform, c) for c in candidates], self.platform, self.where)

    @staticmethod
    def _named(descriptor: Descriptor, selector: str) -> bool:
        full = descriptor.annotations.get(CONTAINERD_NAME, "")
        return selector in (descriptor.ref_name, full) or full.endswith(f"/{selector}")

    def _fetch(self, descriptor: Descriptor) -> bytes:
        assert self._store is not None
        return self._store.read(blob_path(descriptor.digest, self.where), MAX_CONFIG_SIZE)

    def _opener(self, descriptor: Descriptor) -> Callable[[], BinaryIO]:
        store, path = self._store, blob_path(descriptor.digest, self.where)
        assert store is not None
        return lambda: store.open(path)


def _names(candidates: list[Descriptor]) -> str:
    names = sorted({c.ref_name or c.digest[:19] for c in candidates})
    return ", ".join(names)
