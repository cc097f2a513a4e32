"""LayerStore: one pass per blob, every compression, digests, the cache."""

from __future__ import annotations

import io
import logging
import marshal
import os
import tarfile
import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from gorc.errors import LayerError
from gorc.image.layers import LayerStore, default_cache_dir
from tests.image.layerkit import blob, compress, digest, make_tar

MEMBERS = [
    ("etc", "dir", b""),
    ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"),
    ("bin/busybox", "file", b"\x7fELF" + b"x" * 5000),
    ("bin/sh", "symlink", "busybox"),
    ("bin/ls", "hardlink", "bin/busybox"),
    ("dev/null", "char", b""),
    ("etc/.wh.shadow", "file", b""),
    ("usr/.wh..wh..opq", "file", b""),
]


def _never_open() -> BinaryIO:
    raise AssertionError("the blob was read although the layer is cached")


@pytest.mark.parametrize("how", ["none", "gzip", "zstd"])
@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_load_indexes_every_entry(tmp_path: Path, how: str, fmt: int) -> None:
    tar = make_tar(MEMBERS, fmt)
    index = LayerStore(tmp_path).load(blob(compress(tar, how), tar))

    assert index.diff_id == digest(tar)
    assert list(index.entries) == [
        "/etc", "/etc/passwd", "/bin/busybox", "/bin/sh", "/bin/ls", "/dev/null"]
    assert index.whiteouts == ("/etc/shadow",)
    assert index.opaque_dirs == ("/usr",)
    sh = index.entries["/bin/sh"]
    assert (sh.kind, sh.linkname) == ("symlink", "busybox")
    assert index.entries["/bin/ls"].linkname == "/bin/busybox"
    assert index.entries["/dev/null"].kind == "char"
    passwd = index.entries["/etc/passwd"]
    with index.open_data(passwd.offset, passwd.size) as stream:
        assert stream.read() == b"root:x:0:0:root:/root:/bin/sh\n"


def test_layer_tar_is_the_uncompressed_stream(tmp_path: Path) -> None:
    tar = make_tar(MEMBERS)
    index = LayerStore(tmp_path).load(blob(compress(tar, "gzip"), tar))
    assert index.tar_path.read_bytes() == tar
    assert index.tar_path.is_relative_to(tmp_path / "layers" / "sha256")


def test_long_names_and_links(tmp_path: Path) -> None:
    name = "a/" + "n" * 150 + "/file"
    target = "/" + "t" * 200
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        tar = make_tar([(name, "file", b"x"), ("l", "symlink", target)], fmt)
        index = LayerStore(tmp_path / str(fmt)).load(blob(tar, tar))
        assert "/" + name in index.entries
        assert index.entries["/l"].linkname == target


def test_multi_member_gzip_and_multi_frame_zstd(tmp_path: Path) -> None:
    tar = make_tar(MEMBERS)
    half = len(tar) // 2
    for stored in (compress(tar[:half], "gzip") + compress(tar[half:], "gzip"),
                   compress(tar[:half], "zstd") + compress(tar[half:], "zstd")):
        index = LayerStore(tmp_path).load(blob(stored, tar))
        assert "/bin/busybox" in index.entries


def test_media_type_is_not_trusted_for_compression(tmp_path: Path) -> None:
    tar = make_tar(MEMBERS)
    stored = compress(tar, "zstd")
    mislabeled = blob(stored, tar, media_type="application/vnd.oci.image.layer.v1.tar+gzip")
    assert "/etc/passwd" in LayerStore(tmp_path).load(mislabeled).entries


def test_cache_hit_does_not_read_the_blob(tmp_path: Path) -> None:
    tar = make_tar(MEMBERS)
    stored = compress(tar, "gzip")
    store = LayerStore(tmp_path)
    first = store.load(blob(stored, tar))
    assert store.has(first.diff_id)

    again = LayerStore(tmp_path).load(blob(stored, tar, opener=_never_open))
    assert again.entries == first.entries
    assert again.digest == digest(stored)


def test_cache_hit_by_blob_digest_without_diff_id(tmp_path: Path) -> None:
    tar = make_tar(MEMBERS)
    stored = compress(tar, "gzip")
    LayerStore(tmp_path).load(blob(stored))
    again = LayerStore(tmp_path).load(blob(stored, opener=_never_open))
    assert again.diff_id == digest(tar)


def test_damaged_cache_entry_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tar = make_tar(MEMBERS)
    stored = compress(tar, "gzip")
    store = LayerStore(tmp_path)
    index = store.load(blob(stored, tar))
    with open(index.tar_path, "ab") as tail:
        tail.write(b"junk")

    with caplog.at_level(logging.WARNING):
        rebuilt = store.load(blob(stored, tar))
    assert "dropping damaged cache entry" in caplog.text
    assert rebuilt.tar_path.read_bytes() == tar

    (index.tar_path.parent / "index").write_bytes(b"not marshal")
    assert store.load(blob(stored, tar)).entries == index.entries


def test_old_index_version_is_rebuilt(tmp_path: Path) -> None:
    tar = make_tar(MEMBERS)
    store = LayerStore(tmp_path)
    index = store.load(blob(tar, tar))
    index_file = index.tar_path.parent / "index"
    data = list(marshal.loads(index_file.read_bytes()))
    data[0] = 0
    index_file.write_bytes(marshal.dumps(tuple(data)))
    assert store.load(blob(tar, tar)).entries == index.entries


def test_no_half_layer_after_a_failure(tmp_path: Path) -> None:
    tar = make_tar(MEMBERS)
    stored = compress(tar, "gzip")
    with pytest.raises(LayerError):
        LayerStore(tmp_path).load(blob(stored[:-20], tar))
    assert not LayerStore(tmp_path).has(digest(tar))
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "layers").exists() or not any((tmp_path / "layers").rglob("*.tar"))


def test_empty_layer(tmp_path: Path) -> None:
    for tar in (bytes(1024), bytes(10240), b""):
        index = LayerStore(tmp_path).load(blob(tar, tar))
        assert index.entries == {}


def test_tar_without_end_blocks_is_accepted(tmp_path: Path) -> None:
    tar = make_tar([("a", "file", b"x" * 700)])
    cut = tar[:1536]  # header + two data blocks, no end-of-archive blocks
    assert "/a" in LayerStore(tmp_path).load(blob(cut, cut)).entries


def test_data_stream_is_bounded_and_seekable(tmp_path: Path) -> None:
    content = bytes(range(256)) * 40
    tar = make_tar([("a", "file", content), ("b", "file", b"next")])
    index = LayerStore(tmp_path).load(blob(tar, tar))
    entry = index.entries["/a"]
    with index.open_data(entry.offset, entry.size) as stream:
        assert stream.read(10) == content[:10]
        stream.seek(-5, io.SEEK_END)
        assert stream.read() == content[-5:]
        stream.seek(100)
        assert stream.read(3) == content[100:103]
        stream.seek(0)
        assert stream.read() == content


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GORC_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("GORC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "gorc"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "gorc"


def test_concurrent_loads_of_one_layer(tmp_path: Path) -> None:
    tar = make_tar([*MEMBERS, ("big", "file", b"b" * 3000000)])
    stored = compress(tar, "gzip")
    results: list[object] = []

    def load() -> None:
        try:
            results.append(LayerStore(tmp_path).load(blob(stored, tar)).entries)
        except Exception as err:  # any error is reported by the assertion below
            results.append(err)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, dict) and "/big" in r for r in results), results
    assert [p.name for p in (tmp_path / "layers" / "sha256").iterdir()] == [digest(tar)[7:]]
    assert list((tmp_path / "tmp").iterdir()) == []
    assert LayerStore(tmp_path).load(blob(stored, tar, opener=_never_open)).size == len(tar)


def test_prune_drops_least_recently_used_layers(tmp_path: Path) -> None:
    store = LayerStore(tmp_path)
    tars = [make_tar([(f"f{n}", "file", bytes(20_000))]) for n in range(3)]
    indexes = [store.load(blob(tar, tar)) for tar in tars]
    for age, index in zip((300, 100, 200), indexes, strict=True):
        index_file = index.tar_path.parent / "index"
        stamp = index_file.stat().st_mtime - age
        os.utime(index_file, (stamp, stamp))

    one_layer = indexes[1].size + (indexes[1].tar_path.parent / "index").stat().st_size
    freed = store.prune(one_layer)
    assert freed > 0
    assert [store.has(index.diff_id) for index in indexes] == [False, True, False]
    assert store.prune(10**12) == 0


def test_zstd_with_skippable_frames(tmp_path: Path) -> None:
    tar = make_tar(MEMBERS)
    skippable = (0x184D2A53).to_bytes(4, "little") + (3).to_bytes(4, "little") + b"toc"
    stored = skippable + compress(tar, "zstd") + skippable
    assert "/bin/sh" in LayerStore(tmp_path).load(blob(stored, tar)).entries
