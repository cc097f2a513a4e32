"""Function names of Go binaries, read from the pclntab of real probes and of crafted files."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gorc.binary.gofuncs import GoFunctions, read_go_functions
from gorc.errors import BinaryError
from tests.binary.craft import PF_R, ElfSpec, Load, build_elf
from tests.support.probes import ProbeBuilder

_MAGIC_116, _MAGIC_118, _MAGIC_120 = 0xFFFFFFFA, 0xFFFFFFF0, 0xFFFFFFF1


def _read(data: bytes, wanted: tuple[str, ...] = ()) -> GoFunctions:
    return read_go_functions(io.BytesIO(data), wanted=wanted)


def _without_section_headers(data: bytes) -> bytes:
    """The ELF64 with e_shoff, e_shnum and e_shstrndx zeroed, as sstrip leaves it."""
    out = bytearray(data)
    struct.pack_into("<Q", out, 0x28, 0)
    struct.pack_into("<HH", out, 0x3C, 0, 0)
    return bytes(out)


def _pclntab(names: list[str], magic: int = _MAGIC_118, ptr: int = 8,
             little: bool = True) -> bytes:
    """A pclntab header and its funcnametab, the rest of the table left empty."""
    order = "<" if little else ">"
    words = 8 if magic != _MAGIC_116 else 7
    table = b"".join(n.encode() + b"\0" for n in names)
    name_off = 8 + words * ptr
    fields = [len(names), 1] + ([0x401000] if words == 8 else [])
    fields += [name_off, name_off + len(table), 0, 0, 0]
    head = struct.pack(order + "IBBBB", magic, 0, 0, 1, ptr)
    head += struct.pack(order + ("Q" if ptr == 8 else "I") * words, *fields)
    return head + table


def _crafted(names: list[str], magic: int = _MAGIC_118, elf_class: int = 64,
             little: bool = True, sections: bool = True) -> bytes:
    ptr = 8 if elf_class == 64 else 4
    pcln = _pclntab(names, magic, ptr, little)
    loads = [Load(b"\x90" * 64, flags=PF_R | 1), Load(b"rodata" + b"\0" * 58),
             Load(pcln, section=".gopclntab")]
    return build_elf(ElfSpec(elf_class=elf_class, little=little, loads=loads,
                             with_sections=sections))


NAMES = ["runtime.main", "main.main", "crypto/x509.loadSystemRoots", "os/exec.(*Cmd).Start"]


@pytest.mark.parametrize("magic", [_MAGIC_116, _MAGIC_118, _MAGIC_120])
@pytest.mark.parametrize(("elf_class", "little"), [(64, True), (32, True), (64, False)])
def test_crafted_name_table_is_read(magic: int, elf_class: int, little: bool) -> None:
    funcs = _read(_crafted(NAMES, magic, elf_class, little))

    assert funcs.names == frozenset(NAMES)
    assert funcs.complete
    assert funcs.first(["absent", "main.main"]) == "main.main"


@pytest.mark.parametrize("magic", [_MAGIC_116, _MAGIC_120])
def test_header_found_without_section_headers(magic: int) -> None:
    funcs = _read(_crafted(NAMES, magic, sections=False))

    assert funcs.names == frozenset(NAMES)
    assert funcs.complete


def test_go12_layout_falls_back_to_a_byte_search() -> None:
    data = _crafted(NAMES, magic=0xFFFFFFFB)

    funcs = _read(data, wanted=("main.main", "time.LoadLocation"))

    assert funcs.names == {"main.main"}
    assert not funcs.complete
    assert "Go 1.2-1.15" in (funcs.problem or "")


def test_no_pclntab_at_all_searches_names_as_whole_words() -> None:
    rodata = b"\0xos.StartProcess\0\0crypto/x509.loadSystemRoots\0"
    data = build_elf(ElfSpec(loads=[Load(rodata)], with_sections=False))

    funcs = _read(data, wanted=("os.StartProcess", "crypto/x509.loadSystemRoots"))

    assert funcs.names == {"crypto/x509.loadSystemRoots"}
    assert not funcs.complete
    assert "no pclntab found" in (funcs.problem or "")


def test_not_elf_is_a_binary_error() -> None:
    with pytest.raises(BinaryError, match="no ELF magic"):
        _read(b"#!/bin/sh\necho hi\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=127), st.binary(min_size=1, max_size=8))
def test_damaged_headers_give_names_or_binary_error(at: int, junk: bytes) -> None:
    data = bytearray(_crafted(NAMES, sections=False))
    start = data.index(struct.pack("<I", _MAGIC_118))
    data[start + at:start + at + len(junk)] = junk

    try:
        funcs = _read(bytes(data), wanted=("main.main",))
    except BinaryError:
        return
    assert funcs.complete or funcs.problem


def _probe_variants() -> list[str]:
    return ["static", "stripped", "cgo-glibc", "cgo-musl", "arm64", "trimpath"]


@pytest.mark.go
@pytest.mark.parametrize("variant", _probe_variants())
def test_probe_names_are_read(probes: ProbeBuilder, variant: str) -> None:
    binary = probes.build("tls", variant)
    with binary.open("rb") as stream:
        funcs = read_go_functions(stream)

    assert funcs.complete
    assert {"main.main", "runtime.main", "crypto/x509.loadSystemRoots"} <= funcs.names
    if variant == "stripped":  # -s -w drops .symtab and DWARF, never the pclntab
        assert funcs.names == _names_of(probes.build("tls", "static"))


@pytest.mark.go
@pytest.mark.parametrize("name", ["hello", "tls", "net", "exec"])
def test_probe_names_match_go_tool_nm(probes: ProbeBuilder, name: str) -> None:
    """Every text symbol nm lists is in the pclntab's names (the rest are inlined ones)."""
    static = probes.build(name, "static")

    # Local types' functions print "type..eq.T.1" in nm and "type..eq.T\u00b71" in the table.
    assert _nm_text_symbols(static) <= {n.replace("\u00b7", ".") for n in _names_of(static)}


@pytest.mark.go
def test_stripped_probe_without_section_headers(probes: ProbeBuilder, tmp_path: Path) -> None:
    binary = probes.build("exec", "stripped")
    data = _without_section_headers(binary.read_bytes())

    funcs = _read(data)

    assert funcs.complete
    assert funcs.names == _names_of(binary)
    assert "os/exec.(*Cmd).Start" in funcs.names


def _names_of(path: Path) -> frozenset[str]:
    with path.open("rb") as stream:
        return read_go_functions(stream).names


def _nm_text_symbols(path: Path) -> set[str]:
    go = shutil.which("go")
    if go is None:
        pytest.skip("go tool nm is not installed")
    out = subprocess.run([go, "tool", "nm", str(path)], capture_output=True, text=True,
                         check=True).stdout
    # nm prints "addr type name" (the name may hold spaces: "type..eq.struct { ... }").
    fields = [line.split(maxsplit=2) for line in out.splitlines()]
    names = {f[2].removesuffix(".abi0") for f in fields if len(f) == 3 and f[1] in ("T", "t")}
    # The pclntab elides type arguments and array lengths as "[...]" (Go 1.18+), and
    # runtime.text/etext are address markers, not functions.
    return {re.sub(r"\[[^\]]*\]", "[...]", n) for n in names
            if " " not in n and n not in ("runtime.text", "runtime.etext")}


_DEBIAN_PIE = ["/usr/sbin/dockerd", "/usr/bin/docker-registry", "/usr/bin/skopeo"]


@pytest.mark.parametrize("path", _DEBIAN_PIE)
@pytest.mark.parametrize("strip_sections", [False, True], ids=["sections", "no-sections"])
def test_debian_pie_keeps_pclntab_in_relro(path: str, strip_sections: bool) -> None:
    """Debian builds Go programs as PIE: the pclntab sits in .data.rel.ro (RW RELRO)."""
    binary = Path(path)
    if not binary.is_file():
        pytest.skip(f"{path} is not installed")
    data = binary.read_bytes()
    if strip_sections:
        data = _without_section_headers(data)

    funcs = _read(data)

    assert funcs.complete, funcs.problem
    assert "main.main" in funcs.names
    assert "crypto/x509.(*CertPool).AppendCertsFromPEM" in funcs.names
