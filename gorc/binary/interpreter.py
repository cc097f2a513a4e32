"""Which dynamic loader a binary's PT_INTERP leads to in the image, and its family.

The family is decided by what the loader file is, not by its name: alpine's
gcompat makes glibc's /lib64/ld-linux-x86-64.so.2 a link to musl's loader.
"""

from __future__ import annotations

import logging
import posixpath
import re
from dataclasses import dataclass

from gorc.binary.elf import ElfInfo, read_elf
from gorc.binary.ldconfig import glibc_system_dirs
from gorc.errors import GorcError
from gorc.image.fs import FileSystem, FileType, SymlinkLoopError
from gorc.model import LibcFamily

log = logging.getLogger(__name__)

_LOADER_READ_LIMIT = 8 * 1024 * 1024
_MUSL_ARCH = re.compile(r"ld-musl-([A-Za-z0-9_+-]+)\.so")
_MUSL_ARCH_BY_GOARCH = {"amd64": "x86_64", "arm64": "aarch64", "386": "i386", "arm": "armhf",
                        "ppc64le": "powerpc64le", "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True, slots=True)
class Loader:
    """The dynamic loader a binary's PT_INTERP leads to in the image."""

    interpreter: str
    path: str
    family: LibcFamily | None
    soname: str | None = None
    system_dirs: tuple[str, ...] = ()
    musl_arch: str | None = None
    elf: ElfInfo | None = None


def interpreter_family(interpreter: str | None) -> LibcFamily | None:
    """The libc family a PT_INTERP path names by its file name alone, or None.

    glibc's loaders are ld-linux*.so (x86, arm, arm64...), ld64.so.* (ppc64le,
    s390x) and ld.so.1 (mips, ppc32); musl's are ld-musl-$ARCH.so.1.
    """
    name = posixpath.basename(interpreter or "")
    if name.startswith("ld-musl"):
        return LibcFamily.MUSL
    if name.startswith(("ld-linux", "ld64.so", "ld.so")):
        return LibcFamily.GLIBC
    return None


def binary_family(elf: ElfInfo) -> LibcFamily | None:
    """The libc family a binary was linked for, from its interpreter and version needs."""
    named = interpreter_family(elf.interpreter)
    if named is not None:
        return named
    if any(v.startswith("GLIBC_") for n in elf.version_needs for v in n.versions):
        return LibcFamily.GLIBC
    return None


def real_file(fs: FileSystem, path: str) -> str | None:
    """The symlink-free path of a regular file, or None (missing, loop, not a file)."""
    try:
        real = fs.resolve(path)
    except SymlinkLoopError:
        return None
    if real is None:
        return None
    info = fs.lstat(real)
    return real if info is not None and info.type is FileType.FILE else None


def find_loader(fs: FileSystem, interpreter: str, arch: str | None) -> Loader | None:
    """The loader ``interpreter`` (a PT_INTERP path) leads to in the image, or None.

    The family is decided by what the file is, not by its name: alpine's gcompat
    makes /lib64/ld-linux-x86-64.so.2 a link to musl's loader.
    """
    real = real_file(fs, interpreter)
    if real is None:
        return None
    try:
        data = fs.read(real, _LOADER_READ_LIMIT)
        with fs.open(real) as stream:
            elf: ElfInfo | None = read_elf(stream)
    except GorcError as err:
        log.debug("cannot read loader %s: %s", real, err)
        data, elf = b"", None
    family = _loader_family(interpreter, real, elf, data)
    musl = _MUSL_ARCH.search(posixpath.basename(interpreter))
    return Loader(
        interpreter=interpreter,
        path=real,
        family=family,
        soname=elf.soname if elf else None,
        system_dirs=glibc_system_dirs(data, arch) if family is LibcFamily.GLIBC else (),
        musl_arch=musl.group(1) if musl else _MUSL_ARCH_BY_GOARCH.get(arch or ""),
        elf=elf,
    )


def _loader_family(
    interpreter: str, real: str, elf: ElfInfo | None, data: bytes
) -> LibcFamily | None:
    if elf is not None and any(v.startswith("GLIBC_") for v in elf.version_defs):
        return LibcFamily.GLIBC
    if b"musl libc" in data or "musl" in real:
        return LibcFamily.MUSL
    return interpreter_family(interpreter)
