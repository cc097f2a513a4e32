"""Reading an ELF file the way the kernel and the dynamic loader will.

Only what decides whether a program can start is read: the ELF header and the
program headers (:mod:`gorc.binary.elflayout`), the dynamic segment (PT_DYNAMIC) and the
version tables it points at (DT_VERNEED, DT_VERDEF). Those are found through the
dynamic segment's addresses translated by the PT_LOAD segments, so a binary whose
section headers were stripped reads the same as an intact one. Section headers
are read only for their names (``.symtab``, ``.go.buildinfo``).

Every size and count a damaged file declares is checked against the file size
before anything is read, and every error from the parser becomes a
:class:`~gorc.errors.BinaryError` with a one-line reason.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from gorc.binary.elflayout import (
    ELF_MAGIC,
    GO_BUILDINFO_MAGIC,
    GO_BUILDINFO_WINDOW,
    MAX_NAME,
    PT_DYNAMIC,
    PT_INTERP,
    ElfLayout,
    Section,
    Segment,
    cstring,
    find_buildinfo_magic,
    guarded,
    is_elf,
    read_at,
    read_exact,
    read_layout,
)
from gorc.binary.upx import UPX_WINDOW, looks_packed
from gorc.errors import BinaryError
from gorc.model import Linkage

__all__ = [
    "ELF_MAGIC", "GO_BUILDINFO_MAGIC", "GO_BUILDINFO_WINDOW", "ElfInfo", "ElfLayout", "ElfType",
    "Section", "Segment", "VersionNeed", "find_buildinfo_magic", "go_arch", "has_go_buildinfo",
    "is_elf", "read_elf", "read_layout",
]

log = logging.getLogger(__name__)

# ELF gABI constants (System V ABI, "Object Files", "Dynamic Section").
_ET_EXEC, _ET_DYN = 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ = 0, 1, 5, 10
_DT_SONAME, _DT_RPATH, _DT_RUNPATH = 14, 15, 29
_DT_FLAGS_1 = 0x6FFFFFFB
_DT_VERDEF, _DT_VERDEFNUM = 0x6FFFFFFC, 0x6FFFFFFD
_DT_VERNEED, _DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
_DF_1_PIE = 0x08000000
_VER_FLG_BASE = 1

#: Bounds against damaged files: no real binary comes near them.
_MAX_DYN_ENTRIES = 65536
_MAX_VERSION_ENTRIES = 65536


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
    """What an ELF file tells about how it is started and what it needs.

    ``machine`` is the raw e_machine and ``arch`` its GOARCH name (None when
    unknown). ``needed``, ``rpath`` and ``runpath`` come from the dynamic
    segment in file order (paths split on ``:``, ``$ORIGIN`` left as written);
    ``version_needs`` from DT_VERNEED (``.gnu.version_r``) and ``version_defs``
    from DT_VERDEF (``.gnu.version_d``) without the VER_FLG_BASE entry, which
    names the file itself. ``stripped`` means no ``.symtab``; ``upx`` that the
    file carries UPX's marks, so its real headers and build info are hidden.
    ``entry`` is e_entry: 0 in a plain shared library, set in one that can also
    be run (glibc's ld.so, musl's libc.so).
    """

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
    entry: int = 0

    @property
    def linkage(self) -> Linkage:
        """DYNAMIC when the loader is involved (an interpreter or needed libraries)."""
        return Linkage.DYNAMIC if self.interpreter or self.needed else Linkage.STATIC


def read_elf(stream: BinaryIO, layout: ElfLayout | None = None) -> ElfInfo:
    """Read what starting this ELF needs; raises BinaryError on a malformed file.

    ``layout`` may be passed when the caller already read it with :func:`read_layout`.
    """
    return guarded("ELF", lambda: _read_elf(stream, layout or read_layout(stream)))


def _read_elf(stream: BinaryIO, layout: ElfLayout) -> ElfInfo:
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
        upx=looks_packed(read_at(stream, 0, UPX_WINDOW, layout.file_size)),
        has_go_buildinfo=has_go_buildinfo(stream, layout),
        entry=layout.entry,
    )


def _elf_type(e_type: int, has_interp: bool, flags_1: int) -> ElfType:
    if e_type == _ET_EXEC:
        return ElfType.EXEC
    if e_type != _ET_DYN:
        return ElfType.OTHER
    if has_interp:
        return ElfType.PIE
    return ElfType.STATIC_PIE if flags_1 & _DF_1_PIE else ElfType.SHARED


# Go's GOARCH names (also the OCI platform names) by (e_machine, class, little
# endian); None in the class or order slot means "any". Combinations with no
# GOARCH (x32, 31-bit s390, 32-bit RISC-V) stay unknown rather than guessed.
_ARCHES: dict[int, tuple[tuple[int | None, bool | None, str], ...]] = {
    3: ((32, None, "386"),),
    62: ((64, None, "amd64"),),
    40: ((32, None, "arm"),),
    183: ((64, None, "arm64"),),
    21: ((64, True, "ppc64le"), (64, False, "ppc64")),
    22: ((64, None, "s390x"),),
    243: ((64, None, "riscv64"),),
    8: ((64, True, "mips64le"), (64, False, "mips64"), (32, True, "mipsle"), (32, False, "mips")),
    258: ((64, None, "loong64"),),
    43: ((64, None, "sparc64"),),
}


def go_arch(machine: int, elf_class: int, little_endian: bool) -> str | None:
    """The GOARCH name of an ELF machine, or None when gorc does not know it."""
    for want_class, want_little, name in _ARCHES.get(machine, ()):
        if want_class not in (None, elf_class) or want_little not in (None, little_endian):
            continue
        return name
    return None


def _read_interpreter(stream: BinaryIO, layout: ElfLayout) -> str | None:
    seg = next((s for s in layout.segments if s.type == PT_INTERP), None)
    if seg is None:
        return None
    data = read_exact(stream, seg.offset, min(seg.filesz, MAX_NAME), layout.file_size,
                       "PT_INTERP")
    if seg.filesz and (seg.filesz > MAX_NAME or not data.endswith(b"\0")):
        # load_elf_binary (fs/binfmt_elf.c) takes the name only NUL-terminated and
        # within PATH_MAX; anything else is ENOEXEC, whatever the loader's path.
        raise BinaryError("cannot read ELF: PT_INTERP is not a NUL-terminated path of at most "
                          f"{MAX_NAME} bytes: the kernel refuses it ('exec format error')")
    name = data.split(b"\0", 1)[0].decode("utf-8", "replace")
    # An empty PT_INTERP (separate debug files keep the header, not the bytes)
    # names no loader; readelf shows none either.
    return name or None


def has_go_buildinfo(stream: BinaryIO, layout: ElfLayout) -> bool:
    """True when a .go.buildinfo section or Go's build-info magic is where Go puts it."""
    if layout.section(".go.buildinfo") is not None:
        return True
    seg = layout.first_data_load()
    if seg is None:
        return False
    window = read_at(stream, seg.offset, min(seg.filesz, GO_BUILDINFO_WINDOW), layout.file_size)
    return find_buildinfo_magic(window) >= 0


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
        seg = next((s for s in self.layout.segments if s.type == PT_DYNAMIC), None)
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
        data = read_at(self.stream, seg.offset, count * size, self.layout.file_size)
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
        return read_at(self.stream, offset, size, self.layout.file_size)

    def _string(self, index: int) -> str:
        if index >= len(self.strtab):
            raise BinaryError("cannot read ELF: a dynamic string lies outside DT_STRTAB")
        return cstring(self.strtab, index)

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
        data = read_exact(self.stream, offset, struct.calcsize(fmt), self.layout.file_size,
                           "a version table entry")
        return struct.unpack(fmt, data)

    def _version_needs(self, by_tag: dict[int, int]) -> tuple[VersionNeed, ...]:
        offset, count = self._table(by_tag, _DT_VERNEED, _DT_VERNEEDNUM)
        needs = []
        # One budget for the Vernaux entries of all Verneeds: per-list bounds alone
        # would let a damaged file chain 65536 x 65536 overlapping records.
        budget = _MAX_VERSION_ENTRIES
        for _ in range(count):
            _version, cnt, file, aux, nxt = self._record(offset, "HHIII")
            versions = []
            aux_offset = offset + aux
            for _ in range(cnt):
                budget -= 1
                if budget < 0:
                    raise BinaryError("cannot read ELF: more than "
                                      f"{_MAX_VERSION_ENTRIES} needed symbol versions")
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
