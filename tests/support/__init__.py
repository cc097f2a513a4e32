"""Real test infrastructure: Docker engine, registry, Go probes and root filesystems.

Every artefact these helpers build (probe binaries, root directories, saved
images) lives under :func:`cache_dir`, keyed by a hash of its inputs, so a
second run on the same machine reuses it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class InfraError(Exception):
    """A piece of test infrastructure (engine, registry, toolchain) cannot be used."""


class MissingToolError(InfraError):
    """A tool the infrastructure needs is not installed (a skip outside CI)."""


def cache_dir() -> Path:
    """Return the root of the test artefact cache, created if absent.

    ``$GORC_TEST_CACHE`` when set, else ``.gorc-test-cache`` in the repository
    (gitignored).
    """
    root = Path(os.environ.get("GORC_TEST_CACHE") or REPO_ROOT / ".gorc-test-cache")
    root.mkdir(parents=True, exist_ok=True)
    return root


def in_ci() -> bool:
    """Tell whether we run in CI, where missing tools fail instead of skipping."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def hash_inputs(parts: Iterable[str | bytes]) -> str:
    """Hash an ordered sequence of inputs into a short, stable cache key."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:20]


@contextmanager
def locked(name: str) -> Iterator[None]:
    """Hold a machine-wide lock in the cache dir, so one process builds an artefact once."""
    lock_dir = cache_dir() / "locks"
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
