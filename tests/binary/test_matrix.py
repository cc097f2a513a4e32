"""The runnable matrix: real binaries on real bases, run on the engine, judged by gorc.

Every cell builds an image FROM scratch holding a base root and one binary at
/app (ENTRYPOINT ["/app"]), runs it for real, reads what the kernel and the
loader printed, and checks that gorc's verdict on the same root and binary
agrees: same ``runnable``, and the observed cause among the entrypoint's
problems. A second table (:data:`FORM_CASES`) does the same for entrypoint
forms: shell form, ``#!`` scripts, file modes. gorc reads each cell twice: the
real image through ``docker:`` (the whole pipeline: engine, layers, squashed
filesystem, config), and the root directory plus the files (the ``dir:`` view,
which has no layers). Built to grow: add a binary to :data:`BINARIES` or a base to :data:`BASES`.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest

from gorc.binary.verdict import ImageVerdict, judge_image
from gorc.image.fs import DirFileSystem, FileInfo, FileType, normalize
from gorc.image.open import open_image
from gorc.model import ImageSummary
from tests.support import MissingToolError, cache_dir, hash_inputs
from tests.support.elfpatch import c_objects, newer_glibc_binary, skip_or_fail
from tests.support.engine import DockerEngine
from tests.support.images import image_from_root
from tests.support.probes import ProbeBuilder
from tests.support.roots import RootBuilder

pytestmark = [pytest.mark.engine, pytest.mark.slow]

#: A real Debian Go binary that needs more than libc (libgpgme, libdevmapper).
DEBIAN_GO_BINARY = Path("/usr/bin/skopeo")


def _debian_go_binary(_: ProbeBuilder) -> Path:
    if not DEBIAN_GO_BINARY.is_file():
        raise MissingToolError("skopeo is not installed (apt-get install skopeo)")
    return DEBIAN_GO_BINARY


def _newer_glibc(_: ProbeBuilder) -> Path:
    return newer_glibc_binary("GLIBC_2.99")


def _glibc_only_symbol(_: ProbeBuilder) -> Path:
    return c_objects() / "app-glibc-only"


BINARIES: dict[str, Callable[[ProbeBuilder], Path]] = {
    "static": lambda probes: probes.build("hello", "static"),
    "cgo-glibc": lambda probes: probes.build("cgo", "cgo-glibc"),
    "cgo-musl": lambda probes: probes.build("cgo", "cgo-musl"),
    "arm64": lambda probes: probes.build("hello", "arm64"),
    "debian-skopeo": _debian_go_binary,
    "newer-glibc": _newer_glibc,
    "glibc-only-symbol": _glibc_only_symbol,
}


@dataclass(frozen=True)
class Base:
    """A root from the roots fixture, plus files copied from inside it to other paths."""

    root: str
    copies: tuple[tuple[str, str], ...] = ()  # (destination, source inside the root)

    def files(self, root: Path) -> dict[str, Path]:
        """The extra files as image_from_root wants them: destination -> host file."""
        return {dest: (root / src.lstrip("/")).resolve() for dest, src in self.copies}


BASES = {
    "scratch": Base("scratch"),
    "distroless-static": Base("distroless-static"),
    "glibc": Base("glibc"),
    "musl-busybox": Base("musl-busybox"),
    "debian": Base("debian"),
    # alpine's gcompat/libc6-compat: glibc's loader path serves musl's loader.
    "gcompat": Base("musl-busybox", (("/lib64/ld-linux-x86-64.so.2",
                                      "/lib/x86_64-linux-musl/libc.so"),)),
}

# What the kernel and the loaders print, most specific first (DOMAIN.md, section 1).
_SYMPTOMS = (
    (re.compile(r"version `[^']+' not found"), "CCG203"),
    (re.compile(r"error while loading shared libraries|Error loading shared library"), "CCG202"),
    (re.compile(r"Error relocating|symbol not found"), "CCG211"),
    (re.compile(r"exec format error"), "CCG204"),
    (re.compile(r"no such file or directory", re.IGNORECASE), "CCG201"),
)


@dataclass(frozen=True)
class Observed:
    """What really happened when the cell's image was run."""

    runnable: bool
    cause: str | None
    output: str


def classify(exit_code: int, output: str) -> Observed:
    """Turn a container's exit code and output into (runnable, rule id of the cause)."""
    if exit_code == 0:
        return Observed(True, None, output)
    for pattern, rule in _SYMPTOMS:
        if pattern.search(output):
            return Observed(False, rule, output)
    return Observed(False, None, output)


class RootWithFiles(DirFileSystem):
    """A root directory with extra host files on top, as the cell's image holds them."""

    def __init__(self, root: Path, files: dict[str, Path]) -> None:
        super().__init__(root)
        self.files = {normalize(dest): host.resolve() for dest, host in files.items()}
        self.dirs = {posixpath.dirname(d) for d in self.files}

    def lstat(self, path: str) -> FileInfo | None:
        """Extra files first, then the root; parents of extra files are directories."""
        path = normalize(path)
        if path in self.files:
            st = os.stat(self.files[path])
            return FileInfo(path, FileType.FILE, st.st_mode & 0o7777, st.st_size)
        info = super().lstat(path)
        if info is None and path in self.dirs:
            return FileInfo(path, FileType.DIR, 0o755)
        return info

    def listdir(self, path: str) -> list[str]:
        """The root's names, plus the extra files directly in ``path``."""
        real = self.resolve(path)
        extra = [posixpath.basename(f) for f in self.files if posixpath.dirname(f) == real]
        return sorted(set(super().listdir(path)) | set(extra))

    def _open_file(self, info: FileInfo) -> BinaryIO:
        if info.path in self.files:
            return open(self.files[info.path], "rb")
        return super()._open_file(info)


def summary_of(engine: DockerEngine, tag: str) -> ImageSummary:
    """The run-time config of a built image, as the engine reports it."""
    attrs = engine.client().images.get(tag).attrs
    config = attrs.get("Config") or {}
    env = tuple(tuple(e.split("=", 1)) for e in config.get("Env") or [] if "=" in e)
    entrypoint = config.get("Entrypoint")
    cmd = config.get("Cmd")
    return ImageSummary(
        reference=tag,
        os=attrs.get("Os"),
        architecture=attrs.get("Architecture"),
        entrypoint=tuple(entrypoint) if entrypoint else None,
        cmd=tuple(cmd) if cmd else None,
        env=env,  # type: ignore[arg-type]
        working_dir=config.get("WorkingDir") or None,
    )


def check_agrees(verdict: ImageVerdict, observed: Observed, how: str) -> None:
    """The entrypoint report agrees with what the engine did."""
    app_report = next(r for r in verdict.binaries if r.entrypoint)
    context = f"{how}: engine said {observed.output[:300]!r}; gorc: {app_report}"
    assert app_report.path == "/app", context
    assert app_report.runnable is observed.runnable, context
    if observed.cause is not None:
        assert observed.cause in app_report.problems, context


@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize("binary", sorted(BINARIES))
def test_verdict_agrees_with_the_engine(
    engine: DockerEngine, roots: RootBuilder, probes: ProbeBuilder, binary: str, base: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gorc's runnable verdict and cause match what really happens on the engine."""
    root = roots.build(BASES[base].root)
    try:
        app = BINARIES[binary](probes)
    except MissingToolError as err:
        skip_or_fail(str(err))
    files = {**BASES[base].files(root), "/app": app}
    tag = image_from_root(engine, root, f"gorc-matrix/{base}:{binary}", files=files,
                          entrypoint=["/app"])
    run = engine.run(tag, timeout=120)
    observed = classify(run.exit_code, run.output)
    assert observed.runnable or observed.cause, f"unclassified failure: {run.output!r}"

    monkeypatch.setenv("DOCKER_HOST", engine.host)
    with open_image(f"docker:{tag}", cache_dir=cache_dir() / "layers") as image:
        check_agrees(judge_image(image.fs, image.summary, tag), observed, "docker:")
    dir_view = judge_image(RootWithFiles(root, files), summary_of(engine, tag), tag)
    check_agrees(dir_view, observed, "dir:")


# --- Entrypoint forms: shell form, scripts, modes --------------------------------------


@dataclass(frozen=True)
class FormCase:
    """An entrypoint form on a base: the files it adds, what the engine prints, the rule."""

    base: str
    entrypoint: tuple[str, ...]
    files: tuple[tuple[str, str, int], ...] = ()  # (dest, content or "@static", mode)
    symptom: str | None = None  # a regex of the engine's output; None: it runs
    rule: str | None = None


_STATIC = "@static"
FORM_CASES = {
    "shell-form-no-shell": FormCase(
        "scratch", ("/bin/sh", "-c", "exec /app"), (("/app", _STATIC, 0o755),),
        r"/bin/sh.*no such file or directory", "CCG205"),
    "shell-form-busybox": FormCase(
        "musl-busybox", ("/bin/sh", "-c", "exec /app"), (("/app", _STATIC, 0o755),)),
    "script-without-bash": FormCase(
        "distroless-static", ("/start.sh",), (("/start.sh", "#!/bin/bash\nexec /app\n", 0o755),),
        r"no such file or directory", "CCG210"),
    "script-busybox-sh": FormCase(
        "musl-busybox", ("/start.sh",), (("/start.sh", "#!/bin/sh\nexec /app\n", 0o755),
                                         ("/app", _STATIC, 0o755))),
    "script-crlf": FormCase(
        "musl-busybox", ("/start.sh",), (("/start.sh", "#!/bin/sh\r\nexec /app\r\n", 0o755),),
        r"no such file or directory", "CCG210"),
    "no-exec-bit": FormCase(
        "scratch", ("/app",), (("/app", _STATIC, 0o644),), r"permission denied", "CCG213"),
    "env-wrapper": FormCase(
        "musl-busybox", ("/bin/env", "GREETING=1", "/app"), (("/app", _STATIC, 0o755),)),
    "env-wrapper-missing-command": FormCase(
        "musl-busybox", ("/bin/env", "GREETING=1", "/nope"), (),
        r"no such file or directory", "CCG200"),
    "missing-entrypoint": FormCase(
        "distroless-static", ("/nope",), (), r"no such file or directory", "CCG200"),
}


def _form_files(case: FormCase, static: Path) -> dict[str, Path]:
    """Host files for the case, written once into the cache with the wanted modes."""
    files = {}
    for dest, content, mode in case.files:
        data = static.read_bytes() if content == _STATIC else content.encode()
        host = cache_dir() / "matrix-files" / f"{hash_inputs([data, str(mode)])}"
        if not host.exists():
            host.parent.mkdir(parents=True, exist_ok=True)
            tmp = host.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.chmod(mode)
            tmp.rename(host)
        files[dest] = host
    return files


@pytest.mark.parametrize("name", sorted(FORM_CASES))
def test_entrypoint_forms_agree_with_the_engine(
    engine: DockerEngine, roots: RootBuilder, probes: ProbeBuilder, name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Shell form, scripts and file modes: gorc's rule matches what the runtime printed."""
    case = FORM_CASES[name]
    files = _form_files(case, probes.build("hello", "static"))
    tag = image_from_root(engine, roots.build(case.base), f"gorc-matrix/forms:{name}",
                          files=files, entrypoint=list(case.entrypoint))
    run = engine.run(tag, timeout=120)
    if case.symptom is None:
        assert run.exit_code == 0, run.output
    else:
        assert run.exit_code != 0 and re.search(case.symptom, run.output, re.I), run.output

    monkeypatch.setenv("DOCKER_HOST", engine.host)
    with open_image(f"docker:{tag}", cache_dir=cache_dir() / "layers") as image:
        verdict = judge_image(image.fs, image.summary, tag)
    context = f"engine said {run.output[:300]!r}; gorc: {verdict}"
    assert verdict.runnable is (case.symptom is None), context
    if case.rule is not None:
        assert case.rule in [f.rule_id for f in verdict.findings], context
