"""Bounded reads: markers across chunk boundaries, limits, damaged files."""

from __future__ import annotations

import re
from typing import BinaryIO

import pytest

from gorc.errors import ImageSourceError
from gorc.image.fs import FileInfo, MemoryFileSystem
from gorc.image.inventory import ShellKind
from gorc.image.inventory.scan import _CHUNK, find_markers, findall, fingerprint, search
from gorc.model import ImageLocation
from tests.image.inventory_kit import BUSYBOX, DASH, PEM, TZIF, exe, inventory


@pytest.mark.parametrize("offset", [_CHUNK - 5, _CHUNK - 1, _CHUNK, 3 * _CHUNK - 4])
def test_marker_across_a_chunk_boundary(offset: int) -> None:
    fs = MemoryFileSystem()
    fs.add("/f", b"\0" * offset + b"BusyBox v1.2.3" + b"\0" * 100)
    assert find_markers(fs, "/f", [b"BusyBox v", b"absent"]) == {b"BusyBox v"}
    match = search(fs, "/f", re.compile(rb"BusyBox v(\d+\.\d+\.\d+)"))
    assert match is not None and match.group(1) == b"1.2.3"
    assert findall(fs, "/f", re.compile(rb"v(\d+\.\d+)")) == [(offset + 8, b"1.2")]


def test_marker_beyond_the_limit_is_not_read() -> None:
    fs = MemoryFileSystem()
    fs.add("/f", b"\0" * 1000 + b"GNU bash, version")
    assert find_markers(fs, "/f", [b"GNU bash"], limit=1000) == set()
    assert find_markers(fs, "/f", [b"GNU bash"], limit=1010) == {b"GNU bash"}


def test_long_match_cut_by_a_window_is_kept_whole() -> None:
    fs = MemoryFileSystem()
    names = b"".join(b"name%03d\x00" % i for i in range(200))
    fs.add("/f", b"\x01" * (_CHUNK - 500) + names + b"\x01")
    found = findall(fs, "/f", re.compile(rb"(?:[a-z0-9]+\x00){30,}"), overlap=4096)
    assert found == [(_CHUNK - 500, names)]


def test_fingerprint_tells_same_size_files_apart() -> None:
    fs = MemoryFileSystem()
    fs.add("/a", b"x" * 10000)
    fs.add("/b", b"x" * 10000)
    fs.add("/c", b"x" * 4999 + b"y" + b"x" * 5000)
    assert fingerprint(fs, "/a", 10000) == fingerprint(fs, "/b", 10000)
    assert fingerprint(fs, "/a", 10000) != fingerprint(fs, "/c", 10000)


class _DamagedFileSystem(MemoryFileSystem):
    """Every directory entry is there, but no file content can be read."""

    def _open_file(self, info: FileInfo) -> BinaryIO:
        raise ImageSourceError(f"cannot read {info.path}: layer truncated")


def test_unreadable_files_become_unknowns_not_errors() -> None:
    fs = _DamagedFileSystem()
    exe(fs, "/bin/busybox", BUSYBOX)
    fs.add_symlink("/bin/sh", "busybox")
    exe(fs, "/bin/dash", DASH)
    exe(fs, "/lib/x86_64-linux-gnu/libc.so.6")
    exe(fs, "/lib/ld-musl-x86_64.so.1")
    fs.add("/etc/ssl/certs/ca-certificates.crt", PEM)
    fs.add("/usr/share/zoneinfo/UTC", TZIF)
    fs.add("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n", layer="sha256:feed")
    fs.add("/etc/nsswitch.conf", b"hosts: files\n")
    fs.add("/etc/shells", b"/bin/dash\n")

    inv = inventory(fs)

    assert inv.shell.kind is ShellKind.BUSYBOX  # by name, when content cannot be read
    assert inv.busybox is not None and inv.busybox.static is None
    assert inv.ca_files == () and inv.zoneinfo == ()
    assert inv.nsswitch is not None and inv.nsswitch.conf_exists and inv.nsswitch.hosts is None
    what = {u.what for u in inv.unknowns}
    assert {"/bin/busybox", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/ld-musl-x86_64.so.1",
            "/etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo/UTC",
            "/etc/passwd", "/etc/nsswitch.conf"} <= what
    assert all("layer truncated" in u.reason for u in inv.unknowns)
    passwd = next(u for u in inv.unknowns if u.what == "/etc/passwd")
    assert passwd.location == ImageLocation("test:latest", "/etc/passwd", "sha256:feed")
