"""Platforms (``os/arch[/variant]``): parsing, normalisation, choosing from an index.

Names are normalised the way containerd's platforms package does, so that
``linux/x86_64`` asks for the same image as ``linux/amd64`` and ``arm64`` with
no variant matches an ``arm64/v8`` entry (OCI image spec, image-index.md,
"platform" property).
"""

from __future__ import annotations

import platform as host
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gorc.errors import ImageReferenceError, ImageSourceError

_ARCH_ALIASES = {
    "x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386",
    "i686": "386", "armhf": "arm", "armel": "arm", "armv7l": "arm", "armv6l": "arm",
}
_ARCH_VARIANTS = {"armhf": "v7", "armel": "v6", "armv7l": "v7", "armv6l": "v6"}
# The variant an entry without one stands for (containerd: arm64 is v8, arm is v7).
_DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Platform:
    """An operating system, an architecture (GOARCH names) and an optional variant."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    def normalized(self) -> Platform:
        """The same platform with canonical names and the default variant filled in."""
        arch = self.architecture.lower()
        variant = (self.variant or _ARCH_VARIANTS.get(arch) or "").lower() or None
        arch = _ARCH_ALIASES.get(arch, arch)
        if arch == "arm64" and variant == "8":
            variant = "v8"
        return Platform(self.os.lower(), arch, variant or _DEFAULT_VARIANTS.get(arch))

    def matches(self, other: Platform) -> bool:
        """True when both name the same platform after normalisation.

        A wanted platform without a variant matches any variant of its
        architecture; the chooser still prefers the default variant.
        """
        mine, theirs = self.normalized(), other.normalized()
        if (mine.os, mine.architecture) != (theirs.os, theirs.architecture):
            return False
        return self.variant is None or mine.variant == theirs.variant


def parse_platform(text: str) -> Platform:
    """Parse ``os/arch[/variant]``; raises ImageReferenceError on anything else."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ImageReferenceError(
            f"invalid platform {text!r}: expected os/arch[/variant], e.g. linux/arm64"
        )
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None).normalized()


def host_platform() -> Platform:
    """The platform containers run on here: linux, and this machine's architecture."""
    return Platform("linux", host.machine() or "amd64").normalized()


def platform_of(descriptor: Mapping[str, Any]) -> Platform | None:
    """The ``platform`` of an index entry or the os/architecture of a config, or None."""
    data = descriptor.get("platform", descriptor)
    if not isinstance(data, Mapping):
        return None
    os_name, arch = data.get("os"), data.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str) or not os_name or not arch:
        return None
    variant = data.get("variant")
    return Platform(os_name, arch, variant if isinstance(variant, str) and variant else None)


def choose(
    candidates: Sequence[tuple[Platform | None, T]], wanted: Platform | None, what: str
) -> T:
    """The candidate built for ``wanted`` (the host's platform when None).

    Entries that name no platform, or ``unknown/unknown`` (build attestations),
    never match. Raises ImageSourceError listing the platforms present.
    """
    target = wanted or host_platform()
    matching = [(p, item) for p, item in candidates if p is not None and target.matches(p)]
    if not matching:
        present = ", ".join(_describe(p for p, _ in candidates)) or "none"
        raise ImageSourceError(f"{what} has no image for {target}; platforms present: {present}")
    preferred = target.normalized().variant
    for found, item in matching:
        if found is not None and found.normalized().variant == preferred:
            return item
    return matching[0][1]


def _describe(platforms: Iterable[Platform | None]) -> list[str]:
    names = (str(p) for p in platforms if p is not None and p.os != "unknown")
    return sorted(set(names))
