"""The busybox binary of an image and the applets installed as links to it.

Only names linked to busybox (symlinks, or hard links: a regular file with the
same content, as in the official busybox image where every applet is a hard link)
and found through PATH run by name. Every applet the binary was built with also
runs as ``busybox NAME``; those names come from the binary's applet table, a
sorted run of NUL-terminated names that busybox bisects at run time.
"""

from __future__ import annotations

import logging
import re

from gorc.binary.elf import read_elf
from gorc.errors import BinaryError, ImageSourceError
from gorc.image.fs import FileSystem
from gorc.image.inventory.model import BusyboxInfo, ProgramInfo, ShellInfo, ShellKind
from gorc.image.inventory.record import Recorder
from gorc.image.inventory.scan import findall, fingerprint, search

log = logging.getLogger(__name__)

#: Where busybox is installed when PATH does not name it (distroless :debug: /busybox).
BUSYBOX_PATHS = (
    "/bin/busybox", "/usr/bin/busybox", "/sbin/busybox", "/usr/sbin/busybox",
    "/usr/local/bin/busybox", "/busybox/busybox",
)

_VERSION = re.compile(rb"BusyBox v(\d+\.\d+(?:\.\d+)?)")

#: A run of at least 30 applet-like names, each NUL-terminated.
_APPLET_RUN = re.compile(rb"(?:[a-z0-9_.\[\]-]{1,40}\x00){30,}")
_TABLE_OVERLAP = 16 * 1024
_MIN_APPLETS = 20


def find_busybox(
    fs: FileSystem, path_env: str | None, shell: ShellInfo
) -> tuple[str, str] | None:
    """(path, real path) of the busybox binary, or None when the image has none."""
    candidates = [fs.which("busybox", path_env), *BUSYBOX_PATHS]
    if shell.kind is ShellKind.BUSYBOX and shell.real_path:
        candidates.append(shell.path)
    for candidate in candidates:
        if candidate and fs.is_file(candidate):
            real = fs.resolve(candidate)
            if real is not None:
                return candidate, real
    return None


def collect_busybox(
    fs: FileSystem, path_env: str | None, shell: ShellInfo,
    programs: tuple[ProgramInfo, ...], rec: Recorder,
) -> BusyboxInfo | None:
    """The busybox of the image with its linked and built-in applets, or None."""
    found = find_busybox(fs, path_env, shell)
    if found is None:
        return None
    path, real = found

    static, interpreter = _linkage(fs, real, rec)
    try:
        match = search(fs, real, _VERSION, overlap=64)
        builtin = _builtin_applets(fs, real)
        applets = _linked_applets(fs, real, programs)
    except ImageSourceError as err:
        rec.unknown(real, f"cannot read busybox: {err}")
        return BusyboxInfo(path, real, static=static, interpreter=interpreter)
    version = match.group(1).decode() if match else None
    return BusyboxInfo(path, real, version, static, interpreter, applets, builtin)


def _linkage(fs: FileSystem, real: str, rec: Recorder) -> tuple[bool | None, str | None]:
    try:
        with fs.open(real) as stream:
            info = read_elf(stream)
    except (BinaryError, ImageSourceError) as err:
        rec.unknown(real, f"cannot read busybox as ELF: {err}")
        return None, None
    return info.interpreter is None and not info.needed, info.interpreter


def _linked_applets(
    fs: FileSystem, real: str, programs: tuple[ProgramInfo, ...]
) -> tuple[str, ...]:
    """Names on PATH whose first hit is busybox itself (a symlink or a hard link)."""
    target = fs.lstat(real)
    if target is None:
        return ()
    own: bytes | None = None
    names: list[str] = []
    for program in programs:
        if program.name == "busybox":
            continue
        if program.real_path == real:
            names.append(program.name)
            continue
        info = fs.lstat(program.real_path)
        if info is None or info.size != target.size:
            continue
        own = own or fingerprint(fs, real, target.size)
        if fingerprint(fs, program.real_path, info.size) == own:
            names.append(program.name)
    return tuple(sorted(names))


def _builtin_applets(fs: FileSystem, real: str) -> tuple[str, ...]:
    """The applet table of the binary: the longest strictly ascending run of names."""
    best: list[str] = []
    for _, run in findall(fs, real, _APPLET_RUN, overlap=_TABLE_OVERLAP):
        segments: list[list[str]] = [[]]
        for name in (n.decode() for n in run.split(b"\x00") if n):
            if segments[-1] and name <= segments[-1][-1]:
                segments.append([])
            segments[-1].append(name)
        best = max([best, *segments], key=len)
    return tuple(best) if len(best) >= _MIN_APPLETS else ()
