"""The squashed filesystem: an image's layers applied in order, read lazily.

Layers are applied as the OCI image spec's "Applying Changesets" says: within a
layer, whiteouts (``.wh.NAME``) and opaque markers (``.wh..wh..opq``) hide
content of *lower* layers only, then the layer's entries are added; an entry of
another type replaces what was at its path (a non-directory over a directory
drops the directory's children); a directory over a directory merges. Parents
a tar leaves out are implied, and a parent that is a symlink in the lower
layers is followed inside the root, as an extraction chrooted into the image
would do. Nothing is extracted: a file's bytes stay in its layer's cached tar.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Collection, Iterator, Sequence
from typing import BinaryIO

from gorc.errors import ImageSourceError
from gorc.image.fs import FileInfo, FileSystem, FileType, normalize
from gorc.image.gcpause import gc_paused
from gorc.image.layers import LayerIndex
from gorc.image.tarindex import HARDLINK, TarEntry
from gorc.model import ImageLocation, Unknown

log = logging.getLogger(__name__)

_TYPES = {kind.value: kind for kind in FileType}
_DIR = FileType.DIR.value
_FILE = FileType.FILE.value
_SYMLINK = FileType.SYMLINK.value


#: One path of the squashed tree: (entry, position of the layer that wrote it, position of
#: the layer holding its data). A plain tuple: squash builds one per path, so it is hot.
_Node = tuple[TarEntry, int, int]


class SquashedFileSystem(FileSystem):
    """The merged view of an image's layers (see :func:`squash`).

    ``unknowns`` lists what could not be applied (a hard link whose target is
    missing), located in ``image_name`` at the path and layer concerned.
    """

    def __init__(self, layers: Sequence[LayerIndex], image_name: str = "") -> None:
        self._layers = tuple(layers)
        self.image_name = image_name
        root = TarEntry("/", _DIR, 0o755, 0, 0, 0, "", 0)
        self._nodes: dict[str, _Node] = {"/": (root, -1, -1)}
        self._children: dict[str, set[str]] = {"/": set()}
        self.unknowns: list[Unknown] = []

    @property
    def layers(self) -> tuple[str, ...]:
        """The diff_ids of the layers, base first."""
        return tuple(layer.diff_id for layer in self._layers)

    # -- FileSystem ----------------------------------------------------------------

    def lstat(self, path: str) -> FileInfo | None:
        """See :meth:`FileSystem.lstat`."""
        node = self._nodes.get(path)
        if node is None:
            path = normalize(path)
            node = self._nodes.get(path)
            if node is None:
                return None
        return self._info(path, node)

    def _info(self, path: str, node: _Node) -> FileInfo:
        entry, writer, _ = node
        return FileInfo(
            path=path,
            type=_TYPES[entry.kind],
            mode=entry.mode,
            size=entry.size,
            uid=entry.uid,
            gid=entry.gid,
            linkname=entry.linkname if entry.kind == _SYMLINK else "",
            layer=self._layers[writer].diff_id if writer >= 0 else None,
        )

    def walk(self, top: str = "/") -> Iterator[FileInfo]:
        """See :meth:`FileSystem.walk`; reads the tree directly (``top`` may be a symlink)."""
        real = self._resolve_quietly(top)
        stack = [real] if real is not None and real in self._children else []
        while stack:
            directory = stack.pop()
            prefix = directory if directory == "/" else directory + "/"
            for name in sorted(self._children.get(directory, ()), reverse=True):
                path = prefix + name
                info = self._info(path, self._nodes[path])
                yield info
                if info.type is FileType.DIR:
                    stack.append(path)

    def listdir(self, path: str) -> list[str]:
        """See :meth:`FileSystem.listdir`."""
        names = self._children.get(path)
        if names is not None:  # a real directory's own path: nothing to resolve
            return sorted(names)
        real = self._resolve_quietly(path)
        if real is None:
            return []
        return sorted(self._children.get(real, ()))

    def head(self, info: FileInfo) -> bytes | None:
        """See :meth:`FileSystem.head`: the leading bytes the layer index recorded."""
        node = self._nodes.get(info.path)
        if node is None or node[0].kind != _FILE:
            return None
        return node[0].head

    def files_by_head(
        self, magic: bytes, top: str = "/", skip: Collection[str] = ()
    ) -> list[FileInfo]:
        """Regular files under ``top`` whose recorded leading bytes start with ``magic``,
        and those whose leading bytes were not recorded, in the order :meth:`walk`
        yields them.

        Directories in ``skip`` (absolute paths) are left out with their content.
        This looks at the index only: no directory is listed and no file is opened,
        so finding the few ELF files among an image's many thousands costs little.
        """
        real = self._resolve_quietly(top)
        if real is None or real not in self._children:
            return []
        prefix = "/" if real == "/" else real + "/"
        skipped = tuple(directory.rstrip("/") + "/" for directory in skip)
        found = []
        for path, node in self._nodes.items():
            entry = node[0]
            if entry.kind != _FILE or (entry.head is not None
                                       and not entry.head.startswith(magic)):
                continue
            if path.startswith(prefix) and not path.startswith(skipped):
                found.append(path)
        # walk order: directories depth first in name order (a parent before its
        # children: their paths sorted by parts), each one's files in reverse name order
        found.sort(reverse=True)
        found.sort(key=lambda path: path.rpartition("/")[0].split("/"))
        return [self._info(path, self._nodes[path]) for path in found]

    def _open_file(self, info: FileInfo) -> BinaryIO:
        node = self._nodes.get(info.path)
        if node is None or node[2] < 0:
            raise ImageSourceError(f"no such file in image: {info.path}")
        return self._layers[node[2]].open_data(node[0].offset, node[0].size)

    def layer_of(self, path: str) -> str | None:
        """The diff_id of the layer that last wrote ``path`` (symlinks in parents followed)."""
        info = self.lstat(path)
        if info is None:
            real = self._resolve_quietly(posixpath.dirname(normalize(path)))
            if real is None:
                return None
            info = self.lstat(posixpath.join(real, posixpath.basename(normalize(path))))
        return None if info is None else info.layer

    # -- applying layers -------------------------------------------------------------

    def apply(self, position: int) -> None:
        """Apply layer number ``position`` on top of the layers before it."""
        layer = self._layers[position]
        for directory in layer.opaque_dirs:
            node = self._nodes.get(directory)
            if node is not None and node[0].kind == _DIR:
                for name in list(self._children.get(directory, ())):
                    self._remove(posixpath.join(directory, name))
            elif directory != "/":
                # the marker lives in the directory, so the layer holds it even unlisted
                self._parent_dir(directory, position)
        for path in layer.whiteouts:
            if path in self._nodes and path != "/":
                self._remove(path)
        for entry in layer.entries.values():
            self._add(entry, position)

    def _add(self, entry: TarEntry, position: int) -> None:
        if entry.path == "/":
            if entry.kind == _DIR:
                self._nodes["/"] = (entry, position, position)
            return
        entry, parent, name = self._placed(entry, position)
        path = entry.path

        node = (entry, position, position)
        if entry.kind == HARDLINK:
            linked = self._link(entry, position)
            if linked is None:
                return
            node = linked

        existing = self._nodes.get(path)
        if existing is not None and not (existing[0].kind == _DIR and entry.kind == _DIR):
            self._remove(path)
        self._nodes[path] = node
        self._children[parent].add(name)
        if entry.kind == _DIR:
            self._children.setdefault(path, set())

    def _placed(self, entry: TarEntry, position: int) -> tuple[TarEntry, str, str]:
        """The entry moved under its real parent directory, that parent, and its name."""
        parent, _, name = entry.path.rpartition("/")
        parent = parent or "/"
        parent_node = self._nodes.get(parent)
        if parent_node is None or parent_node[0].kind != _DIR:
            real_parent = self._parent_dir(parent, position)
            if real_parent != parent:
                parent = real_parent
                entry = entry._replace(path=f"{parent.rstrip('/')}/{name}")
        return entry, parent, name

    def _link(self, entry: TarEntry, position: int) -> _Node | None:
        """A hard link takes its target's content as the image holds it now (OCI spec).

        The target must already be in the image (earlier in this layer or below);
        otherwise the link is dropped and recorded as an unknown.
        """
        target = self._nodes.get(entry.linkname) or self._through_links(entry.linkname)
        if target is None or target[0].kind == _DIR:
            why = "is a directory" if target is not None else "is not in the image"
            self._unknown(entry.path, position, f"hard link target {entry.linkname} {why}")
            return None
        return (target[0]._replace(path=entry.path), position, target[2])

    def _through_links(self, path: str) -> _Node | None:
        """The node at ``path`` when its parents go through symlinks."""
        parent = self._resolve_quietly(posixpath.dirname(path))
        if parent is None:
            return None
        return self._nodes.get(posixpath.join(parent, posixpath.basename(path)))

    def _parent_dir(self, parent: str, position: int) -> str:
        """The directory an entry under ``parent`` lands in, creating implied parents."""
        node = self._nodes.get(parent)
        if node is not None and node[0].kind == _DIR:
            return parent
        current = "/"
        for part in parent.split("/")[1:]:
            candidate = posixpath.join(current, part)
            node = self._nodes.get(candidate)
            if node is not None and node[0].kind == _SYMLINK:
                real = self._resolve_quietly(candidate)
                if real is not None and self._nodes[real][0].kind == _DIR:
                    current = real
                    continue
            if node is None or node[0].kind != _DIR:
                if node is not None:
                    self._remove(candidate)
                implied = TarEntry(candidate, _DIR, 0o755, 0, 0, 0, "", 0)
                self._nodes[candidate] = (implied, position, position)
                self._children[current].add(part)
                self._children[candidate] = set()
            current = candidate
        return current

    def _remove(self, path: str) -> None:
        """Drop ``path`` and, for a directory, everything under it."""
        stack = [path]
        while stack:
            current = stack.pop()
            self._nodes.pop(current, None)
            names = self._children.pop(current, None)
            if names:
                stack.extend(posixpath.join(current, name) for name in names)
        parent = posixpath.dirname(path)
        self._children.get(parent, set()).discard(posixpath.basename(path))

    def _unknown(self, path: str, position: int, reason: str) -> None:
        layer = self._layers[position].diff_id
        log.debug("layer %s: %s: %s", layer, path, reason)
        location = ImageLocation(image=self.image_name, path=path, layer=layer)
        self.unknowns.append(Unknown(what=path, reason=reason, location=location))


def squash(layers: Sequence[LayerIndex], image_name: str = "") -> SquashedFileSystem:
    """The filesystem an image's layers (base first) make together."""
    filesystem = SquashedFileSystem(layers, image_name)
    with gc_paused():
        for position in range(len(layers)):
            filesystem.apply(position)
    return filesystem
