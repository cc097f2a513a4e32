"""Dynamic symbols: what an object imports and what it exports.

Only needed where symbol *names* decide whether a program starts: a glibc
binary run by musl's loader (alpine's gcompat). musl ignores symbol versions
and binds every strong undefined symbol by name at start-up; one it cannot
find stops the program with "Error relocating ...: symbol not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from gorc.binary.elflayout import guarded
from gorc.errors import GorcError
from gorc.image.fs import FileSystem


@dataclass(frozen=True, slots=True)
class DynamicSymbols:
    """The names an object exports (defined) and the strong ones it imports."""

    defined: frozenset[str]
    undefined: frozenset[str]


def read_dynamic_symbols(stream: BinaryIO) -> DynamicSymbols | None:
    """The object's .dynsym names, or None when it has no section headers to find them.

    Weak undefined symbols are left out: the loader binds them to zero when
    nothing defines them (gABI, "Symbol Table": STB_WEAK).
    """
    return guarded("dynamic symbols", lambda: _read(stream))


def _read(stream: BinaryIO) -> DynamicSymbols | None:
    # elffile pulls in pyelftools' DWARF machinery (~13 ms): only the rare
    # glibc-binary-on-musl check needs it, so it is imported here.
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    elf = ELFFile(stream)
    table = elf.get_section_by_name(".dynsym")
    if not isinstance(table, SymbolTableSection):
        return None
    defined: set[str] = set()
    undefined: set[str] = set()
    for symbol in table.iter_symbols():
        name = symbol.name
        if not name:
            continue
        bind = symbol["st_info"]["bind"]
        if symbol["st_shndx"] == "SHN_UNDEF":
            if bind == "STB_GLOBAL":
                undefined.add(name)
        elif bind in ("STB_GLOBAL", "STB_WEAK", "STB_GNU_UNIQUE"):
            defined.add(name)
    return DynamicSymbols(frozenset(defined), frozenset(undefined))


def unresolved_symbols(fs: FileSystem, objects: tuple[str, ...]) -> tuple[str, ...] | None:
    """Strong imports of ``objects`` (paths in the image) that none of them exports.

    None when an object's symbols cannot be read (no section headers, damage):
    then gorc cannot tell, rather than guess.
    """
    tables = []
    for path in objects:
        try:
            with fs.open(path) as stream:
                table = read_dynamic_symbols(stream)
        except GorcError:
            return None
        if table is None:
            return None
        tables.append(table)
    defined = frozenset().union(*(t.defined for t in tables))
    missing = set().union(*(t.undefined for t in tables)) - defined
    return tuple(sorted(missing))
