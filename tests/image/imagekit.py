"""Small synthetic images for source tests: layers, configs, OCI layouts, docker archives."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gorc.image.sources.base import OpenedImage
from tests.image.layerkit import compress, digest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """An uncompressed tar holding ``files`` (name -> content)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@dataclass
class Layer:
    """One layer: the tar, and how it is stored."""

    files: dict[str, bytes]
    compression: str = "none"
    media_type: str | None = None

    @property
    def tar(self) -> bytes:
        return tar_bytes(self.files)

    @property
    def stored(self) -> bytes:
        return compress(self.tar, self.compression)

    @property
    def type(self) -> str:
        return self.media_type or LAYER_TYPES[self.compression]


@dataclass
class Image:
    """A synthetic image: layers and a few config fields."""

    layers: list[Layer]
    architecture: str = "amd64"
    variant: str | None = None
    entrypoint: list[str] = field(default_factory=lambda: ["/app"])
    config_override: bytes | None = None

    def config(self) -> bytes:
        if self.config_override is not None:
            return self.config_override
        doc: dict[str, Any] = {
            "architecture": self.architecture, "os": "linux",
            "config": {"Entrypoint": self.entrypoint, "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [digest(la.tar) for la in self.layers]},
            "history": [{"created_by": f"COPY l{i} / # buildkit"}
                        for i in range(len(self.layers))],
        }
        if self.variant:
            doc["variant"] = self.variant
        return json.dumps(doc).encode()

    def platform(self) -> dict[str, str]:
        found = {"os": "linux", "architecture": self.architecture}
        return found | ({"variant": self.variant} if self.variant else {})


class Blobs:
    """A content-addressed blob set being written into an OCI layout."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def add(self, data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
        self.blobs[digest(data)] = data
        return {"mediaType": media_type, "digest": digest(data), "size": len(data)} | extra

    def manifest(self, image: Image, **extra: Any) -> dict[str, Any]:
        doc = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": self.add(image.config(), OCI_CONFIG),
            "layers": [self.add(la.stored, la.type) for la in image.layers],
        }
        return self.add(json.dumps(doc).encode(), OCI_MANIFEST, **extra)

    def index(self, descriptors: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
        return self.add(json.dumps(doc).encode(), OCI_INDEX, **extra)

    def write_layout(self, root: Path, top: list[dict[str, Any]]) -> Path:
        """Write an OCI layout whose index.json lists ``top``."""
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": top}
        (root / "index.json").write_text(json.dumps(index))
        for name, data in self.blobs.items():
            (root / "blobs" / "sha256" / name.split(":")[1]).write_bytes(data)
        return root


def ref_name(name: str) -> dict[str, Any]:
    """Descriptor extras naming an image in an OCI layout."""
    return {"annotations": {"org.opencontainers.image.ref.name": name}}


def tar_dir(root: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    """Tar the content of ``root`` (names relative to it), plus raw ``extra`` members."""
    with tarfile.open(target, "w") as archive:
        for path in sorted(root.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(root)), recursive=False)
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def docker_archive(target: Path, images: dict[str, Image], oci_paths: bool = False) -> Path:
    """A ``docker save`` archive holding ``images`` (tag -> image).

    The classic layout stores ``<n>/layer.tar`` and ``<hex>.json``; with
    ``oci_paths`` every file is a ``blobs/sha256/<hex>`` as newer engines write.
    """
    members: dict[str, bytes] = {}
    manifest = []
    for tag, image in images.items():
        config = image.config()
        hex_id = digest(config).split(":")[1]
        config_path = f"blobs/sha256/{hex_id}" if oci_paths else f"{hex_id}.json"
        members[config_path] = config
        layer_paths = []
        for i, layer in enumerate(image.layers):
            hex_layer = digest(layer.tar).split(":")[1]
            path = f"blobs/sha256/{hex_layer}" if oci_paths else f"{hex_id[:12]}{i}/layer.tar"
            members[path] = layer.tar
            layer_paths.append(path)
        manifest.append({"Config": config_path, "RepoTags": [tag] if tag else None,
                         "Layers": layer_paths})
    members["manifest.json"] = json.dumps(manifest).encode()
    if oci_paths:
        members["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
    target.write_bytes(tar_bytes(members))
    return target


def read_layers(image: OpenedImage) -> list[bytes]:
    """The stored bytes of every layer, read through the blob openers."""
    out = []
    for blob in image.layers:
        with blob.open() as stream:
            out.append(stream.read())
    return out


def check_image(opened: OpenedImage, image: Image) -> None:
    assert opened.config_digest == digest(image.config())
    assert [b.diff_id for b in opened.layers] == [digest(la.tar) for la in image.layers]
    assert read_layers(opened) == [la.stored for la in image.layers]
    for blob, stored in zip(opened.layers, read_layers(opened), strict=True):
        assert blob.digest == digest(stored)
        assert blob.size == len(stored)
