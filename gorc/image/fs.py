"""The filesystem view every analyzer reads an image through.

An image's filesystem is only ever looked at through :class:`FileSystem`: the
squashed layers of a real image and an unpacked root directory (``dir:``) both
implement it. Paths are absolute POSIX paths *inside the image root*. Symlinks
are resolved here, inside the root, never on the host: an absolute target
restarts at the image root and ``..`` never climbs above it, as the kernel does
for a process whose root is the image (path_resolution(7)).
"""

from __future__ import annotations

import io
import logging
import os
import posixpath
import stat as stat_mod
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from gorc.errors import ImageSourceError

log = logging.getLogger(__name__)

#: Linux follows at most 40 symlinks while resolving one path (MAXSYMLINKS).
MAX_SYMLINKS = 40

#: Default bound for :meth:`FileSystem.read`: analyzers read config files, not blobs.
DEFAULT_READ_LIMIT = 16 * 1024 * 1024


class FileType(StrEnum):
    """The type of a directory entry."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"
    SOCKET = "socket"


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One entry of the filesystem, as ``lstat`` sees it.

    ``layer`` is the digest of the layer that last wrote the entry (None for a
    plain directory root); ``linkname`` is the symlink target as stored.
    """

    path: str
    type: FileType
    mode: int = 0o644
    size: int = 0
    uid: int = 0
    gid: int = 0
    linkname: str = ""
    layer: str | None = None

    @property
    def is_executable(self) -> bool:
        """True when any execute bit is set."""
        return bool(self.mode & 0o111)


class SymlinkLoopError(ImageSourceError):
    """A path goes through more than :data:`MAX_SYMLINKS` symlinks (ELOOP)."""


def normalize(path: str) -> str:
    """An absolute, normalized path inside the root (``..`` stops at ``/``)."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


class FileSystem(ABC):
    """Read-only access to an image's root filesystem.

    Implementations provide :meth:`lstat`, :meth:`listdir` and :meth:`_open_file`;
    resolution, ``stat``, ``read``, ``walk`` and ``which`` are shared.
    """

    @abstractmethod
    def lstat(self, path: str) -> FileInfo | None:
        """The entry at ``path`` itself (a symlink is not followed), or None.

        ``path`` must already be normalized and free of symlinks in its parents;
        use :meth:`stat` or :meth:`resolve` for arbitrary paths.
        """

    @abstractmethod
    def listdir(self, path: str) -> list[str]:
        """Names in the directory at ``path`` (symlinks followed), sorted; [] if none."""

    @abstractmethod
    def _open_file(self, info: FileInfo) -> BinaryIO:
        """A seekable binary stream over the content of a regular file entry."""

    def resolve(self, path: str) -> str | None:
        """The symlink-free path ``path`` leads to, or None when it leads nowhere.

        Raises :class:`SymlinkLoopError` on a loop or a chain deeper than the
        kernel would follow.
        """
        pending = [p for p in path.split("/") if p not in ("", ".")]
        pending.reverse()
        current = "/"
        hops = 0
        while pending:
            part = pending.pop()
            if part == "..":
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, part)
            info = self.lstat(candidate)
            if info is None:
                return None
            if info.type is FileType.SYMLINK:
                hops += 1
                if hops > MAX_SYMLINKS:
                    raise SymlinkLoopError(f"too many levels of symbolic links at {path}")
                target = info.linkname
                if target.startswith("/"):
                    current = "/"
                pending.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
                continue
            if pending and info.type is not FileType.DIR:
                return None
            current = candidate
        return current

    def _resolve_quietly(self, path: str) -> str | None:
        """:meth:`resolve`, with a symlink loop taken as leading nowhere (None)."""
        try:
            return self.resolve(path)
        except SymlinkLoopError:
            return None

    def stat(self, path: str) -> FileInfo | None:
        """The entry ``path`` leads to after following symlinks, or None (also on loops)."""
        real = self._resolve_quietly(path)
        return None if real is None else self.lstat(real)

    def exists(self, path: str) -> bool:
        """True when ``path`` leads to an entry (following symlinks)."""
        return self.stat(path) is not None

    def is_file(self, path: str) -> bool:
        """True when ``path`` leads to a regular file."""
        info = self.stat(path)
        return info is not None and info.type is FileType.FILE

    def is_dir(self, path: str) -> bool:
        """True when ``path`` leads to a directory."""
        info = self.stat(path)
        return info is not None and info.type is FileType.DIR

    def open(self, path: str) -> BinaryIO:
        """A seekable stream over the regular file ``path`` leads to.

        Raises :class:`ImageSourceError` when it is missing or not a regular file.
        """
        info = self.stat(path)
        if info is None:
            raise ImageSourceError(f"no such file in image: {path}")
        if info.type is not FileType.FILE:
            raise ImageSourceError(f"not a regular file in image: {path}")
        return self._open_file(info)

    def head(self, info: FileInfo) -> bytes | None:
        """Leading bytes of the regular file ``info`` known without opening it, or None.

        A filesystem that saw every file's first bytes while indexing (the squashed
        layers) answers from memory: for an ELF file its whole 64-byte header (or
        the whole file when shorter), for any other file at least enough bytes to
        tell that it is not ELF and whether it starts with ``#!``. None means
        "not recorded": read the file. The default records nothing.
        """
        return None

    def read(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> bytes:
        """Up to ``limit`` bytes of the file ``path`` leads to."""
        with self.open(path) as stream:
            return stream.read(limit)

    def read_text(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> str | None:
        """The file as text (undecodable bytes replaced), or None when it is absent."""
        if not self.is_file(path):
            return None
        return self.read(path, limit).decode("utf-8", errors="replace")

    def walk(self, top: str = "/") -> Iterator[FileInfo]:
        """Every entry under ``top`` (not following symlinked directories), depth first."""
        stack = [normalize(top)]
        while stack:
            directory = stack.pop()
            for name in reversed(self.listdir(directory)):
                info = self.lstat(posixpath.join(directory, name))
                if info is None:
                    continue
                yield info
                if info.type is FileType.DIR:
                    stack.append(info.path)

    def which(self, name: str, path_env: str | None) -> str | None:
        """Where ``name`` is found as an executable file through ``path_env``.

        Follows Go's ``exec.LookPath``: a name with a slash is taken as it is; an
        empty PATH element means the working directory, which gorc takes as ``/``.
        """
        if "/" in name:
            candidates = [name if name.startswith("/") else "/" + name]
        else:
            dirs = (path_env or "").split(":") if path_env is not None else []
            candidates = [posixpath.join(d or "/", name) for d in dirs]
        for candidate in candidates:
            info = self.stat(candidate)
            if info is not None and info.type is FileType.FILE and info.is_executable:
                return normalize(candidate)
        return None


_MODE_TYPES = (
    (stat_mod.S_ISLNK, FileType.SYMLINK),
    (stat_mod.S_ISDIR, FileType.DIR),
    (stat_mod.S_ISREG, FileType.FILE),
    (stat_mod.S_ISCHR, FileType.CHAR),
    (stat_mod.S_ISBLK, FileType.BLOCK),
    (stat_mod.S_ISFIFO, FileType.FIFO),
    (stat_mod.S_ISSOCK, FileType.SOCKET),
)


class DirFileSystem(FileSystem):
    """An unpacked root filesystem on the host (the ``dir:`` source).

    Every lookup goes through :meth:`FileSystem.resolve`, so a symlink in the
    root is followed inside the root and never onto the host.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        if not os.path.isdir(self.root):
            raise ImageSourceError(f"cannot open dir:{root}: not a directory")

    def _host(self, path: str) -> str:
        return os.path.join(self.root, normalize(path).lstrip("/"))

    def lstat(self, path: str) -> FileInfo | None:
        """See :meth:`FileSystem.lstat`."""
        path = normalize(path)
        try:
            st = os.lstat(self._host(path))
        except OSError:
            return None
        kind = next((t for test, t in _MODE_TYPES if test(st.st_mode)), FileType.FILE)
        try:
            linkname = os.readlink(self._host(path)) if kind is FileType.SYMLINK else ""
        except OSError:  # changed between the two calls: as if it were not there
            return None
        return FileInfo(
            path=path,
            type=kind,
            mode=stat_mod.S_IMODE(st.st_mode),
            size=st.st_size,
            uid=st.st_uid,
            gid=st.st_gid,
            linkname=linkname,
        )

    def listdir(self, path: str) -> list[str]:
        """See :meth:`FileSystem.listdir`."""
        real = self._resolve_quietly(path)
        if real is None:
            return []
        try:
            return sorted(os.listdir(self._host(real)))
        except OSError:
            return []

    def _open_file(self, info: FileInfo) -> BinaryIO:
        try:
            return open(self._host(info.path), "rb")  # the caller closes it
        except OSError as err:
            raise ImageSourceError(f"cannot read {info.path}: {err.strerror}") from err


class MemoryFileSystem(FileSystem):
    """A filesystem held in memory; for tests and for tiny synthetic roots."""

    def __init__(self) -> None:
        self._entries: dict[str, FileInfo] = {"/": FileInfo("/", FileType.DIR, 0o755)}
        self._data: dict[str, bytes] = {}

    def add(self, path: str, data: bytes = b"", mode: int = 0o644, **kw: object) -> None:
        """Add a regular file (parents are created as directories)."""
        self._add(FileInfo(normalize(path), FileType.FILE, mode, len(data), **kw))  # type: ignore[arg-type]
        self._data[normalize(path)] = data

    def add_dir(self, path: str, mode: int = 0o755) -> None:
        """Add a directory."""
        self._add(FileInfo(normalize(path), FileType.DIR, mode))

    def add_symlink(self, path: str, target: str) -> None:
        """Add a symlink with the target as stored."""
        self._add(FileInfo(normalize(path), FileType.SYMLINK, 0o777, linkname=target))

    def _add(self, info: FileInfo) -> None:
        parent = posixpath.dirname(info.path)
        if parent not in self._entries:
            self.add_dir(parent)
        self._entries[info.path] = info

    def lstat(self, path: str) -> FileInfo | None:
        """See :meth:`FileSystem.lstat`."""
        return self._entries.get(normalize(path))

    def listdir(self, path: str) -> list[str]:
        """See :meth:`FileSystem.listdir`."""
        real = self._resolve_quietly(path)
        if real is None:
            return []
        prefix = real.rstrip("/") + "/"
        return sorted(
            p[len(prefix):] for p in self._entries
            if p.startswith(prefix) and "/" not in p[len(prefix):] and p != real
        )

    def _open_file(self, info: FileInfo) -> BinaryIO:
        return io.BytesIO(self._data.get(info.path, b""))
