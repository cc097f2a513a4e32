"""Leading bytes recorded in the layer pass, and the ELF search that uses them."""

from __future__ import annotations

import marshal
import tempfile
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gorc.binary.discover import HEAD_SIZE, find_elf_files
from gorc.image.fs import FileInfo, MemoryFileSystem
from gorc.image.layers import LayerStore
from gorc.image.squash import SquashedFileSystem, squash
from gorc.image.tarindex import leading_bytes
from tests.image.layerkit import Member, blob, load_layers, make_tar

ELF = b"\x7fELF\x02\x01\x01" + bytes(range(200))

BASE: list[Member] = [
    ("bin", "dir", b""),
    ("bin/app", "file", ELF),
    ("bin/run.sh", "file", b"#!/bin/sh\necho hi\n"),
    ("bin/empty", "file", b""),
    ("bin/tiny", "file", b"\x7fEL"),
    ("bin/notelf", "file", b"\x7fXYZ and more"),
    ("bin/hard", "hardlink", "bin/app"),
    ("etc/passwd", "file", b"root:x:0:0::/:/bin/sh\n"),
    ("usr/lib/libc.so.6", "file", ELF[:40]),
    ("proc/1/exe", "file", ELF),
]


class _NoOpen(SquashedFileSystem):
    """Fails the test when a file is opened."""

    def _open_file(self, info: FileInfo) -> BinaryIO:
        raise AssertionError(f"{info.path} was opened")


def test_leading_bytes_keep_what_classifies_a_file() -> None:
    assert leading_bytes(ELF[:HEAD_SIZE]) == ELF[:HEAD_SIZE]
    assert leading_bytes(b"#!/bin/sh") == b"#!"
    assert leading_bytes(b"\x7fXYZ...") == b"\x7fXYZ"
    assert leading_bytes(b"hello") == b"h"
    assert leading_bytes(b"") == b""


def test_index_records_heads(tmp_path: Path) -> None:
    (layer,) = load_layers(tmp_path, BASE)
    entries = layer.entries
    assert entries["/bin/app"].head == ELF[:HEAD_SIZE]
    assert entries["/bin/run.sh"].head == b"#!"
    assert entries["/bin/empty"].head == b""
    assert entries["/etc/passwd"].head == b"r"
    assert entries["/usr/lib/libc.so.6"].head == ELF[:40]
    assert entries["/bin"].head is None and entries["/bin/hard"].head is None
    # the recorded bytes survive the cache
    again = LayerStore(tmp_path).load(blob(make_tar(BASE), make_tar(BASE)))
    assert again.entries == entries


def test_squashed_head_matches_content(tmp_path: Path) -> None:
    fs = squash(load_layers(tmp_path, BASE))
    for info in fs.walk("/"):
        head = fs.head(info)
        if info.type.value != "file":
            assert head is None
            continue
        assert head is not None
        assert fs.read(info.path).startswith(head)
    hard = fs.lstat("/bin/hard")
    assert hard is not None and fs.head(hard) == ELF[:HEAD_SIZE]


def test_find_elf_files_opens_nothing_on_a_squashed_image(tmp_path: Path) -> None:
    layers = load_layers(tmp_path, BASE)
    fs = _NoOpen(layers)
    for position in range(len(layers)):
        fs.apply(position)
    found = [(c.info.path, c.head) for c in find_elf_files(fs)]
    assert found == [("/bin/hard", ELF[:HEAD_SIZE]), ("/bin/app", ELF[:HEAD_SIZE]),
                     ("/usr/lib/libc.so.6", ELF[:40])]
    walked = [info.path for info in fs.walk("/") if info.path in dict(found)]
    assert [path for path, _ in found] == walked


def test_a_longer_head_than_recorded_is_read(tmp_path: Path) -> None:
    fs = squash(load_layers(tmp_path, BASE))
    heads = {c.info.path: c.head for c in find_elf_files(fs, head_size=100)}
    assert heads["/bin/app"] == ELF[:100]


def test_outdated_index_is_rebuilt_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tar = make_tar(BASE)
    store = LayerStore(tmp_path)
    index = store.load(blob(tar, tar))
    index_file = index.tar_path.parent / "index"
    _version, *rest = marshal.loads(index_file.read_bytes())
    rows = [row[:8] for row in rest[3]]  # the layout before heads were recorded
    index_file.write_bytes(marshal.dumps((1, *rest[:3], rows, *rest[4:])))

    rebuilt = store.load(blob(tar, tar))
    assert rebuilt.entries["/bin/app"].head == ELF[:HEAD_SIZE]
    assert "damaged" not in caplog.text


_NAMES = st.sampled_from(["bin", "lib", "usr/bin", "usr/lib", "opt", "opt/x", "sbin"])
_DATA = st.one_of(st.just(ELF), st.just(b"#!/bin/sh\n"), st.binary(max_size=80))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_NAMES, st.text("abc.so", min_size=1, max_size=6).filter(
    lambda name: name not in (".", "..")), _DATA,
                          st.booleans()), max_size=12))
def test_index_search_equals_reading_every_file(
    files: list[tuple[str, str, bytes, bool]]
) -> None:
    memory = MemoryFileSystem()
    members: list[Member] = []
    for directory, name, data, _ in files:
        members.append((f"{directory}/{name}", "file", data))
        memory.add(f"/{directory}/{name}", data, mode=0o755)
    with tempfile.TemporaryDirectory() as cache:
        fs = squash(load_layers(Path(cache), members))
        fast = [(c.info.path, c.head) for c in find_elf_files(fs)]
    slow = [(c.info.path, c.head) for c in find_elf_files(memory)]
    assert fast == slow
