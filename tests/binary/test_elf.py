"""read_elf against readelf on real binaries, plus damaged and crafted files."""

from __future__ import annotations

import glob
import io
import struct
from pathlib import Path

import pytest

from gorc.binary.elf import ElfInfo, ElfType, go_arch, is_elf, read_elf, read_layout
from gorc.binary.upx import looks_packed
from gorc.errors import BinaryError
from gorc.model import Linkage
from tests.binary import craft
from tests.binary.truth import ReadelfFacts, c_static_pie, go_pie, hello_for, readelf
from tests.support.probes import PROBES_DIR, ProbeBuilder

PROBE_NAMES = sorted(p.parent.name for p in PROBES_DIR.glob("*/main.go"))
PROBE_BUILDS = [
    *(("hello", v) for v in ("trimpath", "stripped", "arm64")),
    *((name, "static") for name in PROBE_NAMES if name != "cgo"),
    ("cgo", "cgo-glibc"), ("cgo", "cgo-musl"),
]
# Each word size and byte order at least once; a cold build costs ~10 s per arch.
CROSS = ["386", "arm", "ppc64", "ppc64le", "s390x", "mips", "mipsle", "riscv64"]
CROSS_PIE = ["arm64"]  # Go links it as PIE internally, without cgo
SYSTEM = [
    "/usr/bin/skopeo", "/usr/sbin/dockerd", "/usr/bin/docker-registry", "/usr/bin/containerd",
    "/bin/ls", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
    "/usr/bin/go", "/usr/bin/readelf",
    # 32-bit shared objects with dynamic sections, and Go's own ELF test files
    # (old gcc executables and relocatable objects for many machines).
    *sorted(glob.glob("/usr/libexec/valgrind/vgpreload_*-x86-linux.so"))[:2],
    *sorted(glob.glob("/usr/lib/go-1.*/src/debug/elf/testdata/gcc-*-exec")),
    *sorted(glob.glob("/usr/lib/go-1.*/src/debug/elf/testdata/go-relocation-test-*")),
]


def _read(path: Path) -> ElfInfo:
    with open(path, "rb") as stream:
        return read_elf(stream)


def _expected_type(facts: ReadelfFacts) -> ElfType:
    if facts.elf_type == "EXEC":
        return ElfType.EXEC
    if facts.elf_type != "DYN":
        return ElfType.OTHER
    if facts.interpreter:
        return ElfType.PIE
    return ElfType.STATIC_PIE if "PIE" in facts.flags_1.split() else ElfType.SHARED


def assert_matches_readelf(path: Path) -> ElfInfo:
    """Compare every field readelf also shows; return gorc's answer."""
    info, facts = _read(path), readelf(path)
    assert info.elf_class == facts.elf_class
    assert info.little_endian == facts.little_endian
    if facts.machine is not None:
        assert info.machine == facts.machine
    assert info.elf_type == _expected_type(facts)
    assert info.interpreter == facts.interpreter
    assert list(info.needed) == facts.needed
    assert list(info.rpath) == facts.rpath
    assert list(info.runpath) == facts.runpath
    assert info.soname == facts.soname
    assert [(n.file, list(n.versions)) for n in info.version_needs] == facts.version_needs
    assert list(info.version_defs) == facts.version_defs
    assert info.linkage == (Linkage.DYNAMIC if facts.interpreter or facts.needed
                            else Linkage.STATIC)
    return info


@pytest.mark.go
@pytest.mark.parametrize(("name", "variant"), PROBE_BUILDS)
def test_probe_matches_readelf(probes: ProbeBuilder, name: str, variant: str) -> None:
    info = assert_matches_readelf(probes.build(name, variant))
    assert info.has_go_buildinfo
    assert not info.upx
    assert info.arch == ("arm64" if variant == "arm64" else "amd64")
    assert info.stripped == (variant == "stripped")
    if variant.startswith("cgo"):
        assert info.linkage is Linkage.DYNAMIC
        assert info.interpreter is not None
    else:
        assert info.linkage is Linkage.STATIC
        assert info.elf_type is ElfType.EXEC


@pytest.mark.go
def test_musl_interpreter(probes: ProbeBuilder) -> None:
    assert _read(probes.build("cgo", "cgo-musl")).interpreter == "/lib/ld-musl-x86_64.so.1"


@pytest.mark.go
@pytest.mark.slow
@pytest.mark.parametrize("goarch", CROSS)
def test_cross_arch_matches_readelf(goarch: str) -> None:
    info = assert_matches_readelf(hello_for(goarch))
    assert info.arch == goarch
    assert info.has_go_buildinfo


@pytest.mark.go
@pytest.mark.slow
@pytest.mark.parametrize("goarch", CROSS_PIE)
def test_cross_pie_matches_readelf(goarch: str) -> None:
    info = assert_matches_readelf(hello_for(goarch, flags=("-buildmode=pie",)))
    assert info.elf_type is ElfType.PIE
    assert info.interpreter is not None


@pytest.mark.parametrize("path", SYSTEM)
def test_system_binary_matches_readelf(path: str) -> None:
    if not Path(path).is_file():
        pytest.skip(f"{path} is not on this machine")
    assert_matches_readelf(Path(path))


def test_libc_defines_glibc_versions() -> None:
    libc = Path("/lib/x86_64-linux-gnu/libc.so.6")
    if not libc.is_file():
        pytest.skip("no glibc on this machine")
    info = _read(libc)
    assert info.soname == "libc.so.6"
    assert "GLIBC_2.2.5" in info.version_defs
    assert "libc.so.6" not in info.version_defs  # the VER_FLG_BASE entry is left out


def strip_section_headers(data: bytes) -> bytes:
    """A copy with e_shoff, e_shnum and e_shstrndx zeroed (what sstrip leaves)."""
    out = bytearray(data)
    order = "<" if out[5] == 1 else ">"
    if out[4] == 2:
        struct.pack_into(order + "Q", out, 0x28, 0)
        struct.pack_into(order + "HH", out, 0x3C, 0, 0)
    else:
        struct.pack_into(order + "I", out, 0x20, 0)
        struct.pack_into(order + "HH", out, 0x30, 0, 0)
    return bytes(out)


@pytest.mark.go
@pytest.mark.parametrize(("name", "variant"), [("cgo", "cgo-glibc"), ("hello", "static"),
                                               ("hello", "stripped")])
def test_stripped_section_headers_read_the_same(probes: ProbeBuilder, name: str,
                                                variant: str) -> None:
    data = probes.build(name, variant).read_bytes()
    whole = read_elf(io.BytesIO(data))
    bare = read_elf(io.BytesIO(strip_section_headers(data)))
    assert bare.stripped
    assert bare.has_go_buildinfo
    for field in ("interpreter", "needed", "version_needs", "elf_type", "arch", "machine"):
        assert getattr(bare, field) == getattr(whole, field)


def test_cross_32bit_big_endian_without_section_headers() -> None:
    data = strip_section_headers(hello_for("mips").read_bytes())
    info = read_elf(io.BytesIO(data))
    assert (info.elf_class, info.little_endian, info.arch) == (32, False, "mips")
    assert info.has_go_buildinfo


@pytest.mark.parametrize(("machine", "elf_class", "little", "arch"), [
    (62, 64, True, "amd64"), (183, 64, True, "arm64"), (3, 32, True, "386"),
    (40, 32, True, "arm"), (21, 64, True, "ppc64le"), (21, 64, False, "ppc64"),
    (22, 64, False, "s390x"), (243, 64, True, "riscv64"), (8, 32, False, "mips"),
    (8, 32, True, "mipsle"), (8, 64, False, "mips64"), (8, 64, True, "mips64le"),
    (258, 64, True, "loong64"), (0x1234, 64, True, None), (62, 32, True, None),
    (22, 32, False, None),
])
def test_go_arch_names(machine: int, elf_class: int, little: bool, arch: str | None) -> None:
    assert go_arch(machine, elf_class, little) == arch


def test_is_elf() -> None:
    assert is_elf(b"\x7fELF\x02\x01")
    assert not is_elf(b"#!/bin/sh\n")
    assert not is_elf(b"")


@pytest.mark.parametrize("data", [
    b"", b"\x7fEL", b"#!/bin/sh\necho hi\n", b"\x7fELF", b"\x7fELF\x02\x01\x01" + bytes(20),
    b"\x7fELF\x03\x01\x01" + bytes(60),
])
def test_not_elf_or_truncated_header(data: bytes) -> None:
    with pytest.raises(BinaryError, match="cannot read ELF"):
        read_elf(io.BytesIO(data))


def _crafted() -> bytearray:
    return bytearray(craft.go_elf_inline("go1.21.0", "path\tx\n"))


def test_program_headers_past_the_end() -> None:
    data = _crafted()
    struct.pack_into("<Q", data, 0x20, len(data) - 8)  # e_phoff near the end
    with pytest.raises(BinaryError, match="program headers"):
        read_elf(io.BytesIO(bytes(data)))


def test_huge_section_header_count_is_refused_before_reading() -> None:
    data = _crafted()
    struct.pack_into("<H", data, 0x3C, 0xFFFF)  # e_shnum
    with pytest.raises(BinaryError, match="section headers"):
        read_elf(io.BytesIO(bytes(data)))


def test_huge_segment_size_is_not_read_into_memory() -> None:
    data = _crafted()
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    second = phoff + 56
    struct.pack_into("<Q", data, second + 32, 10 * 1024**3)  # p_filesz of the data load
    info = read_elf(io.BytesIO(bytes(data)))
    assert info.has_go_buildinfo


def _dynamic_entry_offset(data: bytes, tag: int) -> int:
    layout = read_layout(io.BytesIO(data))
    dynamic = next(s for s in layout.segments if s.type == 2)
    for at in range(dynamic.offset, dynamic.offset + dynamic.filesz, 16):
        if struct.unpack_from("<q", data, at)[0] == tag:
            return at
    raise AssertionError(f"no dynamic tag {tag}")


@pytest.mark.go
def test_huge_string_table_size_is_bounded(probes: ProbeBuilder) -> None:
    data = bytearray(probes.build("cgo", "cgo-glibc").read_bytes())
    at = _dynamic_entry_offset(bytes(data), 10)  # DT_STRSZ
    struct.pack_into("<Q", data, at + 8, 1 << 62)
    assert read_elf(io.BytesIO(bytes(data))).needed == ("libc.so.6",)


@pytest.mark.go
def test_string_table_outside_the_file(probes: ProbeBuilder) -> None:
    data = bytearray(probes.build("cgo", "cgo-glibc").read_bytes())
    at = _dynamic_entry_offset(bytes(data), 5)  # DT_STRTAB
    struct.pack_into("<Q", data, at + 8, 0x7FFF_0000_0000)
    with pytest.raises(BinaryError, match="DT_STRTAB"):
        read_elf(io.BytesIO(bytes(data)))


def test_upx_marks() -> None:
    data = _crafted()
    assert not read_elf(io.BytesIO(bytes(data))).upx
    packed = bytearray(data)
    packed[0x100:0x104] = b"UPX!"
    assert read_elf(io.BytesIO(bytes(packed))).upx
    assert looks_packed(b"\0" * 200 + b"$Info: This file is packed with the UPX executable")
    assert not looks_packed(b"\0" * 5000 + b"UPX!")  # beyond the window UPX writes in


def test_crafted_without_dynamic_is_static() -> None:
    info = read_elf(io.BytesIO(bytes(_crafted())))
    assert info.linkage is Linkage.STATIC
    assert info.elf_type is ElfType.EXEC
    assert info.stripped  # no .symtab
    assert (info.needed, info.version_needs, info.version_defs) == ((), (), ())


def test_static_pie_from_gcc() -> None:
    info = assert_matches_readelf(c_static_pie())
    assert info.elf_type is ElfType.STATIC_PIE
    assert info.linkage is Linkage.STATIC
    assert not info.has_go_buildinfo


@pytest.mark.go
def test_go_pie() -> None:
    info = assert_matches_readelf(go_pie())
    assert info.elf_type is ElfType.PIE
    assert info.interpreter == "/lib64/ld-linux-x86-64.so.2"


class _Trickle(io.RawIOBase):
    """A raw stream that returns at most 7 bytes per read, as raw streams may."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._data.seek(offset, whence)

    def tell(self) -> int:
        return self._data.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 7))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.go
def test_short_reads(probes: ProbeBuilder) -> None:
    from gorc.binary.buildinfo import read_buildinfo

    data = probes.build("cgo", "cgo-glibc").read_bytes()
    assert read_elf(_Trickle(data)) == read_elf(io.BytesIO(data))  # type: ignore[arg-type]
    assert read_buildinfo(_Trickle(data)) == read_buildinfo(io.BytesIO(data))  # type: ignore[arg-type]


def _verneed_chain(needs: int, aux_entries: int) -> bytes:
    """An ELF whose ``needs`` Verneed entries all point at one chain of Vernaux entries."""
    vaddr = craft.layout_addresses(craft.ElfSpec(loads=[craft.Load(b""), craft.Load(b"")]))[1]
    strtab, verneed = 80, 96
    aux = verneed + 16 * needs
    dynamic = struct.pack("<10q", 5, vaddr + strtab, 10, 16, 0x6FFFFFFE, vaddr + verneed,
                          0x6FFFFFFF, needs, 0, 0)
    data = bytearray(dynamic + b"\0libc.so.6".ljust(16, b"\0"))
    for i in range(needs):
        data += struct.pack("<HHIII", 1, 0xFFFF, 1, aux - (verneed + 16 * i),
                            16 if i < needs - 1 else 0)
    data += struct.pack("<IHHII", 0, 0, 0, 0, 16) * (aux_entries - 1)
    data += struct.pack("<IHHII", 0, 0, 0, 0, 0)
    spec = craft.ElfSpec(loads=[craft.Load(b"\0" * 16), craft.Load(bytes(data))],
                         with_sections=False)
    elf = bytearray(craft.build_elf(spec))
    # program header 0 becomes the PT_DYNAMIC over the dynamic array of load 1
    struct.pack_into("<IIQQQQQQ", elf, 64, craft.PT_DYNAMIC, craft.PF_R, vaddr - craft.BASE,
                     vaddr, vaddr, len(dynamic), len(dynamic), 8)
    return bytes(elf)


def test_version_needs_share_one_bound() -> None:
    # every Verneed walks the same long Vernaux chain: bounded in total, not per list
    assert len(read_elf(io.BytesIO(_verneed_chain(1, 1000))).version_needs[0].versions) == 1000
    with pytest.raises(BinaryError, match="needed symbol versions"):
        read_elf(io.BytesIO(_verneed_chain(8, 40000)))
