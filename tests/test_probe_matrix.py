"""Ground truth: which probe builds really run on which root, on the real engine.

Each row is a probe built as a variant; each column a root kind, in the order
of :data:`ROOT_KINDS`. ``+`` the probe runs and succeeds (exit 0); ``E`` it
starts but reports an ``ERR`` line (a run-time need is missing); ``x`` the
kernel cannot start it (``exec /app: no such file or directory``: the ELF
interpreter is absent). Every probe under probes/ must have rows here.
"""

from __future__ import annotations

import pytest

from tests.support.engine import DockerEngine
from tests.support.probes import PROBES_DIR, ProbeBuilder
from tests.support.roots import RootBuilder, image_from_root

pytestmark = [pytest.mark.engine, pytest.mark.go, pytest.mark.slow]

ROOT_KINDS = ("scratch", "distroless-static", "glibc", "musl-busybox", "debian")

EXPECTED: dict[tuple[str, str], str] = {
    ("hello", "static"): "+++++",
    ("hello", "cgo-glibc"): "+++++",  # no cgo package imported: still static
    ("hello", "cgo-musl"): "+++++",
    ("cgo", "cgo-glibc"): "xx+x+",
    ("cgo", "cgo-musl"): "xxx+x",
    ("net", "static"): "+++++",  # /etc/hosts comes from the runtime
    ("net", "cgo-glibc"): "xx+x+",
    ("net", "cgo-musl"): "xxx+x",
    ("tls", "static"): "E+EEE",  # only distroless-static ships a CA bundle
    ("tls", "cgo-glibc"): "xxExE",
    ("tls", "cgo-musl"): "xxxEx",
    ("tz", "static"): "E+EE+",
    ("tz", "cgo-glibc"): "E+EE+",  # time needs no cgo: static
    ("tz", "cgo-musl"): "E+EE+",
    ("user", "static"): "E++++",  # pure Go needs /etc/passwd (or $USER)
    ("user", "cgo-glibc"): "xx+x+",
    ("user", "cgo-musl"): "xxx+x",
    ("exec", "static"): "EEE++",  # ls only where a userland exists
    ("exec", "cgo-glibc"): "EEE++",
    ("exec", "cgo-musl"): "EEE++",
}

CASES = [
    pytest.param(name, variant, kind, row[column], id=f"{name}-{variant}-{kind}")
    for (name, variant), row in EXPECTED.items()
    for column, kind in enumerate(ROOT_KINDS)
]


def test_every_probe_has_expectations() -> None:
    probes = {path.parent.name for path in PROBES_DIR.glob("*/main.go")}

    assert probes == {name for name, _ in EXPECTED}
    assert all(len(row) == len(ROOT_KINDS) for row in EXPECTED.values())


@pytest.mark.parametrize(("name", "variant", "kind", "outcome"), CASES)
def test_probe_on_root(
    engine: DockerEngine,
    probes: ProbeBuilder,
    roots: RootBuilder,
    name: str,
    variant: str,
    kind: str,
    outcome: str,
) -> None:
    binary = probes.build(name, variant)
    tag = image_from_root(
        engine,
        roots.build(kind),
        f"gorc-test/matrix:{kind}-{name}-{variant}",
        files={"/app": binary},
        entrypoint=["/app"],
    )

    result = engine.run(tag)

    if outcome == "+":
        assert result.exit_code == 0, result.output
        assert "ERR" not in result.output
    elif outcome == "E":
        assert result.exit_code == 1, result.output
        assert f"ERR {name}:" in result.output
    else:
        assert result.exit_code != 0, result.output
        assert "no such file or directory" in result.output
