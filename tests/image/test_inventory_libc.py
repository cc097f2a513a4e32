"""C libraries and dynamic loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorc.image.fs import MemoryFileSystem
from gorc.model import Libc, LibcFamily
from tests.image.inventory_kit import exe, inventory

GLIBC = b"\x7fELF...GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n"
MUSL = b"\x7fELF...\x00infinity\x00/proc/self/fd/\x001.2.4\x00musl libc (x86_64)\nVersion %s\n"
HOST_LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")


def _glibc(fs: MemoryFileSystem, data: bytes = GLIBC) -> None:
    exe(fs, "/usr/lib/x86_64-linux-gnu/libc.so.6", data)
    exe(fs, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    fs.add_symlink("/lib", "usr/lib")
    fs.add_symlink("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")


def _musl(fs: MemoryFileSystem, data: bytes = MUSL, lib: str = "/lib") -> None:
    exe(fs, "/usr/lib/x86_64-linux-musl/libc.so", data)
    fs.add_symlink(f"{lib}/ld-musl-x86_64.so.1", "/usr/lib/x86_64-linux-musl/libc.so")


def test_no_libc() -> None:
    inv = inventory(MemoryFileSystem())
    assert inv.libc == Libc() and inv.libcs == () and inv.loaders == ()


def test_glibc_from_its_banner_merged_usr() -> None:
    fs = MemoryFileSystem()
    _glibc(fs)
    inv = inventory(fs)
    assert inv.libc == Libc(LibcFamily.GLIBC, "2.36")
    assert inv.loaders == ("/lib64/ld-linux-x86-64.so.2",)


@pytest.mark.skipif(not HOST_LIBC.is_file(), reason="no host glibc to take version defs from")
def test_glibc_from_version_definitions_without_banner() -> None:
    data = HOST_LIBC.read_bytes().replace(b"GNU C Library", b"XNU C Library")
    fs = MemoryFileSystem()
    _glibc(fs, data)
    libc = inventory(fs).libc
    assert libc.family is LibcFamily.GLIBC
    assert libc.version is not None and libc.version.startswith("2.")


def test_glibc_version_unreadable_is_an_unknown() -> None:
    fs = MemoryFileSystem()
    _glibc(fs, b"not an elf at all")
    inv = inventory(fs)
    assert inv.libc == Libc(LibcFamily.GLIBC, None)
    assert any(u.what.endswith("libc.so.6") for u in inv.unknowns)


def test_musl_version_from_its_libc() -> None:
    fs = MemoryFileSystem()
    _musl(fs)
    inv = inventory(fs)
    assert inv.libc == Libc(LibcFamily.MUSL, "1.2.4")
    assert inv.loaders == ("/lib/ld-musl-x86_64.so.1",)


@pytest.mark.parametrize("data", [
    b"\x7fELF no banner \x001.2.4\x00",
    MUSL + b"\x001.2.5\x00",
])
def test_musl_version_unknown_when_ambiguous(data: bytes) -> None:
    fs = MemoryFileSystem()
    _musl(fs, data)
    assert inventory(fs).libc == Libc(LibcFamily.MUSL, None)


def test_both_libcs_glibc_is_primary() -> None:
    fs = MemoryFileSystem()
    _glibc(fs)
    _musl(fs, lib="/usr/lib")  # /lib is a link to usr/lib here
    inv = inventory(fs)
    assert inv.libc.family is LibcFamily.GLIBC
    assert {lc.family for lc in inv.libcs} == {LibcFamily.GLIBC, LibcFamily.MUSL}
    assert inv.loaders == ("/lib/ld-musl-x86_64.so.1", "/lib64/ld-linux-x86-64.so.2")


def test_glibc_library_without_its_loader_under_musl() -> None:
    fs = MemoryFileSystem()
    _musl(fs)
    exe(fs, "/usr/glibc-compat/lib/libc.so.6", GLIBC)
    exe(fs, "/lib/x86_64-linux-gnu/libc.so.6", GLIBC)
    inv = inventory(fs)
    assert inv.libc.family is LibcFamily.MUSL


def test_dangling_loader_is_not_listed() -> None:
    fs = MemoryFileSystem()
    fs.add_symlink("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/gone.so")
    assert inventory(fs).loaders == ()


def test_arm64_image_reads_its_own_multiarch_dir_first() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/lib/x86_64-linux-gnu/libc.so.6", GLIBC.replace(b"2.36", b"2.31"))
    exe(fs, "/lib/aarch64-linux-gnu/libc.so.6", GLIBC)
    exe(fs, "/lib/ld-linux-aarch64.so.1")
    inv = inventory(fs, arch="arm64")
    assert inv.libc == Libc(LibcFamily.GLIBC, "2.36")
    assert inv.loaders == ("/lib/ld-linux-aarch64.so.1",)


def test_libc6_compat_links_to_musl_are_not_glibc() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/lib/ld-musl-x86_64.so.1", MUSL)
    fs.add_symlink("/lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1")
    fs.add_symlink("/lib64/ld-linux-x86-64.so.2", "/lib/libc.musl-x86_64.so.1")
    fs.add_symlink("/lib/libc.so.6", "libc.musl-x86_64.so.1")
    inv = inventory(fs)
    assert inv.libc == Libc(LibcFamily.MUSL, "1.2.4")
    assert inv.libcs == (inv.libc,)
    assert inv.loaders == ("/lib/ld-musl-x86_64.so.1", "/lib64/ld-linux-x86-64.so.2")
    assert any("libc6-compat" in note for note in inv.notes)


def test_glibc_loader_that_is_musl_makes_musl_primary() -> None:
    fs = MemoryFileSystem()
    _musl(fs)
    exe(fs, "/usr/glibc/lib/libc.so.6", GLIBC)
    fs.add_symlink("/usr/lib64", "/usr/glibc/lib")  # a glibc libc.so.6 found via /usr/lib64
    fs.add_symlink("/lib64/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1")
    inv = inventory(fs)
    assert inv.libc.family is LibcFamily.MUSL
    assert {lc.family for lc in inv.libcs} == {LibcFamily.GLIBC, LibcFamily.MUSL}
