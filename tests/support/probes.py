"""Build the Go programs under ``probes/`` as static, cgo and cross-compiled binaries.

Each probe is a directory ``probes/NAME`` with a ``main.go`` (standard library
only) and a ``go.mod``, so ``go build`` works offline. Binaries are cached under
:func:`tests.support.cache_dir` by a hash of the probe's files, the variant,
the extra flags and the Go version, and built at most once per machine.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_ROOT, InfraError, MissingToolError, cache_dir, hash_inputs, locked

log = logging.getLogger(__name__)

PROBES_DIR = REPO_ROOT / "probes"


@dataclass(frozen=True)
class Variant:
    """How one kind of probe binary is built: environment, linker and build flags."""

    env: tuple[tuple[str, str], ...]
    ldflags: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    compiler: str | None = None


VARIANTS: dict[str, Variant] = {
    "static": Variant(env=(("CGO_ENABLED", "0"),)),
    "cgo-glibc": Variant(env=(("CGO_ENABLED", "1"), ("CC", "gcc")), compiler="gcc"),
    # No forced linkmode: cgo's -dynimport step copies PT_INTERP from an object linked
    # by musl-gcc, so even internally linked binaries get /lib/ld-musl-x86_64.so.1,
    # and a probe that uses no cgo stays static, as a real musl build would.
    "cgo-musl": Variant(env=(("CGO_ENABLED", "1"), ("CC", "musl-gcc")), compiler="musl-gcc"),
    "arm64": Variant(env=(("CGO_ENABLED", "0"), ("GOARCH", "arm64"))),
    "trimpath": Variant(env=(("CGO_ENABLED", "0"),), flags=("-trimpath",)),
    "stripped": Variant(env=(("CGO_ENABLED", "0"),), ldflags=("-s", "-w")),
}


class ProbeBuilder:
    """Builds and caches probe binaries with the local Go toolchain."""

    def __init__(self, go: str | None = None, probes_dir: Path = PROBES_DIR) -> None:
        found = go or shutil.which("go")
        if found is None:
            raise MissingToolError("the Go toolchain is not installed (golang-go)")
        self._go = found
        self._probes_dir = probes_dir
        self._root = cache_dir() / "probes"
        self._version = self._go_output(["version"], os.environ.copy()).strip()

    def names(self) -> list[str]:
        """Return the names of all probes, sorted."""
        return sorted(p.parent.name for p in self._probes_dir.glob("*/main.go"))

    def build(
        self,
        name: str,
        variant: str,
        tags: tuple[str, ...] = (),
        ldflags: tuple[str, ...] = (),
    ) -> Path:
        """Return the path of probe ``name`` built as ``variant`` (cached).

        ``tags`` and ``ldflags`` add build tags (e.g. ``("netgo",)``) and linker
        flags on top of the variant's own.
        """
        source = self._source_dir(name)
        spec = self._variant(variant)
        recipe = repr((spec, tags, ldflags, self._version))
        key = hash_inputs([*_source_inputs(source), recipe])
        target = self._root / f"{name}-{variant}-{key}" / name
        if target.is_file():
            return target
        with locked(f"probe-{name}-{key}"):
            if not target.is_file():
                self._compile(source, spec, tags, ldflags, target)
        return target

    def _source_dir(self, name: str) -> Path:
        """Return the directory of probe ``name``, refusing unknown names."""
        source = self._probes_dir / name
        if not (source / "main.go").is_file():
            raise InfraError(f"no probe named {name!r}: {source}/main.go does not exist")
        return source

    def _variant(self, variant: str) -> Variant:
        """Return the build recipe for ``variant`` and check its C compiler is installed."""
        spec = VARIANTS.get(variant)
        if spec is None:
            raise InfraError(f"unknown probe variant {variant!r}; known: {', '.join(VARIANTS)}")
        if spec.compiler is not None and shutil.which(spec.compiler) is None:
            raise MissingToolError(f"variant {variant} needs {spec.compiler}, not installed")
        return spec

    def _compile(
        self,
        source: Path,
        spec: Variant,
        tags: tuple[str, ...],
        ldflags: tuple[str, ...],
        target: Path,
    ) -> None:
        """Run ``go build`` into a temporary file and move it into place atomically."""
        target.parent.mkdir(parents=True, exist_ok=True)
        command = ["build", "-buildvcs=false", *spec.flags]
        if tags:
            command.append("-tags=" + ",".join(tags))
        all_ldflags = (*spec.ldflags, *ldflags)
        if all_ldflags:
            command.append("-ldflags=" + " ".join(all_ldflags))
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            output = Path(tmp) / target.name
            env = self._environment(spec, Path(tmp))
            self._go_output([*command, "-o", str(output), "."], env, cwd=source)
            os.replace(output, target)
        log.info("built probe %s", target)

    def _environment(self, spec: Variant, tmp: Path) -> dict[str, str]:
        """Return an offline build environment with Go's caches inside the test cache."""
        go_root = cache_dir() / "go"
        env = {
            **os.environ,
            "GOCACHE": str(go_root / "cache"),
            "GOPATH": str(go_root / "path"),
            "GOMODCACHE": str(go_root / "path" / "pkg" / "mod"),
            "GOPROXY": "off",
            "GOFLAGS": "-mod=mod",
            "GOENV": "off",
            "GOTMPDIR": str(tmp),
            "HOME": str(go_root),
        }
        for unwanted in ("GOARCH", "GOOS", "CC", "CGO_ENABLED", "GOAMD64"):
            env.pop(unwanted, None)
        env.update(dict(spec.env))
        return env

    def _go_output(self, args: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
        """Run the go command and return its stdout; fail with its stderr."""
        try:
            done = subprocess.run(
                [self._go, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
            )
        except OSError as err:
            raise InfraError(f"cannot run {self._go}: {err.strerror}") from err
        if done.returncode != 0:
            raise InfraError(f"go {' '.join(args)} failed in {cwd}:\n{done.stderr.strip()}")
        return done.stdout


def _source_inputs(source: Path) -> list[str | bytes]:
    """Return the probe's files (relative names and contents) in a stable order."""
    inputs: list[str | bytes] = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        inputs.extend([str(path.relative_to(source)), path.read_bytes()])
    return inputs
