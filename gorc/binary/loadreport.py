"""What a loader resolution found: libraries, where and how, and what is missing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from gorc.binary.interpreter import Loader


class SearchStep(StrEnum):
    """The loader search step that found a needed library (values are evidence text)."""

    PATH = "path"
    MUSL_SELF = "musl libc itself"
    RPATH = "DT_RPATH"
    LD_LIBRARY_PATH = "LD_LIBRARY_PATH"
    RUNPATH = "DT_RUNPATH"
    LD_SO_CACHE = "/etc/ld.so.cache"
    MUSL_PATH_FILE = "ld-musl path file"
    DEFAULT = "default dirs"


@dataclass(frozen=True, slots=True)
class ResolvedLibrary:
    """A needed library the loader finds, and the search step that found it."""

    name: str
    path: str
    step: SearchStep
    needed_by: str
    real_path: str = ""


@dataclass(frozen=True, slots=True)
class MissingLibrary:
    """A needed library no search step finds; ``searched`` lists where it looked.

    ``unindexed`` is a matching file in a directory /etc/ld.so.conf lists that
    the loader still does not find (no ld.so.cache, or a stale one): glibc's
    loader reads only the cache, never ld.so.conf itself.
    """

    name: str
    needed_by: str
    searched: tuple[str, ...] = ()
    unindexed: str = ""


@dataclass(frozen=True, slots=True)
class MissingVersion:
    """A symbol version an object needs that the library providing it does not define."""

    version: str
    library: str
    path: str
    needed_by: str
    highest: str | None = None


@dataclass(frozen=True, slots=True)
class LoadReport:
    """Everything one resolution found; ``objects`` are the real paths of every
    object mapped (the program, its loader, each library), in load order."""

    loader: Loader | None
    libraries: tuple[ResolvedLibrary, ...] = ()
    missing: tuple[MissingLibrary, ...] = ()
    missing_versions: tuple[MissingVersion, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    truncated: bool = False
    objects: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every library and version resolves."""
        return not self.missing and not self.missing_versions


def version_key(version: str) -> tuple[int, ...]:
    """A sort key for version names: GLIBC_2.9 < GLIBC_2.10."""
    numbers = re.findall(r"\d+", version)
    return tuple(int(n) for n in numbers)


def highest_version(defs: tuple[str, ...], like: str) -> str | None:
    """The newest of ``defs`` in the same family as ``like`` (GLIBC_2.36 for GLIBC_2.99)."""
    prefix = re.match(r"[A-Za-z_]*", like)
    family = [d for d in defs if prefix and d.startswith(prefix.group(0)) and version_key(d)]
    return max(family, key=version_key) if family else None
