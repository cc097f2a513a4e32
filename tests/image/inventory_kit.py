"""Helpers for inventory tests: synthetic image roots in memory."""

from __future__ import annotations

from gorc.image.fs import FileInfo, FileType, MemoryFileSystem
from gorc.image.inventory import Inventory, collect_inventory
from gorc.model import ImageSummary

DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Fake binaries carry the markers the inventory looks for; they are not ELF.
BUSYBOX = b"\x7fELF-not-really\x00BusyBox v1.36.1 (fake)\x00" + b"\x00".join(
    name.encode() for name in ("[", "[[", "ash", "cat", "cp", "echo", "grep", "ls", "mkdir",
                               "mv", "ping", "ps", "rm", "sed", "sh", "sleep", "tar", "test",
                               "touch", "true", "uname", "vi", "wc", "wget", "which", "xargs",
                               "yes", "zcat", "zzz1", "zzz2", "zzz3")
) + b"\x00\x01\x02"
BASH = b"\x7fELF....GNU bash, version %s-(%s)\x00"
DASH = b"\x7fELF....Syntax error: %s\x00"
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
TZIF = b"TZif2" + b"\x00" * 40


def summary(env: dict[str, str] | None = None, user: str | None = None,
            arch: str = "amd64") -> ImageSummary:
    """A config summary with this env (PATH set to Debian's unless given)."""
    values = {"PATH": DEBIAN_PATH} if env is None else env
    return ImageSummary("test:latest", architecture=arch, user=user, env=tuple(values.items()))


def inventory(fs: MemoryFileSystem, **kw: object) -> Inventory:
    """The inventory of ``fs`` with :func:`summary` (keyword arguments passed on)."""
    return collect_inventory(fs, summary(**kw))  # type: ignore[arg-type]


def exe(fs: MemoryFileSystem, path: str, data: bytes = b"\x7fELF") -> None:
    """Add an executable file."""
    fs.add(path, data, 0o755)


def add_dir(fs: MemoryFileSystem, path: str, mode: int, uid: int = 0, gid: int = 0) -> None:
    """Add a directory with an owner (MemoryFileSystem.add_dir makes it root's)."""
    fs._add(FileInfo(path, FileType.DIR, mode, uid=uid, gid=gid))
