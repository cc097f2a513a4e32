"""The loader's configuration files inside an image root.

glibc's loader trusts ``/etc/ld.so.cache`` (built by ldconfig from
``/etc/ld.so.conf``) and its compiled-in system directories; musl's reads
``/etc/ld-musl-$ARCH.path``. This module reads those files through the image's
:class:`~gorc.image.fs.FileSystem`, never the host's.
"""

from __future__ import annotations

import fnmatch
import logging
import posixpath
import re
import struct
from dataclasses import dataclass

from gorc.errors import BinaryError
from gorc.image.fs import FileSystem

log = logging.getLogger(__name__)

LD_SO_CACHE = "/etc/ld.so.cache"
LD_SO_CONF = "/etc/ld.so.conf"

# glibc elf/dl-cache.h: the old libc5/libc6 format and the new one (glibc 2.2+).
# A "compat" cache is an old one followed by a new one, aligned to 8 bytes.
_OLD_MAGIC = b"ld.so-1.7.0"
_NEW_MAGIC = b"glibc-ld.so.cache1.1"
_OLD_HEADER = 16  # magic[11] padded to 12, nlibs u32
_OLD_ENTRY = 12  # flags i32, key u32, value u32
_NEW_HEADER = 48  # magic+version[20], nlibs, len_strings, flags u8 + pad, ext_offset, unused[3]
_NEW_ENTRY = 24  # flags i32, key u32, value u32, osversion u32, hwcap u64
_MAX_ENTRIES = 1 << 20

#: glibc's compiled-in system directories when the loader does not tell (upstream
#: sysdeps/unix/sysv/linux/*/dl-cache.h and configure's slibdir): 64-bit ABIs use
#: lib64 on x86-64, aarch64, ppc64le, s390x; riscv64 uses lib64/lp64d.
_UPSTREAM_DIRS: dict[str, tuple[str, ...]] = {
    "amd64": ("/lib64", "/usr/lib64"),
    "arm64": ("/lib64", "/usr/lib64"),
    "ppc64le": ("/lib64", "/usr/lib64"),
    "s390x": ("/lib64", "/usr/lib64"),
    "riscv64": ("/lib64/lp64d", "/usr/lib64/lp64d"),
    "386": ("/lib", "/usr/lib"),
    "arm": ("/lib", "/usr/lib"),
}

#: musl's built-in search path when /etc/ld-musl-$ARCH.path is absent (ldso/dynlink.c).
MUSL_DEFAULT_PATH = ("/lib", "/usr/local/lib", "/usr/lib")

# A run of NUL-terminated absolute directory names ending in "/": how glibc's
# SYSTEM_DIRS string sits in the loader's .rodata (elf/dl-load.c, system_dirs).
_SYSTEM_DIRS = re.compile(rb"(?:/[A-Za-z0-9_./+-]{0,80}/\x00){2,8}")


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One line of ld.so.cache: a soname and the path ldconfig found it at."""

    soname: str
    path: str
    flags: int = 0
    hwcap: int = 0


@dataclass(frozen=True, slots=True)
class LdCache:
    """A parsed ``/etc/ld.so.cache``; ``format`` is ``new`` or ``old``."""

    format: str
    entries: tuple[CacheEntry, ...]

    def lookup(self, soname: str) -> tuple[str, ...]:
        """Every path the cache lists for ``soname``, in cache order."""
        return tuple(e.path for e in self.entries if e.soname == soname)


def _cstring(data: bytes, offset: int) -> str:
    end = data.find(b"\x00", offset)
    if offset >= len(data) or end < 0:
        raise BinaryError(f"cannot read {LD_SO_CACHE}: string offset {offset} out of range")
    return data[offset:end].decode("utf-8", errors="replace")


def _count(data: bytes, offset: int, endian: str, entry: int, header: int) -> int:
    (nlibs,) = struct.unpack_from(endian + "I", data, offset)
    if nlibs > _MAX_ENTRIES or header + nlibs * entry > len(data):
        raise BinaryError(f"cannot read {LD_SO_CACHE}: {nlibs} entries do not fit in the file")
    return int(nlibs)


def _parse_new(data: bytes, little_endian: bool) -> LdCache:
    if len(data) < _NEW_HEADER:
        raise BinaryError(f"cannot read {LD_SO_CACHE}: truncated header")
    # Byte 28 records the writer's byte order: 2 little, 3 big, 0 unknown.
    endian = {2: "<", 3: ">"}.get(data[28], "<" if little_endian else ">")
    nlibs = _count(data, 20, endian, _NEW_ENTRY, _NEW_HEADER)
    entries = []
    for index in range(nlibs):
        flags, key, value, _os, hwcap = struct.unpack_from(
            endian + "iIIIQ", data, _NEW_HEADER + index * _NEW_ENTRY)
        entries.append(CacheEntry(_cstring(data, key), _cstring(data, value), flags, hwcap))
    return LdCache("new", tuple(entries))


def _parse_old(data: bytes, little_endian: bool) -> LdCache:
    endian = "<" if little_endian else ">"
    nlibs = _count(data, 12, endian, _OLD_ENTRY, _OLD_HEADER)
    strings = _OLD_HEADER + nlibs * _OLD_ENTRY
    # A compat cache carries the new format right after the old entries.
    aligned = (strings + 7) & ~7
    if data[aligned:aligned + len(_NEW_MAGIC)] == _NEW_MAGIC:
        return _parse_new(data[aligned:], little_endian)
    entries = []
    for index in range(nlibs):
        flags, key, value = struct.unpack_from(
            endian + "iII", data, _OLD_HEADER + index * _OLD_ENTRY)
        entries.append(
            CacheEntry(_cstring(data, strings + key), _cstring(data, strings + value), flags))
    return LdCache("old", tuple(entries))


def parse_ld_cache(data: bytes, little_endian: bool = True) -> LdCache:
    """Parse the bytes of an ld.so.cache (new, old or compat format).

    Raises :class:`BinaryError` when the file is damaged or not a cache.
    """
    try:
        if data.startswith(_NEW_MAGIC):
            return _parse_new(data, little_endian)
        if data.startswith(_OLD_MAGIC):
            return _parse_old(data, little_endian)
    except struct.error as err:
        raise BinaryError(f"cannot read {LD_SO_CACHE}: truncated entry table") from err
    raise BinaryError(f"cannot read {LD_SO_CACHE}: not an ld.so.cache (bad magic)")


def read_ld_cache(fs: FileSystem, little_endian: bool = True) -> LdCache | None:
    """The image's ld.so.cache, or None when the image has none.

    Raises :class:`BinaryError` when it exists but is damaged.
    """
    if not fs.is_file(LD_SO_CACHE):
        return None
    return parse_ld_cache(fs.read(LD_SO_CACHE), little_endian)


def _glob(fs: FileSystem, pattern: str) -> list[str]:
    """Paths in the image matching a shell pattern, component by component."""
    matches = ["/"]
    for part in [p for p in pattern.split("/") if p]:
        if not any(c in part for c in "*?["):
            matches = [posixpath.join(m, part) for m in matches]
            matches = [m for m in matches if fs.exists(m)]
            continue
        matches = [posixpath.join(m, name) for m in matches
                   for name in fs.listdir(m) if fnmatch.fnmatchcase(name, part)]
    return sorted(matches)


def read_ld_so_conf(fs: FileSystem, path: str = LD_SO_CONF) -> tuple[str, ...]:
    """The directories ``/etc/ld.so.conf`` lists, following ``include`` globs.

    Relative include patterns are relative to the including file's directory
    (ldconfig.c, parse_conf_include). The running loader never reads this file:
    it only matters through the cache ldconfig builds from it.
    """
    dirs: list[str] = []
    _read_conf(fs, path, dirs, seen=set())
    return tuple(dict.fromkeys(dirs))


def _read_conf(fs: FileSystem, path: str, dirs: list[str], seen: set[str]) -> None:
    if path in seen or len(seen) > 256:
        return
    seen.add(path)
    text = fs.read_text(path) or ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("include") and line[7:8].isspace():
            for pattern in line[8:].split():
                if not pattern.startswith("/"):
                    pattern = posixpath.join(posixpath.dirname(path), pattern)
                for match in _glob(fs, pattern):
                    _read_conf(fs, match, dirs, seen)
        elif line.startswith("/"):
            # "dir=TYPE" was libc5's syntax; ldconfig still strips it.
            dirs.append(line.split("=", 1)[0].split()[0].rstrip("/") or "/")


def glibc_system_dirs(loader: bytes, arch: str | None) -> tuple[str, ...]:
    """glibc's compiled-in search directories, read from the loader's own bytes.

    ``ld.so --help`` prints them from the SYSTEM_DIRS string in its .rodata;
    Debian's build puts the multiarch dirs there (/lib/x86_64-linux-gnu first).
    Falls back to upstream's defaults for ``arch`` when the string is not found.
    """
    match = _SYSTEM_DIRS.search(loader)
    if match:
        names = match.group(0).split(b"\x00")
        return tuple(n.decode().rstrip("/") or "/" for n in names if n)
    return _UPSTREAM_DIRS.get(arch or "", ("/lib", "/usr/lib"))


def read_musl_path(fs: FileSystem, musl_arch: str, prefix: str = "") -> tuple[str, ...] | None:
    """The dirs in ``PREFIX/etc/ld-musl-$ARCH.path`` (colon or newline separated), or None."""
    text = fs.read_text(f"{prefix}/etc/ld-musl-{musl_arch}.path")
    if text is None:
        return None
    # musl splits on ":" and newlines only and keeps other whitespace (path_open).
    return tuple(d for d in re.split(r"[:\n]", text) if d)
