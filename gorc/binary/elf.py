"""Reading an ELF file the way the kernel and the dynamic loader will.

Only what decides whether a program can start is read: the ELF header (through
pyelftools), the program headers, the dynamic segment (PT_DYNAMIC) and the
version tables it points at (DT_VERNEED, DT_VERDEF). Those are found through the
dynamic segment's addresses translated by the PT_LOAD segments, so a binary whose
section headers were stripped reads the same as an intact one. Section headers
are read only for their names (``.symtab``, ``.go.buildinfo``).

Every size and count a damaged file declares is checked against the file size
before anything is read, and every error from the parser becomes a
:class:`~gorc.errors.BinaryError` with a one-line reason.
"""

from __future__ import annotations

import functools
import io
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO, TypeVar

from elftools.common.exceptions import ELFError, ELFParseError
from elftools.common.utils import struct_parse
from elftools.construct.core import ConstructError
from elftools.elf.structs import ELFStructs

from gorc.binary.upx import UPX_WINDOW, looks_packed
from gorc.errors import BinaryError
from gorc.model import Linkage

log = logging.getLogger(__name__)

ELF_MAGIC = b"\x7fELF"

#: Errors pyelftools and the struct module raise on damaged input.
_PARSE_ERRORS = (
    ELFError, ELFParseError, ConstructError, struct.error, UnicodeDecodeError, ValueError,
    IndexError, KeyError, AssertionError, OverflowError, EOFError, TypeError, AttributeError,
)

# ELF gABI constants (System V ABI, "Object Files").
_ET_EXEC, _ET_DYN = 2, 3
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_PF_X, _PF_W = 1, 2
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ = 0, 1, 5, 10
_DT_SONAME, _DT_RPATH, _DT_RUNPATH = 14, 15, 29
_DT_FLAGS_1 = 0x6FFFFFFB
_DT_VERDEF, _DT_VERDEFNUM = 0x6FFFFFFC, 0x6FFFFFFD
_DT_VERNEED, _DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
_DF_1_PIE = 0x08000000
_VER_FLG_BASE = 1

#: Bounds against damaged files: no real binary comes near them.
_MAX_PHDRS = 4096
_MAX_DYN_ENTRIES = 65536
_MAX_VERSION_ENTRIES = 65536
_MAX_NAME = 4096

#: The build info magic (Go's debug/buildinfo) and how far it is searched for.
GO_BUILDINFO_MAGIC = b"\xff Go buildinf:"
GO_BUILDINFO_WINDOW = 64 * 1024

_T = TypeVar("_T")


class ElfType(StrEnum):
    """What kind of object the ELF is, as far as starting it is concerned."""

    EXEC = "exec"
    PIE = "pie"
    STATIC_PIE = "static-pie"
    SHARED = "shared"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class VersionNeed:
    """One Verneed entry of ``.gnu.version_r``: a library and the versions needed from it."""

    file: str
    versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ElfInfo:
    """What an ELF file tells about how it is started and what it needs."""

    elf_class: int
    little_endian: bool
    machine: int
    arch: str | None
    elf_type: ElfType
    interpreter: str | None
    needed: tuple[str, ...]
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    soname: str | None
    version_needs: tuple[VersionNeed, ...]
    version_defs: tuple[str, ...]
    stripped: bool
    upx: bool
    has_go_buildinfo: bool

    @property
    def linkage(self) -> Linkage:
        """DYNAMIC when the loader is involved (an interpreter or needed libraries)."""
        return Linkage.DYNAMIC if self.interpreter or self.needed else Linkage.STATIC


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

    @property
    def order(self) -> str:
        """The struct byte-order prefix."""
        return "<" if self.little_endian else ">"

    def section(self, name: str) -> Section | None:
        """The first section named ``name``, or None."""
        return next((s for s in self.sections if s.name == name), None)

    def loads(self) -> tuple[Segment, ...]:
        """The PT_LOAD segments."""
        return tuple(s for s in self.segments if s.type == _PT_LOAD)

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
            (s for s in self.loads() if s.flags & _PF_W and not s.flags & _PF_X), None
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


def read_elf(stream: BinaryIO) -> ElfInfo:
    """Read what starting this ELF needs; raises BinaryError on a malformed file."""
    return guarded("ELF", lambda: _read_elf(stream))


def read_layout(stream: BinaryIO) -> ElfLayout:
    """Read the ELF header, program headers and section names; BinaryError if malformed."""
    return guarded("ELF", lambda: _read_layout(stream))


def _read_elf(stream: BinaryIO) -> ElfInfo:
    layout = _read_layout(stream)
    interp = _read_interpreter(stream, layout)
    dyn = _DynamicReader(stream, layout).read()
    return ElfInfo(
        elf_class=layout.elf_class,
        little_endian=layout.little_endian,
        machine=layout.machine,
        arch=go_arch(layout.machine, layout.elf_class, layout.little_endian),
        elf_type=_elf_type(layout.e_type, interp is not None, dyn.flags_1),
        interpreter=interp,
        needed=dyn.needed,
        rpath=dyn.rpath,
        runpath=dyn.runpath,
        soname=dyn.soname,
        version_needs=dyn.version_needs,
        version_defs=dyn.version_defs,
        stripped=layout.section(".symtab") is None,
        upx=looks_packed(_read_at(stream, 0, UPX_WINDOW, layout.file_size)),
        has_go_buildinfo=has_go_buildinfo(stream, layout),
    )


def _elf_type(e_type: int, has_interp: bool, flags_1: int) -> ElfType:
    if e_type == _ET_EXEC:
        return ElfType.EXEC
    if e_type != _ET_DYN:
        return ElfType.OTHER
    if has_interp:
        return ElfType.PIE
    return ElfType.STATIC_PIE if flags_1 & _DF_1_PIE else ElfType.SHARED


# Go's GOARCH names by (e_machine, class, little endian); None in the class or
# order slot means "any".
_ARCHES: dict[int, tuple[tuple[int | None, bool | None, str], ...]] = {
    3: ((None, None, "386"),),
    62: ((64, None, "amd64"), (32, None, "amd64p32")),
    40: ((None, None, "arm"),),
    183: ((None, None, "arm64"),),
    21: ((None, True, "ppc64le"), (None, False, "ppc64")),
    20: ((None, None, "ppc"),),
    22: ((64, None, "s390x"), (32, None, "s390")),
    243: ((64, None, "riscv64"), (32, None, "riscv")),
    8: ((64, True, "mips64le"), (64, False, "mips64"), (32, True, "mipsle"), (32, False, "mips")),
    258: ((64, None, "loong64"),),
    43: ((None, None, "sparc64"),),
}


def go_arch(machine: int, elf_class: int, little_endian: bool) -> str | None:
    """The GOARCH name of an ELF machine, or None when gorc does not know it."""
    for want_class, want_little, name in _ARCHES.get(machine, ()):
        if want_class not in (None, elf_class) or want_little not in (None, little_endian):
            continue
        return name
    return None


def _file_size(stream: BinaryIO) -> int:
    stream.seek(0, io.SEEK_END)
    return stream.tell()


def _read_at(stream: BinaryIO, offset: int, size: int, file_size: int) -> bytes:
    """Up to ``size`` bytes at ``offset``, never past the end of the file."""
    if offset < 0 or offset >= file_size or size <= 0:
        return b""
    stream.seek(offset)
    return stream.read(min(size, file_size - offset))


def _read_exact(stream: BinaryIO, offset: int, size: int, file_size: int, what: str) -> bytes:
    if offset < 0 or size < 0 or offset + size > file_size:
        raise BinaryError(f"cannot read ELF: {what} lies outside the file")
    stream.seek(offset)
    data = stream.read(size)
    if len(data) != size:
        raise BinaryError(f"cannot read ELF: {what} is truncated")
    return data


def _read_layout(stream: BinaryIO) -> ElfLayout:
    file_size = _file_size(stream)
    stream.seek(0)
    ident = stream.read(16)
    if not is_elf(ident):
        raise BinaryError("cannot read ELF: no ELF magic")
    if len(ident) < 16 or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise BinaryError("cannot read ELF: bad class or byte order in e_ident")
    elf_class, little = 32 * ident[4], ident[5] == 1
    header = struct_parse(_header_structs(elf_class, little).Elf_Ehdr, stream, stream_pos=0)
    stream.seek(16)
    e_type, machine = struct.unpack(("<" if little else ">") + "HH", stream.read(4))
    partial = ElfLayout(elf_class, little, machine, e_type, (), (), file_size)
    segments = _read_segments(stream, partial, header["e_phoff"], header["e_phnum"],
                              header["e_phentsize"])
    sections = _read_sections(stream, partial, header["e_shoff"], header["e_shnum"],
                              header["e_shentsize"], header["e_shstrndx"])
    return ElfLayout(elf_class, little, machine, e_type, segments, sections, file_size)


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
    if phentsize < entsize or phnum > _MAX_PHDRS:
        raise BinaryError("cannot read ELF: bad program header size or count")
    table = _read_exact(stream, phoff, phnum * phentsize, layout.file_size, "program headers")
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
        first = _read_exact(stream, shoff, entsize, layout.file_size, "section header 0")
        shnum = struct.unpack(fmt, first)[5]
    if shnum * shentsize > layout.file_size - shoff:
        raise BinaryError("cannot read ELF: section headers lie outside the file")
    table = _read_exact(stream, shoff, shnum * shentsize, layout.file_size, "section headers")
    raw = [struct.unpack_from(fmt, table, i * shentsize) for i in range(shnum)]
    names = b""
    if 0 < shstrndx < shnum:
        strtab = raw[shstrndx]
        names = _read_at(stream, strtab[4], strtab[5], layout.file_size)
    return tuple(
        Section(_cstring(names, r[0]), r[1], r[4], r[5], r[3]) for r in raw
    )


def _cstring(table: bytes, index: int) -> str:
    if index >= len(table):
        return ""
    end = table.find(b"\0", index, index + _MAX_NAME)
    return table[index:end if end >= 0 else index + _MAX_NAME].decode("utf-8", "replace")


def _read_interpreter(stream: BinaryIO, layout: ElfLayout) -> str | None:
    seg = next((s for s in layout.segments if s.type == _PT_INTERP), None)
    if seg is None:
        return None
    data = _read_exact(stream, seg.offset, min(seg.filesz, _MAX_NAME), layout.file_size,
                       "PT_INTERP")
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


def has_go_buildinfo(stream: BinaryIO, layout: ElfLayout) -> bool:
    """True when a .go.buildinfo section or Go's build-info magic is where Go puts it."""
    if layout.section(".go.buildinfo") is not None:
        return True
    seg = layout.first_data_load()
    if seg is None:
        return False
    window = _read_at(stream, seg.offset, min(seg.filesz, GO_BUILDINFO_WINDOW), layout.file_size)
    return find_buildinfo_magic(window) >= 0


def find_buildinfo_magic(data: bytes) -> int:
    """The first 16-byte aligned offset of Go's build-info magic in ``data``, or -1."""
    start = data.find(GO_BUILDINFO_MAGIC)
    while start >= 0:
        if start % 16 == 0:
            return start
        start = data.find(GO_BUILDINFO_MAGIC, start + 1)
    return -1


@dataclass(frozen=True, slots=True)
class _Dynamic:
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    soname: str | None = None
    flags_1: int = 0
    version_needs: tuple[VersionNeed, ...] = ()
    version_defs: tuple[str, ...] = ()


class _DynamicReader:
    """Reads the dynamic segment and the version tables it points at."""

    def __init__(self, stream: BinaryIO, layout: ElfLayout) -> None:
        self.stream = stream
        self.layout = layout
        self.strtab = b""

    def read(self) -> _Dynamic:
        seg = next((s for s in self.layout.segments if s.type == _PT_DYNAMIC), None)
        if seg is None or seg.filesz == 0:
            return _Dynamic()
        tags = self._entries(seg)
        self.strtab = self._string_table(tags)
        by_tag = {t: v for t, v in reversed(tags)}  # the first of each tag wins
        return _Dynamic(
            needed=tuple(self._string(v) for t, v in tags if t == _DT_NEEDED),
            rpath=self._paths(tags, _DT_RPATH),
            runpath=self._paths(tags, _DT_RUNPATH),
            soname=self._string(by_tag[_DT_SONAME]) if _DT_SONAME in by_tag else None,
            flags_1=by_tag.get(_DT_FLAGS_1, 0),
            version_needs=self._version_needs(by_tag),
            version_defs=self._version_defs(by_tag),
        )

    def _entries(self, seg: Segment) -> list[tuple[int, int]]:
        fmt = self.layout.order + ("qQ" if self.layout.elf_class == 64 else "iI")
        size = struct.calcsize(fmt)
        count = min(seg.filesz // size, _MAX_DYN_ENTRIES)
        data = _read_at(self.stream, seg.offset, count * size, self.layout.file_size)
        entries = []
        for tag, value in struct.iter_unpack(fmt, data[: len(data) // size * size]):
            if tag == _DT_NULL:
                break
            entries.append((tag & 0xFFFFFFFFFFFFFFFF, value))
        return entries

    def _string_table(self, tags: list[tuple[int, int]]) -> bytes:
        addr = next((v for t, v in tags if t == _DT_STRTAB), None)
        size = next((v for t, v in tags if t == _DT_STRSZ), 0)
        if addr is None:
            return b""
        offset = self.layout.offset_of(addr)
        if offset is None:
            raise BinaryError("cannot read ELF: DT_STRTAB is outside every PT_LOAD")
        return _read_at(self.stream, offset, size, self.layout.file_size)

    def _string(self, index: int) -> str:
        if index >= len(self.strtab):
            raise BinaryError("cannot read ELF: a dynamic string lies outside DT_STRTAB")
        return _cstring(self.strtab, index)

    def _paths(self, tags: list[tuple[int, int]], tag: int) -> tuple[str, ...]:
        return tuple(
            part for t, v in tags if t == tag for part in self._string(v).split(":") if part
        )

    def _table(self, by_tag: dict[int, int], addr_tag: int, num_tag: int) -> tuple[int, int]:
        """File offset and entry count of a version table, (0, 0) when absent."""
        if addr_tag not in by_tag:
            return 0, 0
        offset = self.layout.offset_of(by_tag[addr_tag])
        if offset is None:
            raise BinaryError("cannot read ELF: a version table is outside every PT_LOAD")
        return offset, min(by_tag.get(num_tag, 0), _MAX_VERSION_ENTRIES)

    def _record(self, offset: int, fmt: str) -> tuple[int, ...]:
        fmt = self.layout.order + fmt
        data = _read_exact(self.stream, offset, struct.calcsize(fmt), self.layout.file_size,
                           "a version table entry")
        return struct.unpack(fmt, data)

    def _version_needs(self, by_tag: dict[int, int]) -> tuple[VersionNeed, ...]:
        offset, count = self._table(by_tag, _DT_VERNEED, _DT_VERNEEDNUM)
        needs = []
        for _ in range(count):
            _version, cnt, file, aux, nxt = self._record(offset, "HHIII")
            versions = []
            aux_offset = offset + aux
            for _ in range(min(cnt, _MAX_VERSION_ENTRIES)):
                _hash, _flags, _other, name, aux_next = self._record(aux_offset, "IHHII")
                versions.append(self._string(name))
                if aux_next == 0:
                    break
                aux_offset += aux_next
            needs.append(VersionNeed(self._string(file), tuple(versions)))
            if nxt == 0:
                break
            offset += nxt
        return tuple(needs)

    def _version_defs(self, by_tag: dict[int, int]) -> tuple[str, ...]:
        offset, count = self._table(by_tag, _DT_VERDEF, _DT_VERDEFNUM)
        names = []
        for _ in range(count):
            _version, flags, _ndx, cnt, _hash, aux, nxt = self._record(offset, "HHHHIII")
            if cnt and not flags & _VER_FLG_BASE:
                # The first Verdaux names the version; later ones name its parents.
                names.append(self._string(self._record(offset + aux, "II")[0]))
            if nxt == 0:
                break
            offset += nxt
        return tuple(names)
