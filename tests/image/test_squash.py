"""Squash semantics (OCI image spec, applying changesets) and the FileSystem API on them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from gorc.errors import ImageSourceError
from gorc.image.fs import DirFileSystem, FileType, MemoryFileSystem, SymlinkLoopError
from gorc.image.layers import LayerStore
from gorc.image.sources.docker_archive import DockerArchiveSource
from gorc.image.squash import SquashedFileSystem, squash
from tests.image.layerkit import Member, load_layers
from tests.support.engine import DockerEngine
from tests.support.roots import RootBuilder, image_from_root


def _squash(tmp_path: Path, *layers: Sequence[Member]) -> SquashedFileSystem:
    return squash(load_layers(tmp_path, *layers), image_name="test:img")


def _tree(fs: SquashedFileSystem) -> dict[str, str]:
    """path -> type, plus ``:content`` for files and ``->target`` for symlinks."""
    tree = {}
    for info in fs.walk("/"):
        if info.type is FileType.FILE:
            tree[info.path] = "file:" + fs.read(info.path).decode()
        elif info.type is FileType.SYMLINK:
            tree[info.path] = "->" + info.linkname
        else:
            tree[info.path] = info.type.value
    return tree


CASES: list[tuple[str, list[list[Member]], dict[str, str]]] = [
    (
        "later layer overwrites a file",
        [[("a", "file", "1")], [("a", "file", "2")]],
        {"/a": "file:2"},
    ),
    (
        "whiteout deletes a file",
        [[("d/a", "file", "1"), ("d/b", "file", "2")], [("d/.wh.a", "file", "")]],
        {"/d": "dir", "/d/b": "file:2"},
    ),
    (
        "whiteout deletes a subtree",
        [[("d/sub/x", "file", "1"), ("d/keep", "file", "2")], [("d/.wh.sub", "file", "")]],
        {"/d": "dir", "/d/keep": "file:2"},
    ),
    (
        "whiteout does not hide an entry of the same layer",
        [[("d/a", "file", "1")], [("d/.wh.a", "file", ""), ("d/a", "symlink", "x")]],
        {"/d": "dir", "/d/a": "->x"},
    ),
    (
        "opaque dir hides lower content only",
        [[("d/old", "file", "1"), ("d/sub/x", "file", "2")],
         [("d/new", "file", "3"), ("d/.wh..wh..opq", "file", "")]],
        {"/d": "dir", "/d/new": "file:3"},
    ),
    (
        "file replaces a directory and drops its children",
        [[("d/x", "file", "1"), ("d/y/z", "file", "2")], [("d", "file", "f")]],
        {"/d": "file:f"},
    ),
    (
        "directory replaces a file",
        [[("d", "file", "f")], [("d/x", "file", "1")]],
        {"/d": "dir", "/d/x": "file:1"},
    ),
    (
        "directory over directory merges",
        [[("d/x", "file", "1")], [("d", "dir", ""), ("d/y", "file", "2")]],
        {"/d": "dir", "/d/x": "file:1", "/d/y": "file:2"},
    ),
    (
        "symlink replaces a directory",
        [[("d/x", "file", "1")], [("d", "symlink", "/e"), ("e/y", "file", "2")]],
        {"/d": "->/e", "/e": "dir", "/e/y": "file:2"},
    ),
    (
        "hard link in the same layer",
        [[("a", "file", "data"), ("b", "hardlink", "a")]],
        {"/a": "file:data", "/b": "file:data"},
    ),
    (
        "hard link to a lower layer survives the target's whiteout",
        [[("a", "file", "data")], [("b", "hardlink", "a")], [(".wh.a", "file", "")]],
        {"/b": "file:data"},
    ),
    (
        "entry under a symlinked parent lands in the link's target (merged /usr)",
        [[("usr/lib/x", "file", "1"), ("lib", "symlink", "usr/lib")],
         [("lib/y", "file", "2")]],
        {"/lib": "->usr/lib", "/usr": "dir", "/usr/lib": "dir", "/usr/lib/x": "file:1",
         "/usr/lib/y": "file:2"},
    ),
    (
        "paths are normalised",
        [[("./a/b", "file", "1"), ("/c/", "dir", ""), ("c/d", "file", "2")]],
        {"/a": "dir", "/a/b": "file:1", "/c": "dir", "/c/d": "file:2"},
    ),
    (
        "opaque marker without its directory entry",
        [[("d", "file", "was a file")], [("d/.wh..wh..opq", "file", ""), ("d/n", "file", "1")]],
        {"/d": "dir", "/d/n": "file:1"},
    ),
    (
        "whiteout of something absent is harmless",
        [[("a", "file", "1")], [(".wh.nothing", "file", "")]],
        {"/a": "file:1"},
    ),
]


@pytest.mark.parametrize(("layers", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_squash(tmp_path: Path, layers: list[list[Member]], expected: dict[str, str]) -> None:
    assert _tree(_squash(tmp_path, *layers)) == expected


def test_layer_of_is_the_last_writer(tmp_path: Path) -> None:
    layers = load_layers(
        tmp_path,
        [("etc/passwd", "file", "a"), ("bin/sh", "file", "sh")],
        [("etc/passwd", "file", "b"), ("etc/group", "file", "g")],
        [("bin/.wh.sh", "file", ""), ("bin/sh", "symlink", "busybox")],
    )
    fs = squash(layers)
    base, app, top = (layer.diff_id for layer in layers)
    assert fs.layers == (base, app, top)
    assert fs.layer_of("/etc/passwd") == app
    assert fs.layer_of("/etc/group") == app
    assert fs.layer_of("/bin/sh") == top
    assert fs.lstat("/bin/sh").layer == top  # type: ignore[union-attr]
    assert fs.layer_of("/nothing") is None
    assert fs.lstat("/").layer is None  # type: ignore[union-attr]


def test_hard_link_to_missing_target_is_an_unknown(tmp_path: Path) -> None:
    fs = _squash(tmp_path, [("b", "hardlink", "missing")])
    assert fs.lstat("/b") is None
    [unknown] = fs.unknowns
    assert unknown.what == "/b"
    assert "hard link target /missing is not in the image" in unknown.reason
    assert unknown.location is not None


def test_symlink_chain_across_layers(tmp_path: Path) -> None:
    fs = _squash(
        tmp_path,
        [("usr/bin/busybox", "file", "bb"), ("bin", "symlink", "usr/bin")],
        [("usr/bin/sh", "symlink", "busybox")],
        [("usr/local/bin/sh", "symlink", "/bin/sh")],
    )
    assert fs.resolve("/usr/local/bin/sh") == "/usr/bin/busybox"
    assert fs.read("/usr/local/bin/sh") == b"bb"
    assert fs.stat("/bin/sh").layer == fs.layers[0]  # type: ignore[union-attr]


def test_links_out_of_the_root_stay_inside(tmp_path: Path) -> None:
    fs = _squash(tmp_path, [
        ("etc/passwd", "file", "image"),
        ("escape", "symlink", "../../../../etc/passwd"),
        ("abs", "symlink", "/etc/passwd"),
        ("up", "symlink", "../../.."),
    ])
    assert fs.read("/escape") == b"image"
    assert fs.read("/abs") == b"image"
    assert fs.resolve("/up") == "/"
    assert fs.read("/up/etc/passwd") == b"image"


def test_symlink_loop(tmp_path: Path) -> None:
    fs = _squash(tmp_path, [("a", "symlink", "b"), ("b", "symlink", "a"), ("c", "file", "x")])
    with pytest.raises(SymlinkLoopError):
        fs.resolve("/a")
    assert fs.stat("/a") is None
    assert not fs.exists("/a/x")
    assert fs.listdir("/a") == []
    assert sorted(i.path for i in fs.walk("/")) == ["/a", "/b", "/c"]


def test_symlink_loop_in_memory_and_dir_filesystems(tmp_path: Path) -> None:
    """Every FileSystem lists a looping path as empty, as the squashed one does."""
    memory = MemoryFileSystem()
    memory.add_symlink("/a", "b")
    memory.add_symlink("/b", "a")
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    for fs in (memory, DirFileSystem(tmp_path)):
        assert fs.listdir("/a") == []
        assert fs.stat("/a") is None
        assert sorted(i.path for i in fs.walk("/")) == ["/a", "/b"]


def test_which_through_path(tmp_path: Path) -> None:
    fs = _squash(tmp_path, [
        ("bin/busybox", "file", "bb"),
        ("bin/sh", "symlink", "busybox"),
        ("usr/bin/notexec", "file", "x"),
        ("usr/local/bin/app", "file", "app"),
    ])
    path_env = "/usr/local/bin:/usr/bin:/bin"
    assert fs.which("sh", path_env) == "/bin/sh"
    assert fs.which("app", path_env) == "/usr/local/bin/app"
    assert fs.which("curl", path_env) is None
    assert fs.which("/bin/busybox", None) == "/bin/busybox"


def test_read_is_bounded_and_lazy(tmp_path: Path) -> None:
    fs = _squash(tmp_path, [("big", "file", b"z" * 100_000), ("d", "dir", "")])
    assert fs.read("/big", limit=10) == b"z" * 10
    assert fs.read_text("/missing") is None
    with fs.open("/big") as stream:
        stream.seek(99_998)
        assert stream.read() == b"zz"
    with pytest.raises(ImageSourceError, match="not a regular file in image: /d"):
        fs.open("/d")


def test_devices_are_entries_only(tmp_path: Path) -> None:
    fs = _squash(tmp_path, [("dev/null", "char", ""), ("dev/fifo", "fifo", "")])
    assert fs.lstat("/dev/null").type is FileType.CHAR  # type: ignore[union-attr]
    assert fs.lstat("/dev/fifo").type is FileType.FIFO  # type: ignore[union-attr]
    assert fs.listdir("/dev") == ["fifo", "null"]


DOCKERFILE = """\
FROM {base}
RUN mkdir -p /data/sub /data/dir && echo one > /data/sub/f && echo keep > /data/k \\
    && echo gone > /data/g && echo f > /data/dir/x
RUN rm /data/g && rm -rf /data/sub && mkdir /data/sub && echo two > /data/sub/new \\
    && ln /data/k /data/hard && ln -s ../data/k /data/sym \\
    && rm -rf /data/dir && echo now-a-file > /data/dir
RUN rm -rf /data/sub && mkdir /data/sub && echo three > /data/sub/newer
"""


@pytest.mark.engine
@pytest.mark.slow
def test_squash_matches_a_real_container(
    engine: DockerEngine, roots: RootBuilder, tmp_path: Path
) -> None:
    base = image_from_root(engine, roots.build("musl-busybox"), "gorc-test/squash-base:1")
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    tag = "gorc-test/squash-layers:1"
    engine.build(context, tag)
    archive = engine.save(tag, tmp_path / "image.tar")

    with DockerArchiveSource(archive) as source:
        image = source.open()
        store = LayerStore(tmp_path / "cache")
        fs = squash([store.load(blob) for blob in image.layers], tag)

    listing = engine.run(tag, ["sh", "-c", "find /data | sort; cat /data/sub/* /data/dir"])
    assert listing.exit_code == 0, listing.output
    ours = sorted(info.path for info in fs.walk("/data"))
    assert listing.output.split() == ["/data", *ours, "three", "now-a-file"]
    assert fs.read("/data/hard") == b"keep\n"
    assert fs.read("/data/sym") == b"keep\n"
    assert fs.layer_of("/data/sub/newer") == fs.layers[-1]
    assert fs.which("sh", "/usr/bin:/bin") == "/bin/sh"
    assert fs.unknowns == []
