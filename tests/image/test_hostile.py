"""Hostile layers: each gives one clear LayerError or a recorded, harmless result.

Every test runs with the working directory in an empty folder and checks that
nothing appeared anywhere but the layer cache.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from gorc.errors import LayerError
from gorc.image.fs import FileType
from gorc.image.layers import LayerIndex, LayerStore
from gorc.image.squash import squash
from tests.image.layerkit import blob, compress, digest, make_tar, raw_header


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache dir; afterwards, nothing outside it and nothing half-written in it."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    cache_dir = tmp_path / "cache"
    yield cache_dir
    assert list(work.iterdir()) == []
    assert {p.name for p in tmp_path.iterdir()} <= {"cache", "work"}
    allowed = {"layer.tar", "index"}
    for path in cache_dir.rglob("*"):
        relative = path.relative_to(cache_dir)
        assert relative.parts[0] in ("layers", "digests", "tmp"), relative
        if path.is_file() and relative.parts[0] == "layers":
            assert path.name in allowed
    tmp = cache_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def _load(cache: Path, stored: bytes, tar: bytes | None = None, **kw: object) -> LayerIndex:
    return LayerStore(cache).load(blob(stored, tar, **kw))


def _label(stored: bytes) -> str:
    return digest(stored)[:19] + "..."


def test_dot_dot_and_absolute_names_stay_inside_the_root(cache: Path) -> None:
    tar = make_tar([
        ("../../etc/passwd", "file", "evil"),
        ("/abs/file", "file", "a"),
        ("a/../../../b", "file", "b"),
    ])
    index = _load(cache, tar, tar)
    assert list(index.entries) == ["/etc/passwd", "/abs/file", "/b"]
    fs = squash([index])
    assert fs.read("/etc/passwd") == b"evil"
    assert sorted(fs.listdir("/")) == ["abs", "b", "etc"]


def test_symlinks_out_of_the_root_and_loops(cache: Path) -> None:
    tar = make_tar([
        ("etc/passwd", "file", "image"),
        ("out", "symlink", "/../../../etc/passwd"),
        ("loop1", "symlink", "loop2"),
        ("loop2", "symlink", "loop1"),
        ("self", "symlink", "self/x"),
    ])
    fs = squash([_load(cache, tar, tar)])
    assert fs.read("/out") == b"image"
    assert fs.stat("/loop1") is None
    assert fs.stat("/self") is None
    assert fs.which("loop1", "/") is None


def test_device_files_are_recorded_not_created(cache: Path) -> None:
    tar = make_tar([("dev/sda", "block", b""), ("dev/null", "char", b""),
                    ("dev/p", "fifo", b"")])
    fs = squash([_load(cache, tar, tar)])
    kinds = {info.path: info.type for info in fs.walk("/dev")}
    assert kinds == {"/dev/sda": FileType.BLOCK, "/dev/null": FileType.CHAR,
                     "/dev/p": FileType.FIFO}


def test_absurd_size_with_a_short_stream(cache: Path) -> None:
    huge = b"\x80" + (2**40).to_bytes(11, "big")  # GNU base-256: 1 TiB
    stored = raw_header(b"big", size=huge) + b"x" * 4096
    with pytest.raises(LayerError) as caught:
        _load(cache, stored)
    assert str(caught.value) == (
        f"cannot read layer {_label(stored)}: unexpected end of tar stream at offset 4608")


def test_absurd_size_in_gzip(cache: Path) -> None:
    tar = raw_header(b"big", size=b"77777777777") + bytes(8192)
    stored = compress(tar, "gzip")
    with pytest.raises(LayerError, match="unexpected end of tar stream"):
        _load(cache, stored)


@pytest.mark.parametrize(("field", "why"), [
    ({"size": b"\xff" + b"\xff" * 11}, "negative number"),
    ({"size": b"12x4"}, "bad number b'12x4"),
    ({"mode": b"-000644"}, "bad number b'-000644"),
])
def test_garbage_numbers(cache: Path, field: dict[str, bytes], why: str) -> None:
    stored = raw_header(b"f", **field) + bytes(1024)  # type: ignore[arg-type]
    with pytest.raises(LayerError) as caught:
        _load(cache, stored)
    assert str(caught.value).startswith(
        f"cannot read layer {_label(stored)}: malformed tar header at offset 0: {why}")


def test_bad_checksum(cache: Path) -> None:
    stored = raw_header(b"f", fix_checksum=False) + bytes(1024)
    with pytest.raises(LayerError) as caught:
        _load(cache, stored)
    assert str(caught.value) == (f"cannot read layer {_label(stored)}: malformed tar header "
                                 "at offset 0: checksum mismatch (not a tar archive?)")


def test_not_a_tar_at_all(cache: Path) -> None:
    stored = b"this is a README, not a layer\n" * 100
    with pytest.raises(LayerError, match=r"malformed tar header at offset 0: checksum mismatch"):
        _load(cache, stored)


def test_huge_pax_record(cache: Path) -> None:
    stored = raw_header(b"pax", size=b"%011o" % (64 * 1024 * 1024), typeflag=b"x")
    with pytest.raises(LayerError, match=r"malformed tar header at offset 0: 67108864-byte 'x'"):
        _load(cache, stored)


def test_truncated_gzip(cache: Path) -> None:
    tar = make_tar([("a", "file", b"x" * 100_000)])
    stored = compress(tar, "gzip")[:-30]
    with pytest.raises(LayerError) as caught:
        _load(cache, stored)
    assert str(caught.value) == f"cannot read layer {_label(stored)}: unexpected end of gzip stream"


def test_truncated_zstd(cache: Path) -> None:
    tar = make_tar([("a", "file", b"x" * 100_000)])
    stored = compress(tar, "zstd")[:-5]
    with pytest.raises(LayerError) as caught:
        _load(cache, stored)
    assert str(caught.value) == f"cannot read layer {_label(stored)}: unexpected end of zstd stream"


def test_corrupt_gzip(cache: Path) -> None:
    stored = b"\x1f\x8b" + b"\x08\x00" + b"garbage" * 20
    with pytest.raises(LayerError, match="corrupt gzip stream"):
        _load(cache, stored)


def test_wrong_digest(cache: Path) -> None:
    tar = make_tar([("a", "file", b"x")])
    stored = compress(tar, "gzip")
    claimed = "sha256:" + "ab12" * 16
    with pytest.raises(LayerError) as caught:
        _load(cache, stored, tar, digest=claimed)
    assert str(caught.value) == (f"layer sha256:ab12ab12ab12...: digest mismatch: "
                                 f"stored content is {digest(stored)}")


def test_wrong_diff_id(cache: Path) -> None:
    tar = make_tar([("a", "file", b"x")])
    stored = compress(tar, "gzip")
    claimed = "sha256:" + "cd34" * 16
    with pytest.raises(LayerError) as caught:
        _load(cache, stored, diff_id=claimed)
    assert str(caught.value) == (f"layer {_label(stored)}: digest mismatch: uncompressed "
                                 f"content is {digest(tar)}, the image config says {claimed}")
    assert not LayerStore(cache).has(digest(tar))


def test_damaged_blob_with_wrong_digest_blames_the_digest(cache: Path) -> None:
    tar = make_tar([("a", "file", b"x" * 10_000)])
    good = compress(tar, "gzip")
    damaged = good[:100] + bytes(50) + good[150:]
    with pytest.raises(LayerError, match="digest mismatch: stored content is"):
        _load(cache, damaged, tar, digest=digest(good))


def test_wrong_size(cache: Path) -> None:
    tar = make_tar([("a", "file", b"x")])
    with pytest.raises(LayerError, match=r"size mismatch: \d+ bytes, the manifest says 7"):
        _load(cache, tar, tar, size=7)


@pytest.mark.parametrize("media_type", [
    "application/vnd.oci.image.layer.v1.tar+bzip2",
    "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
    "text/plain",
])
def test_unknown_media_type(cache: Path, media_type: str) -> None:
    tar = make_tar([("a", "file", b"x")])
    with pytest.raises(LayerError) as caught:
        _load(cache, tar, tar, media_type=media_type)
    assert str(caught.value) == (f"cannot read layer {_label(tar)}: unsupported media type "
                                 f"{media_type}")


def test_xz_layer(cache: Path) -> None:
    stored = b"\xfd7zXZ\x00" + bytes(100)
    with pytest.raises(LayerError, match="xz compression is not a layer format"):
        _load(cache, stored)


def test_unreadable_stream(cache: Path) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise OSError(5, "Input/output error")

    with pytest.raises(LayerError, match="Input/output error"):
        _load(cache, b"", opener=lambda: Broken())


def test_gzip_bomb_memory_is_bounded(cache: Path) -> None:
    import resource

    tar = make_tar([("zeros", "file", bytes(64 * 1024 * 1024))])
    stored = compress(tar, "gzip")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    index = _load(cache, stored, tar)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert index.entries["/zeros"].size == 64 * 1024 * 1024
    assert grown_mib < 32


def test_crafted_digests_name_no_path_outside_the_cache(cache: Path) -> None:
    tar = make_tar([("a", "file", b"x")])
    with pytest.raises(LayerError, match="digest mismatch"):
        _load(cache, tar, digest="sha256:../../../escape")
    with pytest.raises(LayerError, match="malformed digest"):
        _load(cache, tar, diff_id="sha256:../../escape")


def test_pax_size_must_be_ascii_digits(cache: Path) -> None:
    record = "11 size=²\n".encode()
    pax = raw_header(b"pax", size=b"%011o" % len(record), typeflag=b"x")
    stored = pax + record.ljust(512, b"\0") + raw_header(b"f") + bytes(1024)
    with pytest.raises(LayerError, match=r"malformed tar header at offset 0: PAX size '²'"):
        _load(cache, stored)


def test_root_cannot_be_replaced_and_symlinked_parents_stay_inside(cache: Path) -> None:
    first = make_tar([("x", "symlink", "/"), ("up", "symlink", "../../..")])
    second = make_tar([("./", "symlink", "/elsewhere"), ("x/etc/passwd", "file", "via x"),
                       ("up/etc/group", "file", "via up")])
    fs = squash([_load(cache, first, first), _load(cache, second, second)])
    assert fs.lstat("/").type is FileType.DIR  # type: ignore[union-attr]
    assert fs.read("/etc/passwd") == b"via x"
    assert fs.read("/etc/group") == b"via up"
    assert fs.lstat("/x").type is FileType.SYMLINK  # type: ignore[union-attr]
