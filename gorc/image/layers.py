"""Layers in: one pass per blob, an index of every entry, a cache keyed by diff_id.

:meth:`LayerStore.load` reads a layer blob once: it hashes the stored bytes,
inflates them (gzip, zstd or plain, from the first bytes), hashes the
uncompressed tar, writes it to the cache and indexes its entries on the way.
The result, a :class:`LayerIndex`, says where each file's bytes are in the
cached tar, so an analyzer's read is a seek; nothing is ever extracted.

Cache layout (``$GORC_CACHE_DIR``, else ``$XDG_CACHE_HOME/gorc``, else
``~/.cache/gorc``)::

    layers/sha256/<diff_id hex>/layer.tar   the uncompressed layer
    layers/sha256/<diff_id hex>/index       marshal'd entries (see _INDEX_VERSION)
    digests/sha256/<blob digest hex>        the diff_id of a blob already read
    tmp/                                    work in progress, renamed when complete

A layer directory appears by one atomic rename, so concurrent runs and
interrupted runs never leave half a layer. Each layer costs its uncompressed
size; nothing is pruned on its own: :meth:`LayerStore.prune` drops the least
recently used layers down to a size, or remove the directory.
"""

from __future__ import annotations

import contextlib
import io
import logging
import marshal
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from gorc.errors import LayerError
from gorc.image.blobpass import read_blob
from gorc.image.decompress import check_media_type, short
from gorc.image.gcpause import gc_paused
from gorc.image.sources.base import LayerBlob
from gorc.image.sources.store import SliceReader
from gorc.image.tarindex import TarContents, TarEntry

log = logging.getLogger(__name__)

#: Bumped whenever the index layout changes; older indexes are rebuilt.
#: 2: entries carry the leading bytes of regular files (TarEntry.head).
_INDEX_VERSION = 2


def default_cache_dir() -> Path:
    """Where gorc caches layers unless told otherwise."""
    explicit = os.environ.get("GORC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "gorc"


@dataclass(frozen=True, slots=True)
class LayerIndex:
    """What one layer contains and where each file's bytes are in ``tar_path``.

    ``entries`` maps normalized paths to entries (a later duplicate in the tar
    wins, as on extraction), in tar order; ``whiteouts`` are the paths the layer
    deletes from lower layers and ``opaque_dirs`` the directories whose lower
    content it hides (OCI image spec, "Whiteouts").
    """

    diff_id: str
    digest: str
    entries: dict[str, TarEntry]
    whiteouts: tuple[str, ...]
    opaque_dirs: tuple[str, ...]
    tar_path: Path
    size: int

    def open_data(self, offset: int, size: int) -> BinaryIO:
        """A seekable stream over ``size`` bytes at ``offset`` of the layer tar."""
        try:
            return io.BufferedReader(SliceReader(str(self.tar_path), offset, size))
        except OSError as err:
            raise LayerError(f"cannot read layer {short(self.diff_id)}: {err.strerror}") from err


class LayerStore:
    """Reads layer blobs into :class:`LayerIndex` records, cached by diff_id."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def _layer_dir(self, diff_id: str) -> Path:
        algorithm, _, hex_digest = diff_id.partition(":")
        if not hex_digest or not hex_digest.isalnum() or not algorithm.isalnum():
            raise LayerError(f"cannot use layer {short(diff_id)}: malformed digest")
        return self.cache_dir / "layers" / algorithm / hex_digest

    def has(self, diff_id: str) -> bool:
        """True when a complete cached layer with this diff_id exists (False if malformed)."""
        try:
            directory = self._layer_dir(diff_id)
        except LayerError:
            return False
        return (directory / "index").is_file() and (directory / "layer.tar").is_file()

    def load(self, blob: LayerBlob) -> LayerIndex:
        """The index of ``blob``: from the cache when its diff_id is there, else one pass."""
        check_media_type(blob.media_type, blob.digest)
        diff_id = blob.diff_id or self._alias(blob.digest)
        if diff_id:
            self._layer_dir(diff_id)  # a malformed diff_id is refused before any read
            cached = self._cached(diff_id)
            if cached is not None:
                log.debug("layer %s: cache hit", short(diff_id))
                _touch(cached.tar_path.parent / "index")
                return replace(cached, digest=blob.digest)
        return self._read_blob(blob)

    def prune(self, max_bytes: int) -> int:
        """Drop least recently used layers until the cache holds at most ``max_bytes``.

        Returns the number of bytes freed. A layer in use by another run stays
        readable there: its open files survive the removal (POSIX unlink semantics).
        """
        layers = sorted(self._cached_layers(), key=lambda item: item[0])
        total = sum(size for _, size, _ in layers)
        freed = 0
        for _, size, directory in layers:
            if total - freed <= max_bytes:
                break
            self._discard(directory)
            freed += size
        log.debug("pruned %d bytes from %s", freed, self.cache_dir)
        return freed

    def _cached_layers(self) -> Iterator[tuple[float, int, Path]]:
        """(last use, bytes, directory) of every cached layer."""
        root = self.cache_dir / "layers"
        for directory in root.glob("*/*"):
            try:
                used = (directory / "index").stat().st_mtime
                size = sum(path.stat().st_size for path in directory.iterdir())
            except OSError:
                continue
            yield used, size, directory

    # -- the cache -------------------------------------------------------------

    def _alias_path(self, digest: str) -> Path | None:
        algorithm, _, hex_digest = digest.partition(":")
        if not (algorithm.isalnum() and hex_digest.isalnum()):
            return None  # never let a crafted digest name a path outside the cache
        return self.cache_dir / "digests" / algorithm / hex_digest

    def _alias(self, digest: str) -> str | None:
        """The diff_id recorded for a blob digest read before, if any."""
        path = self._alias_path(digest)
        if path is None:
            return None
        try:
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text if text.startswith("sha256:") else None

    def _cached(self, diff_id: str) -> LayerIndex | None:
        """The cached index for ``diff_id``; a damaged entry is dropped (None)."""
        if not self.has(diff_id):
            return None
        directory = self._layer_dir(diff_id)
        try:
            index = _read_index(directory, diff_id)
        except _OutdatedIndexError as err:
            log.info("rebuilding the cache entry for layer %s: %s", short(diff_id), err)
            self._discard(directory)
            return None
        except (OSError, ValueError, EOFError, TypeError) as err:
            log.warning("dropping damaged cache entry for layer %s: %s", short(diff_id), err)
            self._discard(directory)
            return None
        return index

    def _discard(self, directory: Path) -> None:
        trash = self._tmp_root() / f"trash-{os.getpid()}-{directory.name}"
        try:
            os.rename(directory, trash)
        except OSError:
            return  # someone else already moved or replaced it
        shutil.rmtree(trash, ignore_errors=True)

    def _tmp_root(self) -> Path:
        root = self.cache_dir / "tmp"
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise LayerError(f"cannot use cache dir {self.cache_dir}: {err.strerror}") from err
        return root

    # -- one pass over a blob ----------------------------------------------------

    def _read_blob(self, blob: LayerBlob) -> LayerIndex:
        work = Path(tempfile.mkdtemp(prefix="layer-", dir=self._tmp_root()))
        try:
            with gc_paused():
                contents, diff_id = read_blob(blob, work / "layer.tar")
            _write_index(work, diff_id, blob.digest, contents)
            final = self._install(work, diff_id)
            self._record_alias(blob.digest, diff_id)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return _make_index(final, diff_id, blob.digest, contents)

    def _install(self, work: Path, diff_id: str) -> Path:
        """Move a complete layer into place; a concurrent twin that won is kept."""
        final = self._layer_dir(diff_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(work, final)
        except OSError:
            if self.has(diff_id):
                return final
            self._discard(final)
            try:
                os.rename(work, final)
            except OSError as err:
                raise LayerError(f"cannot cache layer {short(diff_id)} in {final}: "
                                 f"{err.strerror}") from err
        return final

    def _record_alias(self, digest: str, diff_id: str) -> None:
        path = self._alias_path(digest)
        if path is None or digest == diff_id:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            partial.write_text(diff_id)
            os.replace(partial, path)
        except OSError as err:
            log.debug("cannot record blob %s: %s", short(digest), err)


def _touch(path: Path) -> None:
    """Mark a cached layer as used now, for :meth:`LayerStore.prune`."""
    # a read-only cache still works, it only prunes less well
    with contextlib.suppress(OSError):
        os.utime(path)


class _OutdatedIndexError(ValueError):
    """A cached index written by an older gorc (another :data:`_INDEX_VERSION`)."""


def _write_index(directory: Path, diff_id: str, digest: str, contents: TarContents) -> None:
    rows = [tuple(entry) for entry in contents.entries]
    payload = (_INDEX_VERSION, diff_id, digest, contents.size, rows,
               contents.whiteouts, contents.opaque_dirs)
    with open(directory / "index", "wb") as out:
        marshal.dump(payload, out)


def _read_index(directory: Path, diff_id: str) -> LayerIndex:
    """Load an index written by :func:`_write_index`; ValueError when it does not fit."""
    with gc_paused():
        data = marshal.loads((directory / "index").read_bytes())
        version, stored_id, digest, size, rows, whiteouts, opaque = data
        if isinstance(version, int) and version != _INDEX_VERSION:
            raise _OutdatedIndexError(f"index format {version}, this gorc writes {_INDEX_VERSION}")
        if stored_id != diff_id:
            raise ValueError(f"index version {version} for {stored_id}")
        tar_size = (directory / "layer.tar").stat().st_size
        if tar_size != size:
            raise ValueError(f"layer.tar has {tar_size} bytes, the index says {size}")
        contents = TarContents(list(map(TarEntry._make, rows)), whiteouts, opaque, size)
        return _make_index(directory, diff_id, digest, contents)


def _make_index(directory: Path, diff_id: str, digest: str, contents: TarContents) -> LayerIndex:
    return LayerIndex(
        diff_id=diff_id,
        digest=digest,
        entries={entry.path: entry for entry in contents.entries},
        whiteouts=tuple(contents.whiteouts),
        opaque_dirs=tuple(contents.opaque_dirs),
        tar_path=directory / "layer.tar",
        size=contents.size,
    )
