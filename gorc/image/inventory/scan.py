"""Bounded reads of image files: marker searches, regex searches, fingerprints.

Binaries are never read whole into memory: they are streamed in chunks that
overlap by enough bytes for a match to straddle two chunks, and the stream is
abandoned after a byte limit. Config files are read up to :data:`CONFIG_LIMIT`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from gorc.errors import ImageSourceError
from gorc.image.fs import FileSystem
from gorc.image.inventory.record import Recorder

#: Config files (passwd, group, nsswitch.conf, shells) larger than this are cut.
CONFIG_LIMIT = 1024 * 1024

#: How far into a binary markers are searched (a shell or a libc is a few MiB).
BINARY_LIMIT = 16 * 1024 * 1024

_CHUNK = 256 * 1024


def chunks(fs: FileSystem, path: str, limit: int, overlap: int) -> Iterator[tuple[int, bytes]]:
    """Yield (offset, window) pairs covering the first ``limit`` bytes of ``path``.

    Each window repeats the last ``overlap`` bytes of the one before, so a match
    up to ``overlap + 1`` bytes long is never split. Raises ImageSourceError when
    the file cannot be opened.
    """
    with fs.open(path) as stream:
        tail = b""
        offset = 0
        while offset < limit:
            data = stream.read(min(_CHUNK, limit - offset))
            if not data:
                return
            yield offset - len(tail), tail + data
            offset += len(data)
            tail = (tail + data)[-overlap:] if overlap else b""


def find_markers(
    fs: FileSystem, path: str, markers: Iterable[bytes], limit: int = BINARY_LIMIT
) -> set[bytes]:
    """The subset of ``markers`` present in the first ``limit`` bytes of ``path``."""
    wanted = set(markers)
    found: set[bytes] = set()
    overlap = max((len(m) for m in wanted), default=1) - 1
    for _, window in chunks(fs, path, limit, overlap):
        found.update(m for m in wanted - found if m in window)
        if found == wanted:
            break
    return found


def search(
    fs: FileSystem, path: str, pattern: re.Pattern[bytes], limit: int = BINARY_LIMIT,
    overlap: int = 512,
) -> re.Match[bytes] | None:
    """The first match of ``pattern`` (at most ``overlap`` bytes long) in ``path``."""
    for _, window in chunks(fs, path, limit, overlap):
        match = pattern.search(window)
        if match:
            return match
    return None


def findall(
    fs: FileSystem, path: str, pattern: re.Pattern[bytes], limit: int = BINARY_LIMIT,
    overlap: int = 512,
) -> list[tuple[int, bytes]]:
    """Every (file offset, first group or whole match) of ``pattern``, without duplicates.

    A match cut by the end of one window is found again, whole, in the next one
    when it starts in the overlap: the longest value seen at an offset is kept.
    """
    seen: dict[int, bytes] = {}
    for base, window in chunks(fs, path, limit, overlap):
        for match in pattern.finditer(window):
            value = match.group(1) if pattern.groups else match.group(0)
            if len(value) > len(seen.get(base + match.start(), b"")):
                seen[base + match.start()] = value
    return sorted(seen.items())


def fingerprint(fs: FileSystem, path: str, size: int) -> bytes:
    """A cheap identity of a file's content: hash of its size and three 4 KiB samples.

    Used to tell hard links of one binary (same size, same samples) without reading
    whole files; two different ELF files of the same size differ in their headers'
    tails or section tables, which the samples cover.
    """
    digest = hashlib.sha256(size.to_bytes(8, "little"))
    with fs.open(path) as stream:
        for offset in sorted({0, max(0, size // 2 - 2048), max(0, size - 4096)}):
            stream.seek(offset)
            digest.update(stream.read(4096))
    return digest.digest()


def read_config(fs: FileSystem, path: str, rec: Recorder) -> str | None:
    """A config file's text, cut at :data:`CONFIG_LIMIT`; None when absent or unreadable."""
    try:
        return fs.read_text(path, CONFIG_LIMIT)
    except ImageSourceError as err:
        rec.unknown(path, f"cannot read {path}: {err}")
        return None
