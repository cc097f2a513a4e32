"""Make real binaries that need a symbol version the image's library lacks.

Debian 12 ships glibc 2.36 and nothing newer, so a binary that asks for a
newer ``GLIBC_`` version is made by editing a real one: one version-need name in
``.dynstr`` is rewritten in place (same length, so no offset moves) and the
Vernaux entry's ``vna_hash`` is set to the ELF hash of the new name, exactly as
a linker against a newer glibc would have written it (System V gABI, "Symbol
Versioning": Elfxx_Vernaux). The real loader then refuses the result with
"version `GLIBC_2.99' not found".
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest
from elftools.elf.elffile import ELFFile

from tests.support import MissingToolError, cache_dir, hash_inputs, in_ci, locked

_C_PROGRAM = b'#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


def elf_hash(name: bytes) -> int:
    """The System V ELF hash of a name (gABI, "Hash Table")."""
    value = 0
    for byte in name:
        value = ((value << 4) + byte) & 0xFFFFFFFF
        high = value & 0xF0000000
        if high:
            value ^= high >> 24
        value &= ~high & 0xFFFFFFFF
    return value


def version_needs(path: Path) -> list[tuple[str, str, int, int]]:
    """Every (file, version, vna_hash offset, name offset in the file) of ``.gnu.version_r``."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        verneed = elf.get_section_by_name(".gnu.version_r")
        dynstr = elf.get_section_by_name(".dynstr")
        if verneed is None or dynstr is None:
            return []
        endian = "<" if elf.little_endian else ">"
        data = verneed.data()
        strtab_offset = dynstr["sh_offset"]
        strings = dynstr.data()
        base = verneed["sh_offset"]
        count = verneed["sh_info"]
    return _walk_verneed(data, strings, endian, base, strtab_offset, count)


def _cstr(strings: bytes, offset: int) -> str:
    return strings[offset : strings.index(b"\x00", offset)].decode()


def _walk_verneed(
    data: bytes, strings: bytes, endian: str, base: int, strtab: int, count: int
) -> list[tuple[str, str, int, int]]:
    out = []
    need = 0
    for _ in range(count):
        _ver, cnt, file_off, aux, nxt = struct.unpack_from(endian + "HHIII", data, need)
        entry = need + aux
        for _ in range(cnt):
            _hash, _flags, _other, name, aux_next = struct.unpack_from(
                endian + "IHHII", data, entry
            )
            out.append(
                (_cstr(strings, file_off), _cstr(strings, name), base + entry, strtab + name)
            )
            entry += aux_next
        need += nxt
    return out


def rewrite_version(source: Path, target: Path, old: str, new: str) -> Path:
    """Copy ``source`` to ``target`` with the version need ``old`` renamed to ``new``.

    Both names must have the same length. Raises ValueError when ``old`` is not
    among the binary's version needs.
    """
    if len(old) != len(new):
        raise ValueError(f"{old} and {new} differ in length")
    entries = [e for e in version_needs(source) if e[1] == old]
    if not entries:
        raise ValueError(f"{source} needs no version {old}")
    data = bytearray(source.read_bytes())
    endian = "<" if data[5] == 1 else ">"
    for _file, _version, hash_at, name_at in entries:
        struct.pack_into(endian + "I", data, hash_at, elf_hash(new.encode()))
        data[name_at : name_at + len(old)] = new.encode()
    target.write_bytes(bytes(data))
    target.chmod(0o755)
    return target


def newer_glibc_binary(version: str = "GLIBC_2.99") -> Path:
    """A tiny C program built with gcc whose GLIBC_2.34 need is renamed to ``version``.

    Cached under :func:`cache_dir`. GLIBC_2.34 is what ``__libc_start_main``
    needs in every binary linked against glibc 2.34 or newer.
    """
    gcc = shutil.which("gcc")
    if gcc is None:
        raise MissingToolError("gcc is not installed (apt-get install gcc)")
    key = hash_inputs([_C_PROGRAM, version, "elfpatch-1"])
    out_dir = cache_dir() / "elfpatch" / key
    target = out_dir / "newer-glibc"
    with locked(f"elfpatch-{key}"):
        if target.exists():
            return target
        out_dir.mkdir(parents=True, exist_ok=True)
        source = out_dir / "hello.c"
        source.write_bytes(_C_PROGRAM)
        plain = out_dir / "hello"
        subprocess.run([gcc, "-O2", "-o", str(plain), str(source)], check=True, capture_output=True)
        tmp = rewrite_version(plain, out_dir / "newer-glibc.tmp", "GLIBC_2.34", version)
        tmp.rename(target)
    return target


# Small C libraries and programs for the loader tests: libfoo in two versions
# (FOO_1.0 only, and FOO_1.0 + FOO_2.0), libbar needing libfoo, and programs
# that find libbar through DT_RPATH, DT_RUNPATH or nothing at all.
_C_SOURCES = {
    "foo.c": "int foo(void) { return 1; }\nint foo2(void) { return 2; }\n",
    "v1.map": "FOO_1.0 { global: foo; local: *; };\n",
    "v2.map": "FOO_1.0 { global: foo; local: *; };\nFOO_2.0 { global: foo2; } FOO_1.0;\n",
    "bar.c": "int foo(void);\nint bar(void) { return foo(); }\n",
    "app_bar.c": "int bar(void);\nint main(void) { return bar() - 1; }\n",
    "app_foo2.c": "int foo2(void);\nint main(void) { return foo2() - 2; }\n",
    "app_gnu.c": "#include <gnu/libc-version.h>\n#include <stdio.h>\n"
                 "int main(void) { puts(gnu_get_libc_version()); return 0; }\n",
}
C_OBJECTS = (
    "libfoo-v1.so",
    "libfoo-v2.so",
    "libbar.so",
    "app-rpath",
    "app-runpath",
    "app-plain",
    "app-foo2",
    "musl-libbar.so",
    "musl-libfoo.so",
    "musl-app-rpath",
    "app-glibc-only",
)


def _cc(compiler: str, out: Path, *args: str) -> None:
    done = subprocess.run(
        [compiler, "-o", str(out), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{compiler} failed for {out.name}: {done.stderr.strip()}")


def _build_glibc_objects(d: Path, gcc: str) -> None:
    link = d / "link"
    link.mkdir()
    for version in ("v1", "v2"):
        _cc(
            gcc,
            d / f"libfoo-{version}.so",
            "-shared",
            "-fPIC",
            "-Wl,-soname,libfoo.so.1",
            f"-Wl,--version-script={d / (version + '.map')}",
            str(d / "foo.c"),
        )
    shutil.copy(d / "libfoo-v2.so", link / "libfoo.so.1")
    _cc(
        gcc,
        d / "libbar.so",
        "-shared",
        "-fPIC",
        "-Wl,-soname,libbar.so.1",
        str(d / "bar.c"),
        f"-L{link}",
        "-l:libfoo.so.1",
    )
    shutil.copy(d / "libbar.so", link / "libbar.so.1")
    common = [str(d / "app_bar.c"), f"-L{link}", "-l:libbar.so.1", f"-Wl,-rpath-link,{link}"]
    _cc(gcc, d / "app-rpath", *common, "-Wl,--disable-new-dtags,-rpath,$ORIGIN/../lib")
    _cc(gcc, d / "app-runpath", *common, "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib")
    _cc(gcc, d / "app-plain", *common)
    _cc(gcc, d / "app-foo2", str(d / "app_foo2.c"), f"-L{link}", "-l:libfoo.so.1")
    # gnu_get_libc_version exists only in glibc: musl's loader cannot bind it.
    _cc(gcc, d / "app-glibc-only", str(d / "app_gnu.c"))


def _build_musl_objects(d: Path, musl_gcc: str) -> None:
    link = d / "musl-link"
    link.mkdir()
    _cc(
        musl_gcc,
        d / "musl-libfoo.so",
        "-shared",
        "-fPIC",
        "-Wl,-soname,libfoo.so.1",
        str(d / "foo.c"),
    )
    shutil.copy(d / "musl-libfoo.so", link / "libfoo.so.1")
    _cc(
        musl_gcc,
        d / "musl-libbar.so",
        "-shared",
        "-fPIC",
        "-Wl,-soname,libbar.so.1",
        str(d / "bar.c"),
        f"-L{link}",
        "-l:libfoo.so.1",
    )
    shutil.copy(d / "musl-libbar.so", link / "libbar.so.1")
    _cc(
        musl_gcc,
        d / "musl-app-rpath",
        str(d / "app_bar.c"),
        f"-L{link}",
        "-l:libbar.so.1",
        f"-Wl,-rpath-link,{link}",
        "-Wl,-rpath,$ORIGIN/../lib",
    )


def c_objects() -> Path:
    """A cached directory holding :data:`C_OBJECTS`, built with gcc and musl-gcc."""
    gcc, musl_gcc = shutil.which("gcc"), shutil.which("musl-gcc")
    if gcc is None or musl_gcc is None:
        raise MissingToolError("gcc and musl-gcc are needed (apt-get install gcc musl-tools)")
    key = hash_inputs([*(f"{k}\n{v}" for k, v in sorted(_C_SOURCES.items())), "c-objects-1"])
    out = cache_dir() / "c-objects" / key
    with locked(f"c-objects-{key}"):
        if (out / "done").exists():
            return out
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for name, text in _C_SOURCES.items():
            (out / name).write_text(text)
        _build_glibc_objects(out, gcc)
        _build_musl_objects(out, musl_gcc)
        (out / "done").write_text("")
    return out


def skip_or_fail(reason: str) -> NoReturn:
    """Skip a test whose tool or host file is missing; in CI fail it, so CI cannot pass blind."""
    if in_ci():
        pytest.fail(f"test prerequisite missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)
