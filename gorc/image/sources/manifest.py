"""Indexes, manifests and descriptors, shared by the OCI layout, archives and registries.

The OCI image spec (image-index.md, manifest.md, descriptor.md) and Docker's
schema 2 (manifest list, image manifest) are read alike: an index lists
manifests (or more indexes) by platform, a manifest names a config and layers.
Every blob read through here is checked against its descriptor's digest and size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from gorc.errors import ImageReferenceError, ImageSourceError, LayerError
from gorc.image.config import diff_ids, parse_config
from gorc.image.decompress import is_layer_media_type, short
from gorc.image.platform import Platform, choose, platform_of
from gorc.image.reference import check_digest
from gorc.image.sources.base import LayerBlob, OpenedImage

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A content descriptor: media type, digest, size, platform and annotations."""

    media_type: str
    digest: str
    size: int | None
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref_name(self) -> str | None:
        """The ``org.opencontainers.image.ref.name`` annotation (a tag, in an OCI layout)."""
        return self.annotations.get(REF_NAME) or None


def parse_descriptor(data: object, where: str) -> Descriptor:
    """A descriptor from JSON; ImageSourceError when digest or size are malformed."""
    if not isinstance(data, Mapping):
        raise ImageSourceError(f"cannot read {where}: a descriptor is not a JSON object")
    digest = data.get("digest")
    try:
        check_digest(digest if isinstance(digest, str) else "")
    except ImageReferenceError as err:
        raise ImageSourceError(f"cannot read {where}: {err}") from None
    size = data.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise ImageSourceError(f"cannot read {where}: descriptor {digest} has a bad size")
    notes = data.get("annotations")
    annotations = {k: v for k, v in notes.items() if isinstance(v, str)} if isinstance(
        notes, Mapping) else {}
    media_type = data.get("mediaType")
    return Descriptor(
        media_type if isinstance(media_type, str) else "",
        str(digest), size, platform_of(data) if "platform" in data else None, annotations,
    )


def verify(data: bytes, descriptor: Descriptor, where: str) -> bytes:
    """``data`` when it matches the descriptor's digest and size; ImageSourceError if not."""
    algorithm, _, expected = descriptor.digest.partition(":")
    if descriptor.size is not None and len(data) != descriptor.size:
        raise ImageSourceError(
            f"cannot read {where}: {descriptor.digest} is {len(data)} bytes, "
            f"the descriptor says {descriptor.size}"
        )
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise ImageSourceError(
            f"cannot read {where}: blob {descriptor.digest} has digest {algorithm}:{actual}"
        )
    return data


def parse_json(data: bytes, what: str, where: str) -> dict[str, Any]:
    """A JSON object; ImageSourceError for anything else."""
    try:
        value = json.loads(data)
    # json nests by recursion: "[[[[..." a million deep is a RecursionError
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ImageSourceError(f"cannot read {where}: {what} is not JSON ({err})") from err
    if not isinstance(value, dict):
        raise ImageSourceError(f"cannot read {where}: {what} is not a JSON object")
    return value


def kind_of(document: Mapping[str, Any], descriptor_type: str, where: str) -> str:
    """``index`` or ``manifest``; the media type may be missing (it is optional in OCI)."""
    media_type = document.get("mediaType") or descriptor_type
    if media_type in INDEX_TYPES or (not media_type and "manifests" in document):
        return "index"
    if media_type in MANIFEST_TYPES or (not media_type and "layers" in document):
        return "manifest"
    raise ImageSourceError(
        f"cannot read {where}: unsupported manifest media type {media_type or '(none)'}"
    )


def entries(index: Mapping[str, Any], where: str) -> list[Descriptor]:
    """The descriptors an index lists."""
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        raise ImageSourceError(f"cannot read {where}: the index has no manifests list")
    return [parse_descriptor(m, where) for m in manifests]


class ManifestWalker:
    """Follows an index down to one platform's manifest and describes that image.

    ``fetch`` returns the raw bytes of a manifest or config blob (the walker
    verifies them); ``opener`` gives the stream factory of a layer blob.
    """

    def __init__(
        self,
        fetch: Callable[[Descriptor], bytes],
        opener: Callable[[Descriptor], Callable[[], BinaryIO]],
        where: str,
        platform: Platform | None,
    ) -> None:
        self.fetch, self.opener, self.where, self.platform = fetch, opener, where, platform

    def resolve(self, descriptor: Descriptor) -> tuple[Descriptor, dict[str, Any]]:
        """The manifest ``descriptor`` leads to (choosing by platform in indexes)."""
        for _ in range(_MAX_DEPTH):
            document = self.document(descriptor, "manifest")
            if kind_of(document, descriptor.media_type, self.where) == "manifest":
                return descriptor, document
            children = entries(document, self.where)
            if len(children) == 1 and children[0].platform is None:
                descriptor = children[0]  # an index wrapping one image (or one more index)
                continue
            descriptor = choose([(c.platform, c) for c in children], self.platform, self.where)
        raise ImageSourceError(f"cannot read {self.where}: indexes nested too deep")

    def document(self, descriptor: Descriptor, what: str) -> dict[str, Any]:
        """A verified JSON blob."""
        if descriptor.size is not None and descriptor.size > MAX_MANIFEST_SIZE:
            raise ImageSourceError(f"cannot read {self.where}: {what} is too large")
        data = verify(self.fetch(descriptor), descriptor, self.where)
        return parse_json(data, what, self.where)

    def image(self, reference: str, descriptor: Descriptor, manifest: Mapping[str, Any]) \
            -> OpenedImage:
        """The image a manifest describes: its verified config and its layers."""
        config_desc = parse_descriptor(manifest.get("config"), self.where)
        config = parse_config(verify(self.fetch(config_desc), config_desc, self.where), self.where)
        self._check_platform(config)
        layers = manifest.get("layers")
        if not isinstance(layers, list):
            raise ImageSourceError(f"cannot read {self.where}: the manifest has no layers list")
        ids = diff_ids(config)
        if len(ids) != len(layers):
            raise ImageSourceError(
                f"cannot read {self.where}: the manifest has {len(layers)} layers, "
                f"the config {len(ids)} diff_ids"
            )
        blobs = []
        for raw, diff_id in zip(layers, ids, strict=True):
            layer = parse_descriptor(raw, self.where)
            check_layer_type(layer)
            blobs.append(LayerBlob(layer.digest, layer.media_type, layer.size, diff_id,
                                   self.opener(layer)))
        return OpenedImage(reference, descriptor.digest, config, config_desc.digest, tuple(blobs))

    def _check_platform(self, config: Mapping[str, Any]) -> None:
        """An explicit --platform must match a single-platform image too.

        Without one, an image of another architecture is still read: that
        mismatch is a finding (CCG204), not a reason to stop.
        """
        found = platform_of(config)
        if self.platform is not None and found is not None and not self.platform.matches(found):
            raise ImageSourceError(
                f"{self.where} has no image for {self.platform}; platforms present: {found}"
            )


def check_layer_type(layer: Descriptor) -> None:
    """Refuse a layer that is not a tar, plain or compressed (gzip, zstd)."""
    if not is_layer_media_type(layer.media_type):
        raise LayerError(f"cannot read layer {short(layer.digest)}: unsupported media type "
                         f"{layer.media_type or '(none)'}")
