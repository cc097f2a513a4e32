"""Runnable verdicts: entrypoint forms, scripts, ELF checks, Go binaries, executed programs.

The roots are in-memory filesystems holding real files: the host's glibc, the
C objects of tests.support.elfpatch, probe Go binaries and Debian binaries.
The matrix test (test_matrix.py) checks the same verdicts against a real engine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gorc.binary.entrypoint import plan_start, shell_command_word
from gorc.binary.verdict import ImageVerdict, judge_image, judge_program
from gorc.image.fs import MemoryFileSystem
from gorc.model import BinaryFormat, BinaryReport, Finding, ImageLocation, ImageSummary, Severity
from tests.binary.craft import PF_R, PF_X, ElfSpec, Load, build_elf
from tests.support import MissingToolError
from tests.support.elfpatch import c_objects, newer_glibc_binary, rewrite_version, skip_or_fail
from tests.support.probes import ProbeBuilder

HOST_LOADER = Path("/lib64/ld-linux-x86-64.so.2")
HOST_LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")
DEBIAN_MUSL = Path("/usr/lib/x86_64-linux-musl/libc.so")
BUSYBOX = Path("/bin/busybox")
LAYER = "sha256:" + "ab" * 32


def needs(*paths: Path) -> None:
    """Skip when a host file the test copies into a root is missing."""
    for path in paths:
        if not path.exists():
            skip_or_fail(f"needs {path} on the host")


def glibc_fs() -> MemoryFileSystem:
    """A minimal glibc root: loader and libc from the host, Debian's layout."""
    needs(HOST_LOADER, HOST_LIBC)
    fs = MemoryFileSystem()
    fs.add("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", HOST_LOADER.resolve().read_bytes(),
           0o755)
    fs.add("/lib/x86_64-linux-gnu/libc.so.6", HOST_LIBC.resolve().read_bytes(), 0o755)
    fs.add_symlink("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    return fs


def summary(entrypoint: tuple[str, ...] | None = ("/app",), cmd: tuple[str, ...] | None = None,
            architecture: str = "amd64", **kw: object) -> ImageSummary:
    """An image config (amd64 unless told)."""
    return ImageSummary("test:latest", architecture=architecture, entrypoint=entrypoint,
                        cmd=cmd, **kw)  # type: ignore[arg-type]


def entry(verdict: ImageVerdict) -> BinaryReport:
    """The first entrypoint report."""
    return next(r for r in verdict.binaries if r.entrypoint)


def rules(findings: tuple[Finding, ...]) -> list[str]:
    """The rule ids, in order."""
    return [f.rule_id for f in findings]


@pytest.fixture(scope="module")
def static_go(probes: ProbeBuilder) -> bytes:
    """A static Go program (probe hello)."""
    return probes.build("hello", "static").read_bytes()


@pytest.fixture(scope="module")
def cgo_glibc(probes: ProbeBuilder) -> bytes:
    """A cgo Go program linked against glibc."""
    return probes.build("cgo", "cgo-glibc").read_bytes()


@pytest.fixture(scope="module")
def objs() -> Path:
    """The C objects of tests.support.elfpatch."""
    try:
        return c_objects()
    except MissingToolError as err:
        skip_or_fail(str(err))


# --- Entrypoint, Cmd, shell form, healthcheck -------------------------------------------


def test_no_entrypoint_nor_cmd_is_info() -> None:
    """Neither Entrypoint nor Cmd: CCG209, an info."""
    verdict = judge_image(MemoryFileSystem(), summary(None), "img")
    assert rules(verdict.findings) == ["CCG209"]
    assert verdict.findings[0].severity is Severity.INFO
    assert verdict.runnable is None


def test_missing_entrypoint(static_go: bytes) -> None:
    """An entrypoint path the image lacks: CCG200, reported as a missing program."""
    verdict = judge_image(MemoryFileSystem(), summary(("/app", "serve")), "img")
    report = entry(verdict)
    assert (report.path, report.format, report.runnable) == ("/app", BinaryFormat.MISSING, False)
    assert rules(verdict.findings) == ["CCG200"]
    assert verdict.findings[0].evidence == (("field", "Entrypoint"), ("path", "/app"))


def test_bare_name_through_config_path(static_go: bytes) -> None:
    """Cmd ["app"] is found through the config's PATH, not the default one."""
    fs = MemoryFileSystem()
    fs.add("/opt/bin/app", static_go, 0o755)
    with_path = judge_image(fs, summary(None, ("app",), env=(("PATH", "/opt/bin"),)), "img")
    assert entry(with_path).path == "/opt/bin/app"
    assert entry(with_path).runnable is True
    default = judge_image(fs, summary(None, ("app",)), "img")
    assert rules(default.findings) == ["CCG200"]


def test_relative_path_is_relative_to_workdir(static_go: bytes) -> None:
    """./app with WorkingDir /srv is /srv/app."""
    fs = MemoryFileSystem()
    fs.add("/srv/app", static_go, 0o755)
    verdict = judge_image(fs, summary(("./app",), working_dir="/srv"), "img")
    assert entry(verdict).path == "/srv/app"
    assert verdict.runnable is True


def test_shell_form_without_shell(static_go: bytes) -> None:
    """CMD /app --port 80 (shell form) on an image without /bin/sh: CCG205."""
    fs = MemoryFileSystem()
    fs.add("/app", static_go, 0o755)
    verdict = judge_image(fs, summary(None, ("/bin/sh", "-c", "exec /app --port 80")), "img")
    assert rules(verdict.findings) == ["CCG205"]
    assert verdict.runnable is False
    assert 'CMD ["/app", "--port", "80"]' in verdict.findings[0].suggestion
    paths = {r.path: r.runnable for r in verdict.binaries}
    assert paths == {"/bin/sh": False, "/app": True}


def test_shell_form_with_busybox_shell(static_go: bytes) -> None:
    """With a static busybox as /bin/sh, the shell form starts."""
    needs(BUSYBOX)
    fs = MemoryFileSystem()
    fs.add("/bin/busybox", BUSYBOX.read_bytes(), 0o755)
    fs.add_symlink("/bin/sh", "busybox")
    fs.add("/app", static_go, 0o755)
    verdict = judge_image(fs, summary(None, ("/bin/sh", "-c", "/app")), "img")
    assert verdict.findings == ()
    assert verdict.runnable is True


@pytest.mark.parametrize(("script", "word"), [
    ("exec /app --x", "/app"), ("FOO=1 BAR=2 app", "app"), ("cd /srv && ./run", None),
    ("$APP", None), ("if true; then x; fi", None), ("'unbalanced", None), ("", None),
])
def test_shell_command_word(script: str, word: str | None) -> None:
    """The first program of a shell string, when it is a plain command."""
    assert shell_command_word(script) == word


def test_healthcheck_forms(static_go: bytes) -> None:
    """CMD-SHELL needs /bin/sh; CMD checks its program; NONE checks nothing."""
    fs = MemoryFileSystem()
    fs.add("/app", static_go, 0o755)
    shell = judge_image(fs, summary(healthcheck=("CMD-SHELL", "curl -f localhost")), "img")
    assert rules(shell.findings) == ["CCG205", "CCG200"]
    assert shell.runnable is True  # the healthcheck does not stop the container starting
    cmd = judge_image(fs, summary(healthcheck=("CMD", "/probe", "-health")), "img")
    assert rules(cmd.findings) == ["CCG200"]
    assert "healthcheck" in cmd.findings[0].message
    none = judge_image(fs, summary(healthcheck=("NONE",)), "img")
    assert none.findings == ()


def test_plan_lists_every_program() -> None:
    """Entrypoint + Cmd make argv; the shell form names the shell and the command."""
    fs = MemoryFileSystem()
    plan = plan_start(fs, summary(("/bin/sh", "-c"), ("nginx -g 'daemon off;'",)))
    assert plan.argv == ("/bin/sh", "-c", "nginx -g 'daemon off;'")
    assert [(p.name, p.role.value) for p in plan.programs] == [
        ("/bin/sh", "shell"), ("nginx", "shell command")]


@pytest.mark.parametrize(("argv", "programs"), [
    (("/sbin/tini", "--", "/app", "serve"), ["/sbin/tini", "/app"]),
    (("tini", "-g", "-s", "--", "/app"), ["tini", "/app"]),
    (("gosu", "nobody", "/app", "-x"), ["gosu", "/app"]),
    (("/usr/bin/env", "-i", "A=1", "/app"), ["/usr/bin/env", "/app"]),
    (("dumb-init", "/bin/sh", "-c", "exec /app"), ["dumb-init", "/bin/sh", "/app"]),
    (("tini",), ["tini"]),
])
def test_wrappers_start_the_real_command(argv: tuple[str, ...], programs: list[str]) -> None:
    """Init shims and user switchers: the command they start is checked too."""
    plan = plan_start(MemoryFileSystem(), summary(argv))
    assert [p.name for p in plan.programs] == programs


def test_missing_wrapped_command(static_go: bytes) -> None:
    """tini present, the command it starts absent: CCG200 for the command."""
    fs = MemoryFileSystem()
    fs.add("/sbin/tini", static_go, 0o755)
    verdict = judge_image(fs, summary(("/sbin/tini", "--", "/app")), "img")
    assert rules(verdict.findings) == ["CCG200"]
    assert verdict.runnable is False


# --- Files that are not programs --------------------------------------------------------


def test_no_exec_bit(static_go: bytes) -> None:
    """A regular file without an execute bit: CCG213."""
    fs = MemoryFileSystem()
    fs.add("/app", static_go, 0o644)
    verdict = judge_image(fs, summary(), "img")
    assert rules(verdict.findings) == ["CCG213"]
    assert verdict.runnable is False


def test_neither_elf_nor_script() -> None:
    """A Mach-O or any other format: CCG212."""
    fs = MemoryFileSystem()
    fs.add("/app", b"\xcf\xfa\xed\xfe" + bytes(100), 0o755)
    assert rules(judge_image(fs, summary(), "img").findings) == ["CCG212"]


def test_loader_run_directly_starts() -> None:
    """ENTRYPOINT ["/lib64/ld-linux-x86-64.so.2", ...]: ld.so is ET_DYN with an entry point;
    the engine runs it (measured), unlike a plain library (e_entry 0)."""
    fs = glibc_fs()
    verdict = judge_image(fs, summary(("/lib64/ld-linux-x86-64.so.2", "/app")), "img")
    assert (rules(verdict.findings), verdict.runnable) == ([], True)
    library = Path("/lib/x86_64-linux-gnu/libz.so.1")
    needs(library)
    fs.add("/libz.so.1", library.resolve().read_bytes(), 0o755)
    verdict = judge_image(fs, summary(("/libz.so.1",)), "img")
    assert (rules(verdict.findings), verdict.runnable) == (["CCG212"], False)


def test_damaged_elf_is_unknown() -> None:
    """A truncated ELF: CCG207 and an unknown, runnable unknown."""
    fs = MemoryFileSystem()
    fs.add("/app", b"\x7fELF\x02\x01\x01" + bytes(20), 0o755)
    verdict = judge_image(fs, summary(), "img")
    assert rules(verdict.findings) == ["CCG207"]
    assert verdict.runnable is None
    assert [u.what for u in verdict.unknowns] == ["/app"]


def test_upx_packed(static_go: bytes) -> None:
    """A UPX-packed binary: CCG208 (warning), runnable unknown."""
    packed = bytearray(static_go)
    packed[0xF00:0xF04] = b"UPX!"
    fs = MemoryFileSystem()
    fs.add("/app", bytes(packed), 0o755)
    verdict = judge_image(fs, summary(), "img")
    assert rules(verdict.findings) == ["CCG208"]
    assert verdict.findings[0].severity is Severity.WARNING
    assert verdict.runnable is None


# --- Scripts ----------------------------------------------------------------------------


def test_script_interpreter_missing() -> None:
    """#!/bin/bash on an image without bash: CCG210."""
    fs = MemoryFileSystem()
    fs.add("/entrypoint.sh", b"#!/bin/bash\nexec /app\n", 0o755)
    verdict = judge_image(fs, summary(("/entrypoint.sh",)), "img")
    assert rules(verdict.findings) == ["CCG210"]
    report = entry(verdict)
    assert (report.format, report.interpreter, report.runnable) == (
        BinaryFormat.SCRIPT, "/bin/bash", False)


def test_script_interpreter_with_a_trailing_slash(static_go: bytes) -> None:
    """#!/bin/sh/ fails with ENOTDIR although /bin/sh is there (measured on the engine)."""
    fs = MemoryFileSystem()
    fs.add("/bin/sh", static_go, 0o755)
    fs.add("/e.sh", b"#!/bin/sh/\necho hi\n", 0o755)
    verdict = judge_image(fs, summary(("/e.sh",)), "img")
    assert rules(verdict.findings) == ["CCG210"]
    assert "'not a directory'" in verdict.findings[0].message
    assert entry(verdict).runnable is False


def test_script_env_program_through_path() -> None:
    """#!/usr/bin/env python3: env must exist and python3 must be on PATH."""
    needs(BUSYBOX)
    fs = MemoryFileSystem()
    fs.add("/bin/busybox", BUSYBOX.read_bytes(), 0o755)
    fs.add_symlink("/usr/bin/env", "/bin/busybox")
    fs.add("/run.py", b"#!/usr/bin/env python3\nprint(1)\n", 0o755)
    missing = judge_image(fs, summary(("/run.py",)), "img")
    assert rules(missing.findings) == ["CCG210"]
    assert dict(missing.findings[0].evidence)["interpreter"] == "python3"
    fs.add_symlink("/usr/bin/python3", "/bin/busybox")
    assert judge_image(fs, summary(("/run.py",)), "img").runnable is True


def test_script_interpreter_that_cannot_start(cgo_glibc: bytes) -> None:
    """The interpreter exists but is itself a dynamic binary without its loader."""
    fs = MemoryFileSystem()
    fs.add("/usr/bin/tool", cgo_glibc, 0o755)
    fs.add("/run", b"#!/usr/bin/tool -x\n", 0o755)
    verdict = judge_image(fs, summary(("/run",)), "img")
    assert "CCG201" in rules(verdict.findings)
    assert entry(verdict).runnable is False


# --- ELF checks -------------------------------------------------------------------------


def test_arch_mismatch_evidence(static_go: bytes) -> None:
    """An amd64 binary in an arm64 image: CCG204 with both arches as evidence."""
    fs = MemoryFileSystem()
    fs.add("/app", static_go, 0o755, layer=LAYER)
    verdict = judge_image(fs, summary(architecture="arm64"), "img")
    (problem,) = verdict.findings
    assert problem.rule_id == "CCG204"
    evidence = dict(problem.evidence)
    assert (evidence["binary_arch"], evidence["image_arch"]) == ("amd64", "arm64")
    assert problem.location == ImageLocation("img", "/app", LAYER)
    assert "GOARCH=arm64" in problem.suggestion


def test_arch_from_the_image_loader_without_config(probes: ProbeBuilder) -> None:
    """A dir: root has no config arch: the image's own loader tells it."""
    fs = glibc_fs()
    fs.add("/app", probes.build("hello", "arm64").read_bytes(), 0o755)
    verdict = judge_image(fs, ImageSummary("dir:/x", entrypoint=("/app",)), "dir:/x")
    assert rules(verdict.findings) == ["CCG204"]
    bare = MemoryFileSystem()
    bare.add("/app", probes.build("hello", "arm64").read_bytes(), 0o755)
    assert judge_image(bare, ImageSummary("dir:/y", entrypoint=("/app",)), "y").findings == ()


def test_missing_interpreter_names_cgo(cgo_glibc: bytes) -> None:
    """A cgo binary in scratch: CCG201 naming the loader and the cgo build."""
    fs = MemoryFileSystem()
    fs.add("/app", cgo_glibc, 0o755)
    (problem,) = judge_image(fs, summary(), "img").findings
    assert problem.rule_id == "CCG201"
    assert "/lib64/ld-linux-x86-64.so.2" in problem.message
    assert "built with cgo (CGO_ENABLED=1)" in problem.message
    assert "CGO_ENABLED=0" in problem.suggestion or "netgo" in problem.suggestion


def gcompat_fs() -> MemoryFileSystem:
    """alpine's gcompat layout: glibc's loader path is musl's loader."""
    needs(DEBIAN_MUSL)
    fs = MemoryFileSystem()
    fs.add("/lib/ld-musl-x86_64.so.1", DEBIAN_MUSL.read_bytes(), 0o755)
    fs.add_symlink("/lib64/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1")
    return fs


def test_glibc_binary_on_musl_loader_that_resolves(cgo_glibc: bytes) -> None:
    """Every symbol the glibc binary imports is in musl: it runs, with a CCG211 warning."""
    fs = gcompat_fs()
    fs.add("/app", cgo_glibc, 0o755)
    verdict = judge_image(fs, summary(), "img")
    (problem,) = verdict.findings
    assert (problem.rule_id, problem.severity) == ("CCG211", Severity.WARNING)
    assert verdict.runnable is True


def test_glibc_only_symbol_on_musl_loader(objs: Path) -> None:
    """gnu_get_libc_version exists only in glibc: CCG211 error naming the symbol."""
    fs = gcompat_fs()
    fs.add("/app", (objs / "app-glibc-only").read_bytes(), 0o755)
    verdict = judge_image(fs, summary(), "img")
    (problem,) = verdict.findings
    assert (problem.rule_id, problem.severity) == ("CCG211", Severity.ERROR)
    assert dict(problem.evidence)["symbols"] == "gnu_get_libc_version"
    assert verdict.runnable is False


def test_cgo_on_minimal_glibc_warns(cgo_glibc: bytes) -> None:
    """Runs today on a glibc root without shell or package manager: CCG022 warning."""
    fs = glibc_fs()
    fs.add("/app", cgo_glibc, 0o755)
    verdict = judge_image(fs, summary(), "img")
    assert verdict.runnable is True
    (warning,) = verdict.findings
    assert (warning.rule_id, warning.severity) == ("CCG022", Severity.WARNING)
    assert "netgo,osusergo" in warning.suggestion
    needs(BUSYBOX)
    fs.add("/bin/sh", BUSYBOX.read_bytes(), 0o755)
    assert judge_image(fs, summary(), "img").findings == ()


def test_missing_library_names_the_package() -> None:
    """skopeo on a bare glibc root: CCG202 per library, with the Debian package."""
    skopeo = Path("/usr/bin/skopeo")
    needs(skopeo)
    fs = glibc_fs()
    fs.add("/app", skopeo.read_bytes(), 0o755)
    verdict = judge_image(fs, summary(), "img")
    by_library = {dict(f.evidence)["library"]: f for f in verdict.findings}
    assert set(by_library) == {"libgpgme.so.11", "libdevmapper.so.1.02.1"}
    gpgme = by_library["libgpgme.so.11"]
    assert dict(gpgme.evidence)["package"] == "libgpgme11"
    assert "(Debian package libgpgme11)" in gpgme.suggestion  # no apt-get in the image
    assert "/lib/x86_64-linux-gnu" in dict(gpgme.evidence)["searched"]
    fs.add("/usr/bin/apt-get", b"#!/bin/sh\n", 0o755)
    with_apt = judge_image(fs, summary(), "img").findings
    assert any("apt-get install -y libgpgme11" in f.suggestion for f in with_apt)


def test_missing_glibc_version() -> None:
    """A binary needing GLIBC_2.99 on glibc 2.36: CCG203 naming both."""
    try:
        binary = newer_glibc_binary()
    except MissingToolError as err:
        skip_or_fail(str(err))
    fs = glibc_fs()
    fs.add("/app", binary.read_bytes(), 0o755)
    (problem,) = judge_image(fs, summary(), "img").findings
    evidence = dict(problem.evidence)
    assert problem.rule_id == "CCG203"
    assert evidence["version"] == "GLIBC_2.99"
    assert evidence["highest"].startswith("GLIBC_2.")
    assert "glibc 2.99 or newer" in problem.suggestion


def test_library_version_from_a_dependency(objs: Path) -> None:
    """A library that exists but stops at FOO_1.0 while FOO_2.0 is needed."""
    fs = glibc_fs()
    fs.add("/app", (objs / "app-foo2").read_bytes(), 0o755)
    fs.add("/usr/lib/x86_64-linux-gnu/libfoo.so.1", (objs / "libfoo-v1.so").read_bytes())
    (problem,) = judge_image(fs, summary(), "img").findings
    assert problem.rule_id == "CCG203"
    assert "FOO_1.0" in problem.message


# --- Go binaries that are not the entrypoint, executed programs --------------------------


def test_every_go_binary_is_reported(static_go: bytes, cgo_glibc: bytes) -> None:
    """Go binaries elsewhere in the image get reports; their problems say so."""
    fs = MemoryFileSystem()
    fs.add("/app", static_go, 0o755)
    fs.add("/usr/local/bin/helper", cgo_glibc, 0o755)
    fs.add_symlink("/usr/bin/helper-link", "/usr/local/bin/helper")
    verdict = judge_image(fs, summary(), "img")
    reports = {r.path: r for r in verdict.binaries}
    assert set(reports) == {"/app", "/usr/local/bin/helper"}
    helper = reports["/usr/local/bin/helper"]
    assert (helper.entrypoint, helper.runnable, helper.problems) == (False, False, ("CCG201",))
    assert helper.go is not None
    assert "(not the entrypoint)" in verdict.findings[0].message
    assert verdict.runnable is True


def test_go_binary_named_like_a_missing_bare_command(static_go: bytes) -> None:
    """Cmd ["app"] not on PATH is missing; the Go binary /app is still reported."""
    fs = MemoryFileSystem()
    fs.add("/app", static_go, 0o755)
    verdict = judge_image(fs, summary(None, ("app",), env=(("PATH", "/usr/bin"),)), "img")
    assert rules(verdict.findings) == ["CCG200"]
    assert [(r.path, r.entrypoint) for r in verdict.binaries] == [("app", True), ("/app", False)]


def test_executed_program_missing() -> None:
    """A program the code runs but the image lacks: not runnable, no path."""
    verdict = judge_program(MemoryFileSystem(), summary(), "curl")
    assert (verdict.path, verdict.runnable, verdict.findings) == (None, False, ())


def test_executed_program_that_cannot_start(cgo_glibc: bytes) -> None:
    """A program in the image that cannot start: CCG206 with the cause."""
    fs = MemoryFileSystem()
    fs.add("/usr/bin/tool", cgo_glibc, 0o755)
    verdict = judge_program(fs, summary(), "tool")
    assert verdict.path == "/usr/bin/tool"
    assert verdict.runnable is False
    (problem,) = verdict.findings
    assert problem.rule_id == "CCG206"
    assert dict(problem.evidence)["cause"] == "CCG201"
    assert "(not the entrypoint)" not in problem.message


def test_verdict_needs_no_busybox_in_host_path() -> None:
    """Resolution is inside the image: host programs never leak in."""
    assert shutil.which("sh") is not None
    verdict = judge_program(MemoryFileSystem(), summary(), "sh")
    assert verdict.runnable is False


def test_damaged_loader_cache_is_an_unknown(cgo_glibc: bytes) -> None:
    """A damaged ld.so.cache does not stop the verdict but is recorded as unknown."""
    fs = glibc_fs()
    fs.add("/etc/ld.so.cache", b"glibc-ld.so.cache1.1 but then nothing")
    fs.add("/app", cgo_glibc, 0o755)
    verdict = judge_image(fs, summary(), "img")
    assert verdict.runnable is True
    assert [u.what for u in verdict.unknowns] == ["/etc/ld.so.cache"]


def test_crlf_shebang_is_a_missing_interpreter() -> None:
    """The kernel keeps the "\\r" of a CRLF '#!' line: the interpreter is not found."""
    needs(BUSYBOX)
    fs = MemoryFileSystem()
    fs.add("/bin/sh", BUSYBOX.read_bytes(), 0o755)
    fs.add("/start.sh", b"#!/bin/sh\r\nexec /app\r\n", 0o755)
    verdict = judge_image(fs, summary(("/start.sh",)), "img")
    assert rules(verdict.findings) == ["CCG210"]
    assert "Windows line endings" in verdict.findings[0].message


def test_32_bit_binary_on_64_bit_image_is_a_warning() -> None:
    """An i386 static binary in an amd64 image runs where the kernel has IA32 emulation."""
    fs = MemoryFileSystem()
    i386 = build_elf(ElfSpec(elf_class=32, machine=3, loads=[Load(b"\x90" * 64, PF_R | PF_X)]))
    fs.add("/app", i386, 0o755)
    verdict = judge_image(fs, summary(), "img")
    (problem,) = verdict.findings
    assert (problem.rule_id, problem.severity) == ("CCG204", Severity.WARNING)
    assert verdict.runnable is True


def test_interpreter_for_another_machine(cgo_glibc: bytes, probes: ProbeBuilder) -> None:
    """A loader path that holds an arm64 file cannot serve an amd64 binary."""
    fs = MemoryFileSystem()
    fs.add("/lib64/ld-linux-x86-64.so.2", probes.build("hello", "arm64").read_bytes(), 0o755)
    fs.add("/app", cgo_glibc, 0o755)
    verdict = judge_image(fs, summary(), "img")
    (problem,) = [f for f in verdict.findings if dict(f.evidence)["path"] == "/app"]
    assert problem.rule_id == "CCG201"
    assert "built for arm64" in problem.message


def test_library_in_conf_dir_without_cache_says_run_ldconfig(objs: Path) -> None:
    """A library in a dir ld.so.conf lists, but no cache indexes it: the fix is ldconfig."""
    fs = glibc_fs()
    fs.add("/app", (objs / "app-foo2").read_bytes(), 0o755)
    fs.add("/opt/foo/libfoo.so.1", (objs / "libfoo-v2.so").read_bytes())
    fs.add("/etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n")
    fs.add("/etc/ld.so.conf.d/foo.conf", b"/opt/foo\n")
    (problem,) = judge_image(fs, summary(), "img").findings
    assert problem.rule_id == "CCG202"
    assert dict(problem.evidence)["unindexed"] == "/opt/foo/libfoo.so.1"
    assert problem.suggestion.startswith("RUN ldconfig")


def test_missing_versions_are_grouped_per_library(objs: Path, tmp_path: Path) -> None:
    """Two missing GLIBC_ versions of one library make one finding naming the newest."""
    needs(HOST_LIBC)
    once = rewrite_version(objs / "app-foo2", tmp_path / "once", "GLIBC_2.34", "GLIBC_2.98")
    twice = rewrite_version(once, tmp_path / "twice", "GLIBC_2.2.5", "GLIBC_9.9.9")
    fs = glibc_fs()
    fs.add("/app", twice.read_bytes(), 0o755)
    fs.add("/usr/lib/x86_64-linux-gnu/libfoo.so.1", (objs / "libfoo-v2.so").read_bytes())
    (problem,) = judge_image(fs, summary(), "img").findings
    evidence = dict(problem.evidence)
    assert (evidence["version"], evidence["versions"]) == ("GLIBC_9.9.9",
                                                           "GLIBC_2.98,GLIBC_9.9.9")


@pytest.mark.parametrize(("user", "mode", "owner", "ok"), [
    (None, 0o700, (0, 0), True),
    ("65532", 0o700, (0, 0), False),
    ("65532", 0o755, (0, 0), True),
    ("nonroot", 0o700, (65532, 65532), True),
    ("nonroot", 0o750, (0, 65532), True),
    ("nonroot:nonroot", 0o705, (0, 0), True),
    ("nobody", 0o770, (0, 0), False),
    ("ghost", 0o700, (0, 0), True),  # unknown user: runc fails elsewhere; not this rule
    # supplementary groups (staff lists nonroot) count only when USER names no group
    ("nonroot", 0o750, (0, 50), True),
    ("65532", 0o750, (0, 50), True),
    ("nonroot:nonroot", 0o750, (0, 50), False),
    ("65532:50", 0o750, (0, 50), True),
])
def test_execute_permission_for_the_config_user(
    static_go: bytes, user: str | None, mode: int, owner: tuple[int, int], ok: bool
) -> None:
    """USER decides which mode bits apply: 0700 root-owned is 'permission denied' for 65532."""
    fs = MemoryFileSystem()
    fs.add("/etc/passwd", b"root:x:0:0::/root:/sbin/nologin\n"
           b"nobody:x:65534:65534::/:/sbin/nologin\nnonroot:x:65532:65532::/home:/sbin/nologin\n")
    fs.add("/etc/group", b"root:x:0:\nnonroot:x:65532:\nstaff:x:50:nonroot\n")
    fs.add("/app", static_go, mode, uid=owner[0], gid=owner[1])
    verdict = judge_image(fs, summary(user=user), "img")
    assert verdict.runnable is ok
    assert rules(verdict.findings) == ([] if ok else ["CCG213"])
