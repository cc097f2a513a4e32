"""The names of the functions linked into a Go program, read from its pclntab.

The Go runtime keeps a table of every function for stack traces (the pclntab,
Go's runtime/symtab.go ``pcHeader`` and debug/gosym/pclntab.go), and it stays
in the binary when ``-ldflags=-s -w`` drops ``.symtab`` and DWARF. Its header:

* magic (uint32, target byte order): ``0xfffffffa`` Go 1.16-1.17,
  ``0xfffffff0`` Go 1.18-1.19, ``0xfffffff1`` Go 1.20 and later (the 1.20
  change is in the function records, not in the header); ``0xfffffffb`` is the
  Go 1.2-1.15 layout, which has no separate name table;
* two zero pad bytes, the minimum instruction size (1, 2 or 4), the pointer size
  (4 or 8);
* then pointer-sized words: nfunc, nfiles, (textStart, Go 1.18+ only),
  funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset; the offsets
  are relative to the header.

The funcnametab runs from funcnameOffset to cuOffset and holds NUL-terminated
names (functions and the functions inlined into them), so only that table is
read, never the whole file. The pclntab is the section ``.gopclntab``; when the
section headers are stripped the header magic is searched for in the read-only
PT_LOAD segments and checked field by field. When no table can be read, the
names the caller asks for are searched as NUL-framed strings in those segments
and the result says it is incomplete.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from gorc.binary.elflayout import PF_W, ElfLayout, guarded, read_at, read_exact, read_layout

log = logging.getLogger(__name__)

_MAGIC_116, _MAGIC_118, _MAGIC_120 = 0xFFFFFFFA, 0xFFFFFFF0, 0xFFFFFFF1
_MAGIC_12 = 0xFFFFFFFB
#: Index of funcnameOffset among the header words (after the 8 fixed bytes).
_NAME_WORD = {_MAGIC_116: 2, _MAGIC_118: 3, _MAGIC_120: 3}

#: Bounds: the largest real Go programs have a few MiB of function names.
MAX_NAME_TABLE = 64 * 1024 * 1024
#: How much read-only data is searched for a header or a name, in chunks.
MAX_SEARCH = 512 * 1024 * 1024
_CHUNK = 4 * 1024 * 1024
_MAX_NFUNC = 10_000_000


@dataclass(frozen=True, slots=True)
class GoFunctions:
    """Function names of a Go program and how they were found.

    ``complete`` is True when the whole name table was read; False when only the
    ``wanted`` names were searched for as bytes (``problem`` says why), in which
    case a name absent from ``names`` may still be linked.
    """

    table: bytes
    """The names as the pclntab stores them, each framed by NUL bytes."""
    complete: bool = True
    problem: str | None = None

    @classmethod
    def of(cls, names: Iterable[str], complete: bool = True,
           problem: str | None = None) -> GoFunctions:
        """Functions from a list of names (a byte search's findings)."""
        return cls(_frame(n.encode() for n in names), complete, problem)

    @property
    def names(self) -> frozenset[str]:
        """Every name, decoded; a big program has tens of thousands, so ask by name instead."""
        return frozenset(n.decode("utf-8", "replace") for n in self.table.split(b"\0") if n)

    def __contains__(self, name: object) -> bool:
        # A membership test is one substring search in the raw table: decoding
        # 70k names per binary would cost more than everything else gorc reads.
        return isinstance(name, str) and b"\0" + name.encode() + b"\0" in self.table

    def first(self, candidates: Iterable[str]) -> str | None:
        """The first of ``candidates`` that is linked in, or None."""
        return next((name for name in candidates if name in self), None)


def _frame(names: Iterable[bytes]) -> bytes:
    """``\\0a\\0b\\0``: every name with a NUL on both sides."""
    return b"\0" + b"".join(n + b"\0" for n in names if n)


def read_go_functions(stream: BinaryIO, layout: ElfLayout | None = None,
                      wanted: Iterable[str] = ()) -> GoFunctions:
    """The function names of a Go ELF program (BinaryError when it is not ELF).

    ``wanted`` are the names searched for byte-wise when the pclntab cannot be
    read; the result then holds only those found.
    """
    return guarded("Go function table", lambda: _read(stream, layout, tuple(wanted)))


def _read(stream: BinaryIO, layout: ElfLayout | None, wanted: tuple[str, ...]) -> GoFunctions:
    if layout is None:
        layout = read_layout(stream)
    table, problem = _name_table(stream, layout)
    if table is not None:
        return GoFunctions(table if table.startswith(b"\0") else b"\0" + table)
    log.debug("no pclntab name table: %s; searching %d names", problem, len(wanted))
    found = _search_names(stream, layout, wanted)
    return GoFunctions.of(sorted(found), complete=False, problem=problem)


def _name_table(stream: BinaryIO, layout: ElfLayout) -> tuple[bytes | None, str]:
    """The funcnametab bytes, or None and the reason it could not be read."""
    section = layout.section(".gopclntab")
    if section is not None and section.size >= 8:
        return _table_at(stream, layout, section.offset, section.offset + section.size)
    for start, end in _pclntab_ranges(layout):
        at = _find_header(stream, layout, start, end)
        if at is not None:
            return _table_at(stream, layout, at, end)
    return None, "no pclntab found (no .gopclntab section and no header in the data segments)"


def _table_at(stream: BinaryIO, layout: ElfLayout, at: int,
              end: int) -> tuple[bytes | None, str]:
    head = read_at(stream, at, 8, layout.file_size)
    if len(head) < 8:
        return None, "the pclntab header is truncated"
    (magic,) = struct.unpack(layout.order + "I", head[:4])
    if magic == _MAGIC_12:
        return None, "the pclntab has the Go 1.2-1.15 layout, which has no name table"
    bounds = _header_bounds(stream, layout, at, end)
    if bounds is None:
        return None, f"the pclntab header at offset {at:#x} is not valid"
    start, stop = bounds
    return read_exact(stream, start, stop - start, layout.file_size, "the function names"), ""


def _header_bounds(stream: BinaryIO, layout: ElfLayout, at: int,
                   end: int) -> tuple[int, int] | None:
    """(start, stop) file offsets of the funcnametab when ``at`` holds a valid header."""
    head = read_at(stream, at, 8, layout.file_size)
    if len(head) < 8:
        return None
    (magic,) = struct.unpack(layout.order + "I", head[:4])
    word = _NAME_WORD.get(magic)
    ptr = head[7]
    if word is None or head[4:6] != b"\0\0" or head[6] not in (1, 2, 4) or ptr not in (4, 8):
        return None
    raw = read_at(stream, at + 8, ptr * (word + 2), layout.file_size)
    if len(raw) < ptr * (word + 2):
        return None
    words = struct.unpack(layout.order + ("Q" if ptr == 8 else "I") * (word + 2), raw)
    nfunc, name_off, cu_off = words[0], words[word], words[word + 1]
    if not 0 < nfunc < _MAX_NFUNC or not 8 < name_off < cu_off:
        return None
    if cu_off - name_off > MAX_NAME_TABLE or at + cu_off > min(end, layout.file_size):
        return None
    return at + name_off, at + cu_off


def _pclntab_ranges(layout: ElfLayout) -> list[tuple[int, int]]:
    """Where a pclntab without its own section may be, most likely first.

    A position-independent Go binary (``-buildmode=pie``, Debian's default) keeps
    the pclntab in ``.data.rel.ro``, inside the writable RELRO segment; other
    binaries keep it in read-only data.
    """
    ranges = []
    relro = layout.section(".data.rel.ro")
    if relro is not None and relro.size:
        ranges.append((relro.offset, min(relro.offset + relro.size, layout.file_size)))
    ranges += _readonly_ranges(layout)
    writable = [s for s in layout.loads() if s.flags & PF_W and s.filesz]
    ranges += [(s.offset, min(s.offset + s.filesz, layout.file_size)) for s in writable]
    return ranges


def _readonly_ranges(layout: ElfLayout) -> list[tuple[int, int]]:
    """(start, end) file ranges of non-writable PT_LOADs, data before code.

    The Go linker puts the pclntab in the read-only data segment; external
    linkers may merge it with the text segment, searched last.
    """
    loads = [s for s in layout.loads() if not s.flags & PF_W and s.filesz]
    loads.sort(key=lambda s: bool(s.flags & 1))
    return [(s.offset, min(s.offset + s.filesz, layout.file_size)) for s in loads]


def _chunks(stream: BinaryIO, layout: ElfLayout, start: int, end: int,
            overlap: int) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of a file range in bounded chunks that overlap by ``overlap``."""
    end = min(end, start + MAX_SEARCH)
    offset = start
    while offset < end:
        data = read_at(stream, offset, min(_CHUNK + overlap, end - offset), layout.file_size)
        if not data:
            return
        yield offset, data
        offset += _CHUNK


def _find_header(stream: BinaryIO, layout: ElfLayout, start: int, end: int) -> int | None:
    """The file offset of a valid pclntab header in ``[start, end)``, or None."""
    magics = [struct.pack(layout.order + "I", m) + b"\0\0" for m in _NAME_WORD]
    for offset, data in _chunks(stream, layout, start, end, overlap=8):
        for magic in magics:
            hit = data.find(magic)
            while 0 <= hit < _CHUNK:
                if _header_bounds(stream, layout, offset + hit, end) is not None:
                    return offset + hit
                hit = data.find(magic, hit + 1)
    return None


def _search_names(stream: BinaryIO, layout: ElfLayout, wanted: tuple[str, ...]) -> frozenset[str]:
    """The ``wanted`` names present as NUL-framed strings in read-only data."""
    if not wanted:
        return frozenset()
    targets = {n: n.encode() + b"\0" for n in wanted}
    longest = max(len(t) for t in targets.values()) + 1
    found: set[str] = set()
    for start, end in _readonly_ranges(layout):
        for _offset, data in _chunks(stream, layout, start, end, overlap=longest):
            found.update(n for n, t in targets.items() if n not in found and _framed(data, t))
            if len(found) == len(targets):
                return frozenset(found)
    return frozenset(found)


def _framed(data: bytes, target: bytes) -> bool:
    """True when ``target`` (a name and its NUL) stands in ``data`` as a whole name.

    A name ends with NUL in every pclntab layout; what precedes it differs (Go
    1.2-1.15 interleaves names with other data), so only a name character right
    before it disqualifies a hit (``xos/user.Current`` is another function).
    """
    hit = data.find(target)
    while hit >= 0:
        if hit == 0 or data[hit - 1] not in _NAME_BYTES:
            return True
        hit = data.find(target, hit + 1)
    return False


#: Bytes that may stand inside a Go function name (letters, digits, and the
#: punctuation of package paths, methods and generics' instantiation).
_NAME_BYTES = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.*()"
)
