"""A tiny ELF writer for tests: just enough structure for gorc's readers.

It lays out PT_LOAD segments (each a blob at a chosen virtual address), an
optional PT_INTERP and PT_DYNAMIC, and optional section headers naming some of
the segments. Go's pre-1.18 build-info format (pointers to string headers) can
only be produced this way, since the local Go 1.19 writes the inline format.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

PF_X, PF_W, PF_R = 1, 2, 4
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
MAGIC = b"\xff Go buildinf:"
BASE = 0x400000
PAGE = 0x1000


@dataclass
class Load:
    """One PT_LOAD: its bytes, flags and (optional) section name."""

    data: bytes
    flags: int = PF_R
    section: str | None = None
    vaddr: int = 0  # filled in by the builder


@dataclass
class ElfSpec:
    """What to write; offsets and addresses are computed by :func:`build_elf`."""

    elf_class: int = 64
    little: bool = True
    machine: int = 62
    e_type: int = 2
    loads: list[Load] = field(default_factory=list)
    interp: str | None = None
    with_sections: bool = True


def _order(little: bool) -> str:
    return "<" if little else ">"


def layout_addresses(spec: ElfSpec) -> list[int]:
    """The virtual address each load will get (page i+1 above BASE, file offset = page)."""
    return [BASE + (i + 1) * PAGE * 16 for i in range(len(spec.loads))]


def build_elf(spec: ElfSpec) -> bytes:
    """Serialize ``spec``: header, program headers, segments each at a 64 KiB page."""
    is64 = spec.elf_class == 64
    o = _order(spec.little)
    ehsize, phentsize, shentsize = (64, 56, 64) if is64 else (52, 32, 40)
    interp_bytes = spec.interp.encode() + b"\0" if spec.interp else b""
    nph = len(spec.loads) + (1 if interp_bytes else 0)
    body = bytearray(b"\0" * (ehsize + nph * phentsize))
    interp_off = len(body)
    body += interp_bytes
    phdrs = []
    if interp_bytes:
        phdrs.append((PT_INTERP, PF_R, interp_off, interp_off, len(interp_bytes)))
    offsets = []
    for load, vaddr in zip(spec.loads, layout_addresses(spec), strict=True):
        offset = vaddr - BASE
        body += b"\0" * (offset - len(body))
        body += load.data
        load.vaddr = vaddr
        offsets.append(offset)
        phdrs.append((PT_LOAD, load.flags, offset, vaddr, len(load.data)))
    shoff, shnum, shstrndx = 0, 0, 0
    if spec.with_sections:
        shoff, shnum, shstrndx = _append_sections(body, spec, offsets, o, is64)
    for i, (p_type, flags, offset, vaddr, size) in enumerate(phdrs):
        at = ehsize + i * phentsize
        if is64:
            struct.pack_into(o + "IIQQQQQQ", body, at, p_type, flags, offset, vaddr, vaddr,
                             size, size, PAGE)
        else:
            struct.pack_into(o + "IIIIIIII", body, at, p_type, offset, vaddr, vaddr, size, size,
                             flags, PAGE)
    ident = b"\x7fELF" + bytes([1 if not is64 else 2, 1 if spec.little else 2, 1, 0]) + bytes(8)
    word = "Q" if is64 else "I"
    header = ident + struct.pack(o + "HHI" + word * 3 + "IHHHHHH", spec.e_type, spec.machine,
                                 1, 0, ehsize if nph else 0, shoff, 0, ehsize, phentsize, nph,
                                 shentsize, shnum, shstrndx)
    body[: len(header)] = header
    return bytes(body)


def _append_sections(body: bytearray, spec: ElfSpec, offsets: list[int], o: str,
                     is64: bool) -> tuple[int, int, int]:
    names = bytearray(b"\0.shstrtab\0")
    entries = [(0, 0, 0, 0, 0)]  # name, type, addr, offset, size
    for load, offset in zip(spec.loads, offsets, strict=True):
        if load.section:
            entries.append((len(names), 1, load.vaddr, offset, len(load.data)))
            names += load.section.encode() + b"\0"
    strtab_off = len(body)
    body += names
    entries.append((1, 3, 0, strtab_off, len(names)))
    body += b"\0" * (-len(body) % 8)
    shoff = len(body)
    for name, sh_type, addr, offset, size in entries:
        if is64:
            body += struct.pack(o + "IIQQQQIIQQ", name, sh_type, 0, addr, offset, size, 0, 0,
                                1, 0)
        else:
            body += struct.pack(o + "IIIIIIIIII", name, sh_type, 0, addr, offset, size, 0, 0,
                                1, 0)
    return shoff, len(entries), len(entries) - 1


def uvarint(value: int) -> bytes:
    """encoding/binary.PutUvarint."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def frame(modinfo: str) -> bytes:
    """Wrap module info in runtime/debug's two 16-byte sentinels."""
    return b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6" + modinfo.encode() + (
        b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2"
    )


def inline_buildinfo(version: str, modinfo: str, ptr_size: int = 8) -> bytes:
    """A Go 1.18+ build-info blob (inline strings)."""
    mod = frame(modinfo) if modinfo else b""
    header = MAGIC + bytes([ptr_size, 2]) + bytes(16)
    return header + uvarint(len(version)) + version.encode() + uvarint(len(mod)) + mod


def go_elf_inline(version: str, modinfo: str, with_sections: bool = True) -> bytes:
    """A 64-bit little-endian ELF holding an inline build-info blob."""
    spec = ElfSpec(with_sections=with_sections, loads=[
        Load(b"\x90" * 64, PF_R | PF_X, ".text"),
        Load(inline_buildinfo(version, modinfo), PF_R | PF_W, ".go.buildinfo"),
    ])
    return build_elf(spec)


def go_elf_pointers(version: str, modinfo: str, elf_class: int, little: bool,
                    machine: int, with_sections: bool = True) -> bytes:
    """An ELF holding a pre-1.18 build-info blob: pointers to Go string headers.

    The strings and their headers live in a read-only PT_LOAD, the blob in the
    first writable one, as Go's linker placed them.
    """
    ptr = 8 if elf_class == 64 else 4
    pair = _order(little) + ("QQ" if ptr == 8 else "II")
    spec = ElfSpec(elf_class=elf_class, little=little, machine=machine,
                   with_sections=with_sections)
    rodata_addr = layout_addresses(ElfSpec(loads=[Load(b""), Load(b"")]))[0]
    mod = frame(modinfo) if modinfo else b""
    strings = version.encode() + mod
    headers_at = rodata_addr + len(strings) + (-len(strings) % 8)
    rodata = bytearray(strings + b"\0" * (-len(strings) % 8))
    rodata += struct.pack(pair, rodata_addr, len(version))
    rodata += struct.pack(pair, rodata_addr + len(version), len(mod))
    blob = MAGIC + bytes([ptr, 0 if little else 1])
    blob += struct.pack(pair, headers_at, headers_at + 2 * ptr)
    blob += bytes(32 - len(blob))
    spec.loads = [Load(bytes(rodata), PF_R, ".rodata"), Load(blob, PF_R | PF_W, ".go.buildinfo")]
    return build_elf(spec)
