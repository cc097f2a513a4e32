"""Finding the ELF programs and libraries in an image, reading as little as possible.

This is the hot path of an image inspection. On a squashed image the layer
index already holds every file's leading bytes (recorded during the one pass
over each layer), so only the index is searched and no file is opened; on
other filesystems every candidate file is opened once and only its first
:data:`HEAD_SIZE` bytes are read. A candidate is a
regular file with an execute bit, any regular file directly in a ``bin``,
``sbin``, ``lib*`` or ``libexec`` directory, or a file named like a shared
object (shared libraries are often not executable). The kernel's pseudo
filesystems (/proc, /sys, /dev) are never walked: an image should not hold
anything there, and a ``dir:`` root of a live system would make the walk endless.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from gorc.binary.elf import has_go_buildinfo
from gorc.binary.elflayout import ELF_MAGIC, ElfLayout, is_elf, read_layout
from gorc.errors import BinaryError, GorcError
from gorc.image.fs import FileInfo, FileSystem, FileType, normalize

log = logging.getLogger(__name__)

#: How many leading bytes are read from each candidate: enough for the ELF
#: identification and the header fields up to e_machine.
HEAD_SIZE = 64

#: Directories that are never walked.
SKIPPED_DIRS = frozenset({"/proc", "/sys", "/dev"})

_PROGRAM_DIRS = frozenset({"bin", "sbin", "libexec", "lib", "lib32", "lib64", "libx32"})

#: Called with the entry and the error when a candidate cannot be read.
ErrorHandler = Callable[[FileInfo, GorcError], None]


@runtime_checkable
class HeadIndex(Protocol):
    """A filesystem that can list its files by their recorded leading bytes
    (:meth:`gorc.image.squash.SquashedFileSystem.files_by_head`)."""

    def files_by_head(
        self, magic: bytes, top: str = "/", skip: Collection[str] = ()
    ) -> list[FileInfo]:
        """Regular files whose leading bytes start with ``magic`` or are unknown."""


@dataclass(frozen=True, slots=True)
class ElfCandidate:
    """A regular file whose first bytes say ELF, with those bytes."""

    info: FileInfo
    head: bytes


def find_elf_files(
    fs: FileSystem,
    top: str = "/",
    head_size: int = HEAD_SIZE,
    on_error: ErrorHandler | None = None,
) -> Iterator[ElfCandidate]:
    """Every ELF file under ``top`` that is executable or in a program/library directory.

    Entries are yielded in walk order (sorted names, depth first). A candidate
    that cannot be opened is passed to ``on_error`` (default: logged and
    skipped) so that the caller can record it as an unknown.
    """
    for info in _entries(fs, normalize(top)):
        if not _is_candidate(info):
            continue
        head = fs.head(info)
        if head is None or (is_elf(head) and len(head) < min(head_size, info.size)):
            try:
                head = _read_head(fs, info, head_size)
            except GorcError as err:
                _report(info, err, on_error)
                continue
        if is_elf(head):
            yield ElfCandidate(info, head[:head_size])


def _entries(fs: FileSystem, top: str) -> Iterator[FileInfo]:
    """The entries worth a look: on a squashed image only the files the index says
    may be ELF (recorded head or none recorded), elsewhere every entry."""
    if isinstance(fs, HeadIndex):  # a Protocol: binary/ need not import the layer code
        skip = [d for d in SKIPPED_DIRS if d.startswith(top.rstrip("/") + "/")]
        return iter(fs.files_by_head(ELF_MAGIC, top, skip))
    return _walk(fs, top)


def _read_head(fs: FileSystem, info: FileInfo, head_size: int) -> bytes:
    try:
        with fs.open(info.path) as stream:
            return stream.read(head_size)
    except OSError as err:
        raise BinaryError(f"cannot read {info.path}: {err}") from err


def _report(info: FileInfo, err: GorcError, on_error: ErrorHandler | None) -> None:
    if on_error is None:
        log.warning("skipping %s: %s", info.path, err)
    else:
        on_error(info, err)


def _walk(fs: FileSystem, top: str) -> Iterator[FileInfo]:
    """Like :meth:`FileSystem.walk`, without descending into :data:`SKIPPED_DIRS`."""
    stack = [top]
    while stack:
        directory = stack.pop()
        for name in reversed(fs.listdir(directory)):
            path = posixpath.join(directory, name)
            if path in SKIPPED_DIRS:
                continue
            info = fs.lstat(path)
            if info is None:
                continue
            yield info
            if info.type is FileType.DIR:
                stack.append(info.path)


def _is_candidate(info: FileInfo) -> bool:
    if info.type is not FileType.FILE or 0 < info.size < len(ELF_MAGIC):
        return False
    return info.is_executable or in_program_dir(info.path)


def in_program_dir(path: str) -> bool:
    """True when ``path`` is directly in a bin, sbin, lib* or libexec directory, or is
    named like a shared object (``*.so``, ``*.so.N``) anywhere.

    Deeper files under a lib directory (Go's source tree in /usr/lib/go, Python's
    stdlib) are only candidates when executable: looking at all of them would
    read thousands of files for nothing.
    """
    directory, name = posixpath.split(path)
    if posixpath.basename(directory) in _PROGRAM_DIRS:
        return True
    return name.endswith(".so") or ".so." in name


def is_go_binary(stream: BinaryIO, layout: ElfLayout | None = None) -> bool:
    """True when the ELF carries Go build info (a .go.buildinfo section or its magic).

    False for files that are not readable ELF: they are not Go programs gorc can
    read. ``layout`` may be passed when the caller already read it.
    """
    try:
        return has_go_buildinfo(stream, layout or read_layout(stream))
    except BinaryError:
        return False
