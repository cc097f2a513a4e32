"""The C libraries of an image: dynamic loaders present, glibc and musl versions.

glibc's version is read from ``libc.so.6``: its banner ("GNU C Library (Debian
GLIBC 2.36-9) stable release version 2.36.") or, when absent, the highest
``GLIBC_2.x`` version it defines (``.gnu.version_d``). musl prints its version
only in the loader's usage text, from a separate string (``__libc_version``), so
the version is taken as the one NUL-delimited ``1.x.y`` string in a file that
also holds musl's ``musl libc (`` banner; several or none leave it unknown.
"""

from __future__ import annotations

import logging
import posixpath
import re

from gorc.binary.elf import read_elf
from gorc.errors import BinaryError, ImageSourceError
from gorc.image.fs import FileSystem
from gorc.image.inventory.record import Recorder
from gorc.image.inventory.scan import find_markers, findall, search
from gorc.model import Libc, LibcFamily

log = logging.getLogger(__name__)

#: Directories holding PT_INTERP paths (the loaders' canonical places).
LOADER_DIRS = ("/lib", "/lib64", "/lib32", "/libx32")
_LOADER_NAME = re.compile(r"^(ld-linux[\w.-]*\.so\.\d+|ld64\.so\.\d+|ld-musl-[\w]+\.so\.1)$")

#: Debian/Ubuntu multiarch triplets, by Go architecture name.
MULTIARCH = {
    "amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "arm": "arm-linux-gnueabihf",
    "386": "i386-linux-gnu", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu",
    "riscv64": "riscv64-linux-gnu", "mips64le": "mips64el-linux-gnuabi64",
}

_GLIBC_BANNER = re.compile(rb"GNU C Library[^\x00\n]{0,200}?release version (\d+\.\d+(?:\.\d+)?)")
_GLIBC_VERDEF = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")
_MUSL_BANNER = b"musl libc ("
_MUSL_VERSION = re.compile(rb"\x00(1\.\d+\.\d+)\x00")


def collect_loaders(fs: FileSystem) -> tuple[str, ...]:
    """Loader paths (``/lib64/ld-linux-x86-64.so.2``...) that resolve to a file."""
    found: list[str] = []
    for directory in LOADER_DIRS:
        for name in fs.listdir(directory):
            path = posixpath.join(directory, name)
            if _LOADER_NAME.match(name) and fs.is_file(path):
                found.append(path)
    return tuple(found)


def libc_dirs(architecture: str | None) -> tuple[str, ...]:
    """Where ``libc.so.6`` may live; the image's own architecture's dirs first."""
    triplets = list(MULTIARCH.values())
    own = MULTIARCH.get(architecture or "")
    if own:
        triplets.remove(own)
        triplets.insert(0, own)
    multiarch = [f"{prefix}/{t}" for t in triplets for prefix in ("/lib", "/usr/lib")]
    return (*multiarch, "/lib64", "/usr/lib64", "/lib", "/usr/lib")


def collect_libcs(
    fs: FileSystem, loaders: tuple[str, ...], architecture: str | None, rec: Recorder
) -> tuple[Libc, tuple[Libc, ...]]:
    """The primary libc and every libc found.

    glibc is primary when its ``libc.so.6`` is present and a glibc loader
    (``ld-linux*``/``ld64``) is really glibc's, or when no musl loader exists.
    Alpine's gcompat and libc6-compat install glibc's file names as links to
    musl: those count as musl (and a note says so).
    """
    glibc = _glibc(fs, architecture, rec)
    musl_loaders = [p for p in loaders if posixpath.basename(p).startswith("ld-musl-")]
    musl = _musl(fs, musl_loaders[0], rec) if musl_loaders else None
    found = tuple(x for x in (glibc, musl) if x is not None)
    glibc_loader = any(not _is_musl(fs, p, rec) for p in loaders if p not in musl_loaders)
    if glibc is not None and (glibc_loader or musl is None):
        return glibc, found
    return (musl or glibc or Libc()), found


def _glibc(fs: FileSystem, architecture: str | None, rec: Recorder) -> Libc | None:
    for directory in libc_dirs(architecture):
        path = f"{directory}/libc.so.6"
        if fs.is_file(path) and not _is_musl(fs, path, rec):
            return Libc(LibcFamily.GLIBC, glibc_version(fs, path, rec))
    return None


def _is_musl(fs: FileSystem, path: str, rec: Recorder) -> bool:
    """True when a file under a glibc name is musl's (its banner is in it)."""
    try:
        musl = _MUSL_BANNER in find_markers(fs, path, (_MUSL_BANNER,))
    except ImageSourceError as err:
        rec.unknown(path, f"cannot read the C library: {err}")
        return False
    if musl:
        rec.note(f"{path} is musl's, installed under a glibc name (gcompat or libc6-compat)")
    return musl


def glibc_version(fs: FileSystem, path: str, rec: Recorder) -> str | None:
    """glibc's version from the banner of ``path``, else its highest GLIBC_ verdef."""
    try:
        match = search(fs, path, _GLIBC_BANNER, overlap=256)
        if match:
            return match.group(1).decode()
        with fs.open(path) as stream:
            defs = read_elf(stream).version_defs
    except (ImageSourceError, BinaryError) as err:
        rec.unknown(path, f"cannot read the glibc version: {err}")
        return None
    versions = [m for m in map(_GLIBC_VERDEF.match, defs) if m]
    if not versions:
        rec.unknown(path, "cannot read the glibc version: no banner and no GLIBC_ versions")
        return None
    best = max(versions, key=lambda m: tuple(int(g or 0) for g in m.groups()))
    return ".".join(g for g in best.groups() if g is not None)


def _musl(fs: FileSystem, loader: str, rec: Recorder) -> Libc:
    try:
        if _MUSL_BANNER not in find_markers(fs, loader, (_MUSL_BANNER,)):
            return Libc(LibcFamily.MUSL, None)
        versions = {v for _, v in findall(fs, loader, _MUSL_VERSION, overlap=16)}
    except ImageSourceError as err:
        rec.unknown(loader, f"cannot read the musl version: {err}")
        return Libc(LibcFamily.MUSL, None)
    if len(versions) != 1:
        return Libc(LibcFamily.MUSL, None)
    return Libc(LibcFamily.MUSL, versions.pop().decode())
