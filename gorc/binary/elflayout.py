"""The structure of an ELF file: header, program headers, section names.

Shared by the ELF reader (:mod:`gorc.binary.elf`) and the Go build-info reader
so that both parse the headers the same way and with the same bounds. The ELF
header is parsed with pyelftools (its structures built once per class and byte
order); program and section headers, whose layout the gABI fixes, are unpacked
in bulk with :mod:`struct`. Every size and count a file declares is checked
against the file size before anything is read.
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

from elftools.common.exceptions import ELFError, ELFParseError
from elftools.construct.core import ConstructError
from elftools.elf.structs import ELFStructs

from gorc.errors import BinaryError

ELF_MAGIC = b"\x7fELF"

# ELF gABI constants (System V ABI, "Object Files", "Program Header").
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X, PF_W = 1, 2
SHT_NOBITS = 8

#: Bounds against damaged files: no real binary comes near them.
MAX_PHDRS = 4096
MAX_NAME = 4096

#: Errors pyelftools and the struct module raise on damaged input.
_PARSE_ERRORS = (
    ELFError, ELFParseError, ConstructError, struct.error, UnicodeDecodeError, ValueError,
    IndexError, KeyError, AssertionError, OverflowError, EOFError, TypeError, AttributeError,
)

#: The build info magic (Go's debug/buildinfo) and how far it is searched for.
GO_BUILDINFO_MAGIC = b"\xff Go buildinf:"
GO_BUILDINFO_WINDOW = 64 * 1024

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Segment:
    """One program header."""

    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True, slots=True)
class Section:
    """One section header, with its name."""

    name: str
    type: int
    offset: int
    size: int
    addr: int


@dataclass(frozen=True, slots=True)
class ElfLayout:
    """The structural part of an ELF: header fields, segments, named sections.

    Shared by :func:`read_elf` and the build-info reader so that each parses the
    headers the same way, with the same bounds.
    """

    elf_class: int
    little_endian: bool
    machine: int
    e_type: int
    segments: tuple[Segment, ...]
    sections: tuple[Section, ...]
    file_size: int
    entry: int = 0

    @property
    def order(self) -> str:
        """The struct byte-order prefix."""
        return "<" if self.little_endian else ">"

    def section(self, name: str) -> Section | None:
        """The first section named ``name``, or None."""
        return next((s for s in self.sections if s.name == name), None)

    def loads(self) -> tuple[Segment, ...]:
        """The PT_LOAD segments."""
        return tuple(s for s in self.segments if s.type == PT_LOAD)

    def offset_of(self, vaddr: int, size: int = 1) -> int | None:
        """The file offset holding ``size`` bytes at virtual address ``vaddr``, or None."""
        for seg in self.loads():
            if seg.vaddr <= vaddr and vaddr + size <= seg.vaddr + seg.filesz:
                offset = seg.offset + (vaddr - seg.vaddr)
                return offset if offset + size <= self.file_size else None
        return None

    def first_data_load(self) -> Segment | None:
        """The first writable, non-executable PT_LOAD (where Go puts its build info)."""
        return next(
            (s for s in self.loads() if s.flags & PF_W and not s.flags & PF_X), None
        )


def is_elf(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) starts with the ELF magic."""
    return head[:4] == ELF_MAGIC


def guarded(what: str, parse: Callable[[], _T]) -> _T:
    """Run ``parse``, turning any parser error into a BinaryError about ``what``."""
    try:
        return parse()
    except BinaryError:
        raise
    except MemoryError as err:
        raise BinaryError(f"cannot read {what}: a declared size is too large") from err
    except OSError as err:
        raise BinaryError(f"cannot read {what}: {err}") from err
    except _PARSE_ERRORS as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BinaryError(f"cannot read {what}: {reason}") from err


def read_layout(stream: BinaryIO) -> ElfLayout:
    """Read the ELF header, program headers and section names; BinaryError if malformed."""
    return guarded("ELF", lambda: _read_layout(stream))


def file_size_of(stream: BinaryIO) -> int:
    """The size of a seekable stream."""
    stream.seek(0, io.SEEK_END)
    return stream.tell()


def read_at(stream: BinaryIO, offset: int, size: int, file_size: int) -> bytes:
    """Up to ``size`` bytes at ``offset``, never past the end of the file."""
    if offset < 0 or offset >= file_size or size <= 0:
        return b""
    stream.seek(offset)
    return _read_fully(stream, min(size, file_size - offset))


def _read_fully(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes or up to the end: a raw stream may return less per read."""
    data = stream.read(size)
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            break
        data += more
    return data


def read_exact(stream: BinaryIO, offset: int, size: int, file_size: int, what: str) -> bytes:
    """Exactly ``size`` bytes at ``offset``, or BinaryError naming ``what``."""
    if offset < 0 or size < 0 or offset + size > file_size:
        raise BinaryError(f"cannot read ELF: {what} lies outside the file")
    stream.seek(offset)
    data = _read_fully(stream, size)
    if len(data) != size:
        raise BinaryError(f"cannot read ELF: {what} is truncated")
    return data


def _read_layout(stream: BinaryIO) -> ElfLayout:
    file_size = file_size_of(stream)
    ident = read_at(stream, 0, 16, file_size)
    if not is_elf(ident):
        raise BinaryError("cannot read ELF: no ELF magic")
    if len(ident) < 16 or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise BinaryError("cannot read ELF: bad class or byte order in e_ident")
    elf_class, little = 32 * ident[4], ident[5] == 1
    # Parsed from bytes: construct expects every read of a stream to be complete.
    header = _header_structs(elf_class, little).Elf_Ehdr.parse(read_at(stream, 0, 64, file_size))
    e_type, machine = struct.unpack(("<" if little else ">") + "HH",
                                    read_exact(stream, 16, 4, file_size, "the ELF header"))
    partial = ElfLayout(elf_class, little, machine, e_type, (), (), file_size)
    segments = _read_segments(stream, partial, header["e_phoff"], header["e_phnum"],
                              header["e_phentsize"])
    sections = _read_sections(stream, partial, header["e_shoff"], header["e_shnum"],
                              header["e_shentsize"], header["e_shstrndx"])
    return ElfLayout(elf_class, little, machine, e_type, segments, sections, file_size,
                     header["e_entry"])


@functools.cache
def _header_structs(elf_class: int, little_endian: bool) -> ELFStructs:
    """pyelftools' header structures for one class and byte order.

    Built once: creating them costs more than reading a binary's headers, and
    parsing with them keeps no state.
    """
    structs = ELFStructs(little_endian=little_endian, elfclass=elf_class)
    structs.create_basic_structs()
    return structs


def _read_segments(stream: BinaryIO, layout: ElfLayout, phoff: int, phnum: int,
                   phentsize: int) -> tuple[Segment, ...]:
    if phnum == 0 or phoff == 0:
        return ()
    is64 = layout.elf_class == 64
    fmt = layout.order + ("IIQQQQQQ" if is64 else "IIIIIIII")
    entsize = struct.calcsize(fmt)
    if phentsize < entsize or phnum > MAX_PHDRS:
        raise BinaryError("cannot read ELF: bad program header size or count")
    table = read_exact(stream, phoff, phnum * phentsize, layout.file_size, "program headers")
    segments = []
    for i in range(phnum):
        fields = struct.unpack_from(fmt, table, i * phentsize)
        if is64:
            p_type, flags, offset, vaddr, _paddr, filesz, memsz, _align = fields
        else:
            p_type, offset, vaddr, _paddr, filesz, memsz, flags, _align = fields
        segments.append(Segment(p_type, flags, offset, vaddr, filesz, memsz))
    return tuple(segments)


def _read_sections(stream: BinaryIO, layout: ElfLayout, shoff: int, shnum: int,
                   shentsize: int, shstrndx: int) -> tuple[Section, ...]:
    is64 = layout.elf_class == 64
    fmt = layout.order + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    entsize = struct.calcsize(fmt)
    if shoff == 0 or shentsize < entsize or shoff >= layout.file_size:
        return ()  # no section headers: stripped (sstrip) or never written
    if shnum == 0:
        # gABI extended numbering: the real count is in section 0's sh_size.
        first = read_exact(stream, shoff, entsize, layout.file_size, "section header 0")
        shnum = struct.unpack(fmt, first)[5]
    if shnum * shentsize > layout.file_size - shoff:
        raise BinaryError("cannot read ELF: section headers lie outside the file")
    table = read_exact(stream, shoff, shnum * shentsize, layout.file_size, "section headers")
    raw = [struct.unpack_from(fmt, table, i * shentsize) for i in range(shnum)]
    names = b""
    if 0 < shstrndx < shnum:
        strtab = raw[shstrndx]
        names = read_at(stream, strtab[4], strtab[5], layout.file_size)
    return tuple(
        Section(cstring(names, r[0]), r[1], r[4], r[5], r[3]) for r in raw
    )


def cstring(table: bytes, index: int) -> str:
    """The NUL-terminated string at ``index`` of a string table ('' past its end)."""
    if index >= len(table):
        return ""
    end = table.find(b"\0", index, index + MAX_NAME)
    return table[index:end if end >= 0 else index + MAX_NAME].decode("utf-8", "replace")


def find_buildinfo_magic(data: bytes) -> int:
    """The first 16-byte aligned offset of Go's build-info magic in ``data``, or -1."""
    start = data.find(GO_BUILDINFO_MAGIC)
    while start >= 0:
        if start % 16 == 0:
            return start
        start = data.find(GO_BUILDINFO_MAGIC, start + 1)
    return -1
