"""A streaming tar reader that records, for every entry, where its data lies.

It reads the formats layers use (POSIX ustar, GNU long names, PAX extended
headers) straight from the inflated stream, one 512-byte block at a time, and
keeps no file data: an entry is its metadata plus the offset of its data in
the uncompressed tar, so reading a file later is a seek in the cached tar.

Rules follow POSIX.1-2008 ``pax`` (ustar and pax interchange formats) and what
Go's ``archive/tar`` (the reader behind Docker and containerd) accepts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple, NoReturn

from gorc.errors import LayerError
from gorc.image.fs import normalize

log = logging.getLogger(__name__)

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)

#: PAX records and GNU long names are held in memory; no sane one is this big.
MAX_META_SIZE = 1024 * 1024

#: How many leading bytes of an ELF file the index keeps: the whole ELF header of a
#: 64-bit object (gABI, "ELF Header"), enough to find ELF files without reading them.
HEAD_SIZE = 64
_ELF_MAGIC = b"\x7fELF"

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

HARDLINK = "hardlink"
_KINDS = {
    "0": "file", "\0": "file", "7": "file", "1": HARDLINK, "2": "symlink",
    "3": "char", "4": "block", "5": "dir", "6": "fifo",
}
#: Types whose size field says nothing about data that follows (Go: isHeaderOnlyType).
_HEADER_ONLY = frozenset("123456")
#: Types that carry no entry of their own (metadata for the next one, volume labels).
_META = frozenset("xgLKVMN")


class TarEntry(NamedTuple):
    """One entry of a layer tar.

    ``kind`` is a :class:`gorc.image.fs.FileType` value or ``"hardlink"``;
    ``linkname`` is the symlink target as stored, or the normalized path a hard
    link points at; ``offset`` is where the data starts in the uncompressed tar.
    ``head`` is a prefix of a regular file's data (see :func:`leading_bytes`);
    None for other kinds.
    """

    path: str
    kind: str
    mode: int
    size: int
    uid: int
    gid: int
    linkname: str
    offset: int
    head: bytes | None = None


@dataclass(slots=True)
class TarContents:
    """What one scan found: entries in tar order, whiteouts and opaque directories."""

    entries: list[TarEntry] = field(default_factory=list)
    whiteouts: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    size: int = 0


class _BlockReader:
    """Blocks and skips over an iterator of byte chunks, counting the offset."""

    def __init__(self, chunks: Iterable[bytes], label: str) -> None:
        self._chunks = iter(chunks)
        self._buf = b""
        self._pos = 0
        self.offset = 0
        self._label = label

    def _fill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._buf = self._buf[self._pos:] + chunk if self._pos < len(self._buf) else chunk
                self._pos = 0
                return True
        return False

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes; b"" at a clean end; LayerError when cut short."""
        while len(self._buf) - self._pos < size:
            if not self._fill():
                if self._pos == len(self._buf):
                    return b""
                self.truncated()
        data = self._buf[self._pos:self._pos + size]
        self._pos += size
        self.offset += size
        return data

    def skip(self, size: int) -> None:
        """Pass over ``size`` bytes without keeping them."""
        while size:
            available = len(self._buf) - self._pos
            if not available and not self._fill():
                self.truncated()
            step = min(size, len(self._buf) - self._pos)
            self._pos += step
            self.offset += step
            size -= step

    def drain(self) -> None:
        """Consume the rest of the stream (padding after the end-of-archive blocks)."""
        self.offset += len(self._buf) - self._pos
        self._buf, self._pos = b"", 0
        for chunk in self._chunks:
            self.offset += len(chunk)

    def truncated(self) -> NoReturn:
        """Raise the LayerError for a stream that ends inside an entry."""
        raise LayerError(f"cannot read layer {self._label}: unexpected end of tar stream "
                         f"at offset {self.offset}")


def scan(chunks: Iterable[bytes], label: str) -> TarContents:
    """Index the tar in ``chunks``; LayerError on a malformed or truncated archive."""
    reader = _BlockReader(chunks, label)
    contents = TarContents()
    for entry in _entries(reader, label):
        _classify(entry, contents)
    reader.drain()
    contents.size = reader.offset
    return contents


def _classify(entry: TarEntry, contents: TarContents) -> None:
    """Sort an entry into whiteouts, opaque markers or real entries (OCI layer spec)."""
    parent, _, name = entry.path.rpartition("/")
    if not name.startswith(WHITEOUT_PREFIX):
        contents.entries.append(entry)
    elif name == OPAQUE_MARKER:
        contents.opaque_dirs.append(parent or "/")
    elif name.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
        # AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content, Docker skips it too.
        log.debug("skipping AUFS metadata entry %s", entry.path)
    else:
        contents.whiteouts.append(f"{parent}/{name[len(WHITEOUT_PREFIX):]}")


def _entries(reader: _BlockReader, label: str) -> Iterator[TarEntry]:
    pending: dict[str, str] = {}
    while True:
        start = reader.offset
        block = reader.read(BLOCK)
        if not block:
            log.debug("layer %s: tar ends without end-of-archive blocks", label)
            return
        if block == _ZERO_BLOCK:
            return
        header = _Header(block, start, label)
        if header.typeflag in _META:
            _read_meta(reader, header, header.size, pending, label)
            continue
        data_size = int(pending.get("size", header.size))
        if header.typeflag in _HEADER_ONLY:
            data_size = 0
        entry = header.entry(pending, reader.offset, data_size)
        pending = {}
        if entry.kind == "file":
            data = reader.read(min(data_size, HEAD_SIZE))
            entry = entry._replace(head=leading_bytes(data))
            reader.skip(_padded(data_size) - len(data))
        else:
            reader.skip(_padded(data_size))
        yield entry


def leading_bytes(data: bytes) -> bytes:
    """The prefix of a file starting with ``data`` that the index keeps.

    All of ``data`` (up to :data:`HEAD_SIZE`) for an ELF file; otherwise the
    shortest prefix that still tells the file is not ELF and whether it is a
    ``#!`` script: one byte for most files (a cached object in CPython, so the
    index of a large layer costs no memory for them).
    """
    first = data[:1]
    if first == b"\x7f":
        return data[:HEAD_SIZE] if data.startswith(_ELF_MAGIC) else data[:4]
    if first == b"#":
        return data[:2]
    return first


def _padded(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK


def _read_meta(
    reader: _BlockReader, header: _Header, size: int, pending: dict[str, str], label: str
) -> None:
    """Read a PAX or GNU long-name header's data into ``pending``."""
    if size > MAX_META_SIZE:
        raise LayerError(f"cannot read layer {label}: malformed tar header at offset "
                         f"{header.offset}: {size}-byte '{header.typeflag}' record")
    data = reader.read(_padded(size))[:size] if size else b""
    if size and not data:
        reader.truncated()
    flag = header.typeflag
    if flag == "x":
        pending.update(_parse_pax(data, header.offset, label))
    elif flag == "L":
        pending["path"] = _decode(data.split(b"\0", 1)[0])
    elif flag == "K":
        pending["linkpath"] = _decode(data.split(b"\0", 1)[0])
    # 'g' (global PAX) is ignored as Go's reader does for entries; V, M, N carry no entry.


def _parse_pax(data: bytes, offset: int, label: str) -> dict[str, str]:
    """PAX records ``"%d %s=%s\\n"`` (POSIX pax, extended header keywords)."""
    fields: dict[str, str] = {}
    while data:
        length_text, sep, _ = data.partition(b" ")
        try:
            length = int(length_text)
        except ValueError:
            length = 0
        if not sep or length <= len(length_text) + 1 or length > len(data):
            raise LayerError(f"cannot read layer {label}: malformed tar header at offset "
                             f"{offset}: bad PAX record")
        record, data = data[len(length_text) + 1:length], data[length:]
        key, eq, value = record.rstrip(b"\n").partition(b"=")
        if eq and key in (b"path", b"linkpath", b"size", b"uid", b"gid"):
            fields[key.decode()] = _decode(value)
    for name in ("size", "uid", "gid"):
        if name in fields and not (fields[name].isascii() and fields[name].isdigit()):
            raise LayerError(f"cannot read layer {label}: malformed tar header at offset "
                             f"{offset}: PAX {name} {fields[name]!r}")
    return fields


def _decode(raw: bytes) -> str:
    # surrogateescape keeps non-UTF-8 names distinct and round-trippable.
    return raw.decode("utf-8", "surrogateescape")


class _Header:
    """The fields of one ustar/GNU header block that gorc uses."""

    __slots__ = ("block", "gid", "label", "mode", "offset", "size", "typeflag", "uid")

    def __init__(self, block: bytes, offset: int, label: str) -> None:
        self.block = block
        self.offset = offset
        self.label = label
        self._check_sum()
        self.typeflag = chr(block[156])
        self.mode = self._number(100, 108) & 0o7777
        self.uid = self._number(108, 116)
        self.gid = self._number(116, 124)
        self.size = self._number(124, 136)

    def _malformed(self, why: str) -> LayerError:
        return LayerError(f"cannot read layer {self.label}: malformed tar header at offset "
                          f"{self.offset}: {why}")

    def _check_sum(self) -> None:
        block = self.block
        try:
            stored = _octal(block[148:156])
        except ValueError:
            raise self._malformed("checksum mismatch (not a tar archive?)") from None
        unsigned = sum(block) - sum(block[148:156]) + 8 * 32
        if stored == unsigned:
            return
        # Some old tars summed signed chars (POSIX pax rationale); accept those too.
        signed = unsigned - 256 * sum(1 for b in block if b > 127)
        if stored != signed:
            raise self._malformed("checksum mismatch (not a tar archive?)")

    def _number(self, start: int, end: int) -> int:
        field_bytes = self.block[start:end]
        if field_bytes[0] & 0x80:
            # GNU base-256 for values that do not fit in octal; 0xff means negative.
            if field_bytes[0] == 0xFF:
                raise self._malformed("negative number")
            return int.from_bytes(bytes([field_bytes[0] & 0x7F]) + field_bytes[1:], "big")
        try:
            return _octal(field_bytes)
        except ValueError:
            raise self._malformed(f"bad number {field_bytes!r}") from None

    def _text(self, start: int, end: int) -> str:
        return _decode(self.block[start:end].split(b"\0", 1)[0])

    def entry(self, pending: dict[str, str], data_offset: int, data_size: int) -> TarEntry:
        """The entry this header describes, with PAX/GNU overrides applied."""
        name = pending.get("path") or self._name()
        kind = _KINDS.get(self.typeflag, "file")
        if kind == "file" and self.typeflag in "0\0" and name.endswith("/"):
            kind = "dir"  # pre-POSIX tars mark directories with a trailing slash only
        if self.typeflag == "S":
            log.warning("layer %s: GNU sparse file %s read as a plain file", self.label, name)
        linkname = pending.get("linkpath") or self._text(157, 257)
        if kind == HARDLINK:
            linkname = _safe_path(linkname, self.label)
        return TarEntry(
            _safe_path(name, self.label), kind, self.mode, data_size,
            int(pending.get("uid", self.uid)), int(pending.get("gid", self.gid)),
            linkname, data_offset,
        )

    def _name(self) -> str:
        name = self._text(0, 100)
        if self.block[257:263] == b"ustar\0":
            prefix = self._text(345, 500)
            if prefix:
                name = f"{prefix}/{name}"
        return name


def _octal(raw: bytes) -> int:
    text = raw.strip(b" \0")
    if b"\0" in text:
        text = text.split(b"\0", 1)[0].strip()
    if not text:
        return 0
    if not text.isdigit():  # int() alone would also take "+1", "1_0" and spaces
        raise ValueError(text)
    return int(text, 8)  # ValueError for 8 and 9


def _safe_path(name: str, label: str) -> str:
    """The path inside the root: ``..`` stops at ``/``, absolute names are rooted."""
    path = normalize(name)
    if name.startswith("/") or ".." in name.split("/"):
        log.debug("layer %s: entry %r taken as %s inside the root", label, name, path)
    return path
