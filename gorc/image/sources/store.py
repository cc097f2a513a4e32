"""Files of an image archive or layout, read in place.

A ``docker save`` archive or an OCI layout tar is never extracted: the outer tar
is indexed once (tarfile gives every member's data offset) and each member is
read through a bounded reader over its slice of the file. A gzip- or
zstd-compressed archive is inflated once to a temp file first, since a
compressed stream cannot be read at an offset. An OCI layout directory is read
as it is, every path kept inside the layout.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import posixpath
import shutil
import tarfile
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO

from gorc.errors import ImageReferenceError, ImageSourceError
from gorc.image.reference import check_digest

log = logging.getLogger(__name__)

_MAX_LINK_HOPS = 16
_COPY_CHUNK = 1024 * 1024


class BlobStore(ABC):
    """Named files of an archive or a layout directory (POSIX paths relative to its top)."""

    def __init__(self, where: str) -> None:
        self.where = where

    @abstractmethod
    def size(self, path: str) -> int | None:
        """The size of the file at ``path``, or None when there is none."""

    @abstractmethod
    def _open(self, path: str) -> BinaryIO:
        """A stream over the existing file at ``path``."""

    def exists(self, path: str) -> bool:
        """True when ``path`` names a file."""
        return self.size(path) is not None

    def open(self, path: str) -> BinaryIO:
        """A fresh stream over the file at ``path``; ImageSourceError when it is absent."""
        if self.size(path) is None:
            raise ImageSourceError(f"cannot read {self.where}: {path} is missing")
        return self._open(path)

    def read(self, path: str, limit: int) -> bytes:
        """The whole file at ``path``, refused when it is larger than ``limit``."""
        size = self.size(path)
        if size is not None and size > limit:
            raise ImageSourceError(f"cannot read {self.where}: {path} is larger than {limit} bytes")
        with self.open(path) as stream:
            return stream.read(limit + 1)[:limit]

    def close(self) -> None:
        """Drop temp files; the default has none."""
        return None


def blob_path(digest: str, where: str) -> str:
    """The layout path of a blob (OCI image spec, image-layout.md: blobs/<alg>/<hex>)."""
    try:
        check_digest(digest)
    except ImageReferenceError as err:
        raise ImageSourceError(f"cannot read {where}: {err}") from None
    algorithm, _, hex_part = digest.partition(":")
    return f"blobs/{algorithm}/{hex_part}"


def clean_member_name(name: str) -> str | None:
    """A member name as a relative path, or None when it climbs out (``../``)."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts or not parts:
        return None
    return "/".join(parts)


class SliceReader(io.RawIOBase):
    """A read-only, seekable view of ``length`` bytes at ``offset`` in a host file."""

    def __init__(self, path: str, offset: int, length: int) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed with the reader
        self._offset, self._length, self._pos = offset, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._length - self._pos)
        if wanted <= 0:
            return 0
        self._file.seek(self._offset + self._pos)
        count = self._file.readinto(memoryview(buffer)[:wanted])
        self._pos += count
        return count

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if hasattr(self, "_file"):  # absent when __init__ could not open the file
            self._file.close()
        super().close()


class TarStore(BlobStore):
    """The members of a tar archive, read in place (after inflating a compressed one)."""

    def __init__(self, path: Path, where: str) -> None:
        super().__init__(where)
        self._tmpdir: str | None = None
        try:
            self.path = self._plain_tar(path)
            self._members = self._index()
        except BaseException:
            # Nobody holds the store yet to close it: drop the inflated copy here.
            self.close()
            raise

    def size(self, path: str) -> int | None:
        """See :meth:`BlobStore.size`."""
        member = self._member(path)
        return None if member is None else member.size

    def _open(self, path: str) -> BinaryIO:
        member = self._member(path)
        assert member is not None  # open() checked it
        return io.BufferedReader(SliceReader(self.path, member.offset_data, member.size))

    def names(self) -> list[str]:
        """Every regular file and link name in the archive, cleaned."""
        return sorted(self._members)

    def close(self) -> None:
        """Drop the inflated copy, if one was made."""
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _member(self, path: str) -> tarfile.TarInfo | None:
        name = clean_member_name(path)
        for _ in range(_MAX_LINK_HOPS):
            member = self._members.get(name) if name else None
            if member is None or member.isfile():
                return member
            # docker save stores a repeated layer as a link to its first copy
            base = "" if member.islnk() else posixpath.dirname(name or "")
            name = clean_member_name(posixpath.normpath(posixpath.join(base, member.linkname)))
        return None

    def _index(self) -> dict[str, tarfile.TarInfo]:
        members: dict[str, tarfile.TarInfo] = {}
        try:
            with tarfile.open(self.path, "r:") as archive:
                for member in archive:
                    name = clean_member_name(member.name)
                    if name is None:
                        log.warning("%s: ignoring member %r outside the archive", self.where,
                                    member.name)
                    elif member.isfile() or member.issym() or member.islnk():
                        members[name] = member
        except (tarfile.TarError, OSError) as err:
            raise ImageSourceError(f"cannot read {self.where}: not a tar archive ({err})") from err
        return members

    def _plain_tar(self, path: Path) -> str:
        try:
            with open(path, "rb") as stream:
                magic = stream.read(4)
        except OSError as err:
            raise ImageSourceError(f"cannot open {self.where}: {err.strerror}") from err
        if magic[:2] == b"\x1f\x8b":
            return self._inflate(path, "gzip")
        if magic == b"\x28\xb5\x2f\xfd":
            return self._inflate(path, "zstd")
        return str(path)

    def _inflate(self, path: Path, kind: str) -> str:
        """Spool the inflated archive to a private temp file, once."""
        self._tmpdir = tempfile.mkdtemp(prefix="gorc-archive-")
        target = os.path.join(self._tmpdir, "archive.tar")
        log.debug("inflating %s archive %s to %s", kind, path, target)
        # imported here: only a compressed archive (rare) needs an inflater
        import zstandard
        from isal import igzip

        from gorc.image.decompress import isal_error

        gzip_error = isal_error()
        try:
            with open(path, "rb") as raw, open(target, "wb") as out:
                if kind == "gzip":
                    with igzip.open(raw, "rb") as inflated:  # type: ignore[no-untyped-call]
                        shutil.copyfileobj(inflated, out, _COPY_CHUNK)
                else:
                    with zstandard.ZstdDecompressor().stream_reader(raw) as inflated:
                        shutil.copyfileobj(inflated, out, _COPY_CHUNK)
        except OSError as err:
            self.close()
            if err.errno == errno.ENOSPC:
                raise ImageSourceError(
                    f"cannot read {self.where}: no space left to inflate it in "
                    f"{tempfile.gettempdir()} (set TMPDIR to a larger disk)") from err
            raise ImageSourceError(f"cannot read {self.where}: bad {kind} stream ({err})") from err
        except (EOFError, zstandard.ZstdError, gzip_error) as err:
            self.close()
            raise ImageSourceError(f"cannot read {self.where}: bad {kind} stream ({err})") from err
        return target


class DirStore(BlobStore):
    """Files of a layout directory; a path or symlink leading outside it is refused."""

    def __init__(self, root: Path, where: str) -> None:
        super().__init__(where)
        self.root = os.path.realpath(root)
        if not os.path.isdir(self.root):
            raise ImageSourceError(f"cannot open {where}: not a directory")

    def _host(self, path: str) -> str | None:
        name = clean_member_name(path)
        if name is None:
            return None
        real = os.path.realpath(os.path.join(self.root, name))
        return real if real.startswith(self.root + os.sep) else None

    def size(self, path: str) -> int | None:
        """See :meth:`BlobStore.size`."""
        host = self._host(path)
        if host is None or not os.path.isfile(host):
            return None
        return os.path.getsize(host)

    def _open(self, path: str) -> BinaryIO:
        host = self._host(path)
        assert host is not None  # open() checked it
        try:
            return open(host, "rb")
        except OSError as err:
            raise ImageSourceError(f"cannot read {self.where}: {path}: {err.strerror}") from err
