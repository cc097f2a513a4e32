"""Finding ELF files in an image filesystem, reading only their first bytes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import pytest

from gorc.binary.discover import HEAD_SIZE, find_elf_files, in_program_dir, is_go_binary
from gorc.errors import GorcError, ImageSourceError
from gorc.image.fs import DirFileSystem, FileInfo, MemoryFileSystem
from tests.binary import craft
from tests.support.probes import ProbeBuilder
from tests.support.roots import RootBuilder

ELF = craft.go_elf_inline("go1.21.0", "path\tx\n")


class _CountingStream(io.BytesIO):
    """A stream that records the largest single read."""

    def __init__(self, data: bytes, reads: list[int]) -> None:
        super().__init__(data)
        self._reads = reads

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self._reads.append(len(data))
        return data


class _CountingFileSystem(MemoryFileSystem):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[int] = []
        self.broken: set[str] = set()

    def _open_file(self, info: FileInfo) -> BinaryIO:
        if info.path in self.broken:
            raise ImageSourceError(f"cannot read {info.path}: layer is gone")
        return _CountingStream(self._data.get(info.path, b""), self.reads)


def _image() -> _CountingFileSystem:
    fs = _CountingFileSystem()
    fs.add("/app", ELF, mode=0o755)
    fs.add("/usr/local/bin/tool", ELF, mode=0o644)  # in a bin dir, not executable
    fs.add("/usr/lib/x86_64-linux-gnu/libc.so.6", ELF, mode=0o644)
    fs.add("/opt/vendor/plugins/libplug.so", ELF, mode=0o644)  # named like a library
    fs.add("/usr/share/doc/blob", ELF, mode=0o644)  # neither: not looked at
    fs.add("/usr/lib/go/src/deep/obj.o", ELF, mode=0o644)  # deep under lib, not a library
    fs.add("/entrypoint.sh", b"#!/bin/sh\nexec /app\n", mode=0o755)
    fs.add("/bin/empty", b"", mode=0o755)
    fs.add("/proc/1/exe", ELF, mode=0o755)
    fs.add("/sys/x", ELF, mode=0o755)
    fs.add("/dev/x", ELF, mode=0o755)
    fs.add_symlink("/bin/app-link", "/app")
    return fs


def test_finds_candidates_and_skips_the_rest() -> None:
    fs = _image()
    found = [c.info.path for c in find_elf_files(fs)]
    assert found == [
        "/app",
        "/opt/vendor/plugins/libplug.so",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/local/bin/tool",
    ]


def test_reads_only_the_head() -> None:
    fs = _image()
    candidates = list(find_elf_files(fs))
    assert all(c.head == ELF[:HEAD_SIZE] for c in candidates)
    assert max(fs.reads) <= HEAD_SIZE
    assert len(fs.reads) == 6  # the four ELF files, the script and the empty file


def test_unreadable_candidate_goes_to_the_handler() -> None:
    fs = _image()
    fs.broken.add("/app")
    failures: list[tuple[str, GorcError]] = []
    found = [c.info.path for c in find_elf_files(fs, on_error=lambda i, e: failures.append(
        (i.path, e)))]
    assert "/app" not in found
    assert [path for path, _ in failures] == ["/app"]
    assert "layer is gone" in str(failures[0][1])


def test_top_limits_the_walk() -> None:
    assert [c.info.path for c in find_elf_files(_image(), top="/usr/local")] == [
        "/usr/local/bin/tool"
    ]


@pytest.mark.parametrize(("path", "expected"), [
    ("/bin/x", True), ("/usr/sbin/x", True), ("/usr/libexec/x", True), ("/lib64/x", True),
    ("/usr/lib/libz.so", True), ("/a/libz.so.1.2.13", True), ("/usr/lib/go/src/x.go", False),
    ("/usr/share/x", False), ("/binary/x", False),
])
def test_in_program_dir(path: str, expected: bool) -> None:
    assert in_program_dir(path) == expected


def test_directory_root(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "app").write_bytes(ELF)
    (tmp_path / "bin" / "app").chmod(0o755)
    (tmp_path / "notes.txt").write_text("hello")
    found = list(find_elf_files(DirFileSystem(tmp_path)))
    assert [c.info.path for c in found] == ["/bin/app"]


def test_is_go_binary_on_crafted() -> None:
    assert is_go_binary(io.BytesIO(ELF))
    assert is_go_binary(io.BytesIO(craft.go_elf_inline("go1.21.0", "", with_sections=False)))
    plain = craft.build_elf(craft.ElfSpec(loads=[craft.Load(b"\0" * 64, craft.PF_R | craft.PF_W)]))
    assert not is_go_binary(io.BytesIO(plain))
    assert not is_go_binary(io.BytesIO(b"#!/bin/sh\n"))
    assert not is_go_binary(io.BytesIO(b"\x7fELF garbage"))


@pytest.mark.go
def test_is_go_binary_on_real(probes: ProbeBuilder) -> None:
    with open(probes.build("cgo", "cgo-glibc"), "rb") as stream:
        assert is_go_binary(stream)
    if Path("/bin/ls").is_file():
        with open("/bin/ls", "rb") as stream:
            assert not is_go_binary(stream)


def _expected_elves(root: Path) -> set[str]:
    """ELF files a host-side walk finds under the root, with discover's selection rule."""
    found = set()
    for path in root.rglob("*"):
        inside = "/" + path.relative_to(root).as_posix()
        if path.is_symlink() or not path.is_file() or inside.split("/")[1] in SKIPPED_TOPS:
            continue
        with open(path, "rb") as stream:
            if stream.read(4) != b"\x7fELF":
                continue
        if path.stat().st_mode & 0o111 or in_program_dir(inside):
            found.add(inside)
    return found


SKIPPED_TOPS = {"proc", "sys", "dev"}


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "must_find"), [
    ("glibc", "libc.so.6"),
    ("musl-busybox", "/bin/busybox"),
])
def test_real_roots(roots: RootBuilder, kind: str, must_find: str) -> None:
    root = roots.build(kind)
    found = {c.info.path for c in find_elf_files(DirFileSystem(root))}
    assert found == _expected_elves(root)
    assert any(path.endswith(must_find) for path in found)
    for path in found:  # every candidate reads as ELF, and none is a Go program
        with open(root / path.lstrip("/"), "rb") as stream:
            assert not is_go_binary(stream)
