"""Session fixtures for the real test infrastructure (see tests/support).

When a tool is missing these fixtures skip with a clear reason; in CI
(``CI=true``) they fail loudly instead, so a broken CI image cannot pass silently.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

import pytest

from tests.support import InfraError, MissingToolError, cache_dir, in_ci
from tests.support.engine import DockerEngine, engine_session
from tests.support.probes import ProbeBuilder
from tests.support.registry import Registry, registry_session
from tests.support.roots import RootBuilder

# gorc's own layer cache goes under the test cache, not the user's ~/.cache/gorc
# (tests that check the default location set their own environment).
os.environ.setdefault("GORC_CACHE_DIR", str(cache_dir() / "gorc-layer-cache"))


def unavailable(reason: str) -> NoReturn:
    """Skip the test for a missing tool, or fail it in CI."""
    if in_ci():
        pytest.fail(f"test infrastructure unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine() -> Iterator[DockerEngine]:
    """A real Docker engine: the one at $DOCKER_HOST, or a dockerd started for the session."""
    with ExitStack() as stack:
        try:
            eng = stack.enter_context(engine_session())
        except InfraError as err:
            unavailable(str(err))
        yield eng


@pytest.fixture(scope="session")
def probes() -> ProbeBuilder:
    """Builds the Go programs of probes/ (static, cgo-glibc, cgo-musl, arm64, ...), cached."""
    try:
        return _SkippingProbeBuilder()
    except InfraError as err:
        unavailable(str(err))


class _SkippingProbeBuilder(ProbeBuilder):
    """A probe builder whose missing compilers skip the test (fail it in CI)."""

    def build(
        self,
        name: str,
        variant: str,
        tags: tuple[str, ...] = (),
        ldflags: tuple[str, ...] = (),
    ) -> Path:
        """Build like :meth:`ProbeBuilder.build`; a missing tool skips instead of erroring."""
        try:
            return super().build(name, variant, tags=tags, ldflags=ldflags)
        except MissingToolError as err:
            unavailable(str(err))


def _registry(username: str | None = None, password: str = "") -> Iterator[Registry]:
    """Run a registry for the session, or skip (fail in CI) when it cannot start."""
    with ExitStack() as stack:
        try:
            running = stack.enter_context(registry_session(username, password))
        except InfraError as err:
            unavailable(str(err))
        yield running


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    """A plain-HTTP registry on 127.0.0.1 without authentication."""
    yield from _registry()


@pytest.fixture(scope="session")
def auth_registry() -> Iterator[Registry]:
    """A plain-HTTP registry on 127.0.0.1 behind htpasswd (bcrypt) authentication."""
    yield from _registry("gorc", secrets.token_hex(12))


class _SkippingRootBuilder(RootBuilder):
    """A root builder whose missing tools skip the test (fail it in CI)."""

    def build(self, kind: str) -> Path:
        """Build like :meth:`RootBuilder.build`; a missing tool skips instead of erroring."""
        try:
            return super().build(kind)
        except MissingToolError as err:
            unavailable(str(err))


@pytest.fixture(scope="session")
def roots() -> RootBuilder:
    """Builds root directories shaped like base images (scratch, distroless-static, ...)."""
    return _SkippingRootBuilder()
