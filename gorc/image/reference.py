"""Image references: where an image is read from, and which image it is.

The syntax follows syft and skopeo: ``docker:NAME`` (the local engine),
``docker-archive:PATH[:TAG]``, ``oci-archive:PATH[:REF]``, ``oci-dir:PATH[:REF]``
(skopeo's ``oci:`` too), ``registry:NAME`` (skopeo's ``docker://NAME`` too),
``dir:PATH`` and a bare ``NAME[:TAG|@DIGEST]`` that tries the engine, then the
registry. Names are checked against the grammar of the distribution project's
reference package and normalised the way the Docker CLI does (``alpine`` is
``docker.io/library/alpine:latest``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gorc.errors import ImageReferenceError

DOCKER_HUB = "docker.io"
DEFAULT_TAG = "latest"

# The distribution reference grammar (github.com/distribution/reference, regexp.go).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_ALGORITHM_RE = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*")
_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_IMAGE_ID_RE = re.compile(r"(?:sha256:)?[0-9a-f]{64}")
_SHORT_ID_RE = re.compile(r"[0-9a-f]{12,63}")
_MAX_NAME_LENGTH = 255


class Transport(StrEnum):
    """Where an image is read from."""

    DOCKER = "docker"
    DOCKER_ARCHIVE = "docker-archive"
    OCI_ARCHIVE = "oci-archive"
    OCI_DIR = "oci-dir"
    REGISTRY = "registry"
    DIR = "dir"
    ANY = "any"  # a bare name: the engine first, then the registry


_PREFIXES = (
    ("docker-archive:", Transport.DOCKER_ARCHIVE),
    ("docker-daemon:", Transport.DOCKER),
    ("docker://", Transport.REGISTRY),  # skopeo's spelling of a registry
    ("docker:", Transport.DOCKER),
    ("oci-archive:", Transport.OCI_ARCHIVE),
    ("oci-dir:", Transport.OCI_DIR),
    ("oci:", Transport.OCI_DIR),
    ("registry:", Transport.REGISTRY),
    ("dir:", Transport.DIR),
)


@dataclass(frozen=True, slots=True)
class ImageName:
    """A normalised image name: registry host, repository path, tag and digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def reference(self) -> str:
        """What a registry's manifest endpoint takes: the digest if any, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def familiar(self) -> str:
        """The short form the Docker CLI shows (``alpine:latest``, ``user/app:v1``)."""
        repo = self.repository
        if self.registry == DOCKER_HUB:
            repo = repo.removeprefix("library/")
        else:
            repo = f"{self.registry}/{repo}"
        tag = f":{self.tag}" if self.tag else ""
        return repo + tag + (f"@{self.digest}" if self.digest else "")


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed reference: the transport, and a name or a path (with a selector)."""

    transport: Transport
    name: ImageName | None = None
    path: Path | None = None
    selector: str | None = None
    image_id: str | None = None  # a full image id, or with a name a short id it may be

    def __str__(self) -> str:
        if self.path is not None:
            text = f"{self.transport.value}:{self.path}"
            return text + (f":{self.selector}" if self.selector else "")
        target = str(self.name) if self.name else str(self.image_id)
        if self.transport is Transport.ANY:
            return target
        return f"{self.transport.value}:{target}"


def parse_reference(text: str) -> Reference:
    """Parse a reference in any of gorc's forms; raises ImageReferenceError."""
    text = text.strip()
    if not text:
        raise ImageReferenceError("invalid image reference: it is empty")
    for prefix, transport in _PREFIXES:
        if text.startswith(prefix):
            return _parse_with_transport(transport, text[len(prefix):], text)
    return _parse_named(Transport.ANY, text, text)


def _parse_with_transport(transport: Transport, rest: str, text: str) -> Reference:
    if transport in (Transport.DOCKER, Transport.REGISTRY, Transport.ANY):
        if not rest:
            raise ImageReferenceError(
                f"invalid image reference {text!r}: no image name after the prefix")
        return _parse_named(transport, rest, text)
    if not rest:
        raise ImageReferenceError(f"invalid image reference {text!r}: no path after the prefix")
    if transport is Transport.DIR:
        return Reference(transport, path=Path(rest))
    path, selector = _split_path(rest)
    if transport is Transport.DOCKER_ARCHIVE and selector and not selector.startswith("@"):
        parse_name(selector)  # checked now so a typo is a reference error, not a miss
    return Reference(transport, path=Path(path), selector=selector)


def _split_path(rest: str) -> tuple[str, str | None]:
    """Split ``PATH[:SELECTOR]``; a path that exists as written keeps its colons."""
    if os.path.exists(rest) or ":" not in rest:
        return rest, None
    path, selector = rest.split(":", 1)
    return path, selector or None


def _parse_named(transport: Transport, rest: str, text: str) -> Reference:
    if transport is not Transport.REGISTRY and _IMAGE_ID_RE.fullmatch(rest):
        image_id = rest if rest.startswith("sha256:") else f"sha256:{rest}"
        return Reference(Transport.DOCKER, image_id=image_id)
    # a short hex string may be an image id prefix (as `docker inspect 431c54c58f18`)
    candidate = rest if transport is not Transport.REGISTRY and _SHORT_ID_RE.fullmatch(rest) \
        else None
    try:
        return Reference(transport, name=parse_name(rest), image_id=candidate)
    except ImageReferenceError as err:
        raise ImageReferenceError(f"invalid image reference {text!r}: {err}") from None


def parse_name(text: str) -> ImageName:
    """Parse and normalise ``[HOST/]PATH[:TAG][@DIGEST]``; raises ImageReferenceError."""
    remainder, digest = _cut_digest(text)
    registry, path = _split_domain(remainder)
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
        if not _TAG_RE.fullmatch(tag):
            raise ImageReferenceError(f"invalid tag {tag!r}")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    _check_path(path)
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageName(registry, path, tag, digest)


def _cut_digest(text: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    remainder, digest = text.split("@", 1)
    check_digest(digest)
    return remainder, digest


def check_digest(digest: str) -> str:
    """Check an ``algorithm:hex`` digest (OCI image spec, descriptor.md); return it."""
    algorithm, _, hex_part = digest.partition(":")
    if not hex_part or not _ALGORITHM_RE.fullmatch(algorithm):
        raise ImageReferenceError(f"invalid digest {digest!r}: expected algorithm:hex")
    length = _HEX_LENGTHS.get(algorithm)
    if length is None:
        raise ImageReferenceError(f"invalid digest {digest!r}: unsupported algorithm {algorithm}")
    if len(hex_part) != length or not re.fullmatch(r"[0-9a-f]+", hex_part):
        raise ImageReferenceError(
            f"invalid digest {digest!r}: {algorithm} needs {length} lowercase hex digits"
        )
    return digest


def _split_domain(text: str) -> tuple[str, str]:
    """The registry host and the rest; Docker's rule: a first component with a
    ``.`` or a ``:``, or ``localhost``, is a host; anything else is on Docker Hub."""
    first, sep, rest = text.partition("/")
    if not sep or not ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB, text
    if not _DOMAIN_RE.fullmatch(first):
        raise ImageReferenceError(f"invalid registry host {first!r}")
    if first in ("index.docker.io", "registry-1.docker.io"):
        first = DOCKER_HUB
    return first, rest


def _check_path(path: str) -> None:
    if not path:
        raise ImageReferenceError("no repository name")
    if path != path.lower() and _PATH_RE.fullmatch(path.lower()):
        raise ImageReferenceError(f"repository name {path!r} must be lowercase")
    if not _PATH_RE.fullmatch(path):
        raise ImageReferenceError(
            f"invalid repository name {path!r}: use lowercase letters, digits and . _ - /"
        )
    if len(path) > _MAX_NAME_LENGTH:
        raise ImageReferenceError(f"repository name is longer than {_MAX_NAME_LENGTH} characters")
