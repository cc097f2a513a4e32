"""Ground truth for reconcile: run each probe in an image, then ask gorc about the image.

Where the probe starts and prints its ``ERR`` line (no CA roots, unknown time
zone, unknown user, ``ls`` not found...), ``gorc inspect`` must report the
matching finding for /app; where it prints ``OK``, no such finding; where it
cannot start at all, the verdict's finding says so and reconcile stays quiet.
The images are those of tests/test_probe_matrix.py (same tags, built once).
"""

from __future__ import annotations

import pytest

from gorc.model import Finding, ImageLocation, NeedKind, Result, Severity
from gorc.pipeline import InspectRequest, inspect_image
from tests.support.engine import DockerEngine
from tests.support.probes import ProbeBuilder
from tests.support.roots import KINDS, RootBuilder, image_from_root

pytestmark = [pytest.mark.engine, pytest.mark.go, pytest.mark.slow]

ROOT_KINDS = ("scratch", "distroless-static", "glibc", "musl-busybox", "debian")

#: The rule each probe's failure maps to, and the need its binary shows.
RULES = {
    "tls": ("CCG106", NeedKind.CA_CERTIFICATES),
    "tz": ("CCG107", NeedKind.ZONEINFO),
    "user": ("CCG108", NeedKind.USER_DATABASE),
    "exec": ("CCG102", NeedKind.PROGRAM),
    "net": ("CCG111", NeedKind.NAME_RESOLUTION),
}
VARIANTS = ("static", "stripped", "cgo-glibc", "cgo-musl")

CASES = [
    pytest.param(name, variant, kind, {}, id=f"{name}-{variant}-{kind}")
    for name in RULES for variant in VARIANTS for kind in ROOT_KINDS
] + [
    # A pure-Go user.Current succeeds with $USER and no /etc/passwd.
    pytest.param("user", "static", "scratch", {"USER": "app"}, id="user-static-scratch-USER"),
    # $ZONEINFO pointing nowhere does not help.
    pytest.param("tz", "static", "scratch", {"ZONEINFO": "/zones"}, id="tz-static-scratch-env"),
]


def _findings(result: Result, rule: str) -> list[Finding]:
    return [f for f in result.findings if f.rule_id == rule
            and isinstance(f.location, ImageLocation) and f.location.path == "/app"]


def test_matrix_roots_exist() -> None:
    assert set(ROOT_KINDS) <= set(KINDS)


@pytest.mark.parametrize(("name", "variant", "kind", "env"), CASES)
def test_reconcile_agrees_with_the_run(
    engine: DockerEngine,
    probes: ProbeBuilder,
    roots: RootBuilder,
    name: str,
    variant: str,
    kind: str,
    env: dict[str, str],
) -> None:
    suffix = "-" + "-".join(sorted(env)) if env else ""
    tag = image_from_root(
        engine, roots.build(kind), f"gorc-test/matrix:{kind}-{name}-{variant}{suffix}",
        files={"/app": probes.build(name, variant)}, entrypoint=["/app"], env=env,
    )

    output = engine.run(tag).output
    result = inspect_image(InspectRequest(f"docker:{tag}"))

    rule, kind_of_need = RULES[name]
    found = _findings(result, rule)
    assert result.needs is not None
    assert kind_of_need in {n.kind for n in result.needs}, result.needs
    if f"ERR {name}:" in output:
        assert found, (output, result.findings)
        assert all(f.severity is Severity.WARNING for f in found)
    else:
        assert not found, (output, found)
    if f"OK {name}:" not in output and f"ERR {name}:" not in output:
        (app,) = [b for b in result.binaries if b.path == "/app"]
        assert app.runnable is False, output
