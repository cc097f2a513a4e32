"""``docker save`` archives (``docker-archive:PATH[:TAG]``).

Both layouts are read through ``manifest.json`` (a list of ``Config``,
``RepoTags``, ``Layers``): the classic one (``<id>/layer.tar``, ``<id>.json``)
and the OCI-in-save one of newer engines, whose paths are ``blobs/sha256/<hex>``.
Layers are uncompressed tars in both; the layer reader checks the content.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from gorc.errors import ImageReferenceError, ImageSourceError
from gorc.image.config import MAX_CONFIG_SIZE, diff_ids, parse_config
from gorc.image.reference import parse_name
from gorc.image.sources.base import ImageSource, LayerBlob, OpenedImage
from gorc.image.sources.manifest import MAX_MANIFEST_SIZE
from gorc.image.sources.store import TarStore

log = logging.getLogger(__name__)

# blobs/sha256/<hex> (OCI-in-save) and <hex>.json / <hex>.tar (skopeo, classic config)
_DIGEST_PATH = re.compile(r"(?:^|/)(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json|\.tar)?$")


class DockerArchiveSource(ImageSource):
    """One image of a ``docker save`` archive (plain, gzip- or zstd-compressed)."""

    def __init__(self, path: Path, selector: str | None = None) -> None:
        self.path, self.selector = path, selector
        self.where = f"docker-archive:{path}" + (f":{selector}" if selector else "")
        self._store: TarStore | None = None
        self.config_bytes: bytes | None = None

    def open(self) -> OpenedImage:
        """See :meth:`ImageSource.open`."""
        if not self.path.is_file():
            why = "not a regular file" if self.path.exists() else "no such file"
            raise ImageSourceError(f"cannot open {self.where}: {why}")
        store = self._store = TarStore(self.path, self.where)
        if not store.exists("manifest.json"):
            raise ImageSourceError(
                f"cannot open {self.where}: not a docker save archive (no manifest.json)"
            )
        entry = self._select(_manifest_entries(store, self.where))
        config_path = _string(entry.get("Config"), "Config", self.where)
        data = self.config_bytes = store.read(config_path, MAX_CONFIG_SIZE)
        config_digest = _check_config_digest(config_path, data, self.where)
        config = parse_config(data, self.where)
        layers = self._layers(entry, diff_ids(config))
        return OpenedImage(self.where, config_digest, config, config_digest, layers)

    def close(self) -> None:
        """See :meth:`ImageSource.close`."""
        if self._store is not None:
            self._store.close()

    def _select(self, entries: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        if self.selector and self.selector.startswith("@"):
            return _by_position(entries, self.selector, self.where)
        if self.selector:
            wanted = str(parse_name(self.selector))
            for entry in entries:
                if wanted in _tags(entry):
                    return entry
            raise ImageSourceError(
                f"cannot open {self.where}: no image tagged {self.selector}; "
                f"present: {_listing(entries)}"
            )
        if len(entries) == 1:
            return entries[0]
        raise ImageSourceError(
            f"cannot open {self.where}: it holds {len(entries)} images ({_listing(entries)}); "
            f"choose one with docker-archive:{self.path}:TAG"
        )

    def _layers(self, entry: Mapping[str, Any], ids: list[str]) -> tuple[LayerBlob, ...]:
        paths = entry.get("Layers")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ImageSourceError(f"cannot read {self.where}: manifest.json has no Layers list")
        if len(paths) != len(ids):
            raise ImageSourceError(
                f"cannot read {self.where}: manifest.json lists {len(paths)} layers, "
                f"the config {len(ids)} diff_ids"
            )
        assert self._store is not None
        blobs = []
        for path, diff_id in zip(paths, ids, strict=True):
            size = self._store.size(path)
            if size is None:
                raise ImageSourceError(f"cannot read {self.where}: layer {path} is missing")
            match = _DIGEST_PATH.search(path)
            # a classic <id>/layer.tar is the uncompressed tar, so its digest is the diff_id
            digest = f"sha256:{match.group(1)}" if match else diff_id
            blobs.append(LayerBlob(digest, "", size, diff_id, self._opener(path)))
        return tuple(blobs)

    def _opener(self, path: str) -> Callable[[], BinaryIO]:
        store = self._store
        assert store is not None
        return lambda: store.open(path)


def _manifest_entries(store: TarStore, where: str) -> list[Mapping[str, Any]]:
    try:
        entries = json.loads(store.read("manifest.json", MAX_MANIFEST_SIZE))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ImageSourceError(f"cannot read {where}: manifest.json is not JSON ({err})") from err
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ImageSourceError(f"cannot read {where}: manifest.json is not a list of objects")
    if not entries:
        raise ImageSourceError(f"cannot read {where}: manifest.json lists no image")
    return entries


def _check_config_digest(path: str, data: bytes, where: str) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    match = _DIGEST_PATH.search(path)
    if match and digest != f"sha256:{match.group(1)}":
        raise ImageSourceError(f"cannot read {where}: config {path} has digest {digest}")
    return digest


def _tags(entry: Mapping[str, Any]) -> list[str]:
    tags = entry.get("RepoTags")
    names = []
    for tag in tags if isinstance(tags, list) else []:
        try:
            names.append(str(parse_name(str(tag))))
        except ImageReferenceError:
            log.debug("ignoring unparsable RepoTag %r", tag)
    return names


def _listing(entries: list[Mapping[str, Any]]) -> str:
    tags = [", ".join(_tags(e)) or f"@{i} (untagged)" for i, e in enumerate(entries)]
    return "; ".join(tags)


def _by_position(entries: list[Mapping[str, Any]], selector: str, where: str) \
        -> Mapping[str, Any]:
    position = selector[1:]
    if not position.isdigit() or int(position) >= len(entries):
        raise ImageSourceError(
            f"cannot open {where}: no image {selector}; the archive holds {len(entries)}"
        )
    return entries[int(position)]


def _string(value: object, field: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ImageSourceError(f"cannot read {where}: manifest.json has no {field}")
    return value
