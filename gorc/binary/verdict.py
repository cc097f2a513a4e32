"""Runnable verdicts for an image: its entrypoint, its Go binaries, executed programs.

:func:`judge_image` answers "will ``docker run IMAGE`` start, and can every Go
program in it start?"; :func:`judge_program` answers the same for a program
the source code executes (the reconcile step), with CCG206 findings.
"""

from __future__ import annotations

import json
import logging
import posixpath
import shlex
from dataclasses import dataclass

from gorc.binary.discover import find_elf_files, is_go_binary
from gorc.binary.elf import ElfType, read_elf
from gorc.binary.entrypoint import ProgramRef, Role, StartPlan, image_path, locate, plan_start
from gorc.binary.judge import Judge, Judgement, normalize_arch
from gorc.binary.judgement import run_as
from gorc.errors import GorcError
from gorc.image.fs import FileInfo, FileSystem
from gorc.model import (
    BinaryFormat,
    BinaryReport,
    Finding,
    ImageLocation,
    ImageSummary,
    Severity,
    Unknown,
)
from gorc.rules import finding

log = logging.getLogger(__name__)

#: Files whose presence means the image can still install things (not minimal).
PACKAGE_MANAGERS = ("/usr/bin/apt-get", "/sbin/apk", "/usr/bin/microdnf", "/usr/bin/dnf",
                    "/usr/bin/yum")
_LOADER_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64")


@dataclass(frozen=True, slots=True)
class ImageVerdict:
    """Reports on the entrypoint program(s) and every Go binary in the image."""

    binaries: tuple[BinaryReport, ...]
    findings: tuple[Finding, ...]
    unknowns: tuple[Unknown, ...]

    @property
    def runnable(self) -> bool | None:
        """Whether the entrypoint can start: False if any of its programs cannot,
        None when one is unknown or there is no entrypoint."""
        results = [r.runnable for r in self.binaries if r.entrypoint]
        if not results or False in results:
            return False if results else None
        return None if None in results else True


@dataclass(frozen=True, slots=True)
class ProgramVerdict:
    """Whether a program the code executes can start in the image."""

    name: str
    path: str | None
    runnable: bool | None
    report: BinaryReport | None
    findings: tuple[Finding, ...]
    unknowns: tuple[Unknown, ...] = ()


def is_minimal(fs: FileSystem) -> bool:
    """True when the image has no /bin/sh and no package manager."""
    return not fs.exists("/bin/sh") and not any(fs.exists(p) for p in PACKAGE_MANAGERS)


def image_arch(fs: FileSystem, summary: ImageSummary) -> str | None:
    """The image's architecture: its config's, else that of its own dynamic loader.

    A ``dir:`` root has no config; its loader (ld-linux*, ld-musl*) tells what it
    was made for. None when neither says, and then no arch check is made.
    """
    configured = normalize_arch(summary.architecture)
    if configured:
        return configured
    for directory in _LOADER_DIRS:
        for name in fs.listdir(directory):
            if not name.startswith("ld-") or ".so" not in name:
                continue
            try:
                with fs.open(posixpath.join(directory, name)) as stream:
                    arch = read_elf(stream).arch
            except GorcError:
                continue
            if arch:
                return arch
    return None


def _make_judge(fs: FileSystem, summary: ImageSummary, image_name: str) -> Judge:
    return Judge(fs, summary, image_name, image_arch(fs, summary), is_minimal(fs),
                 run_as(fs, summary))


def judge_image(fs: FileSystem, summary: ImageSummary, image_name: str) -> ImageVerdict:
    """Judge the entrypoint (with Cmd, shell form and healthcheck) and every Go binary."""
    judge = _make_judge(fs, summary, image_name)
    plan = plan_start(fs, summary)
    judgements = list(_judge_plan(judge, plan))
    findings = [f for j in judgements for f in j.findings]
    if not plan.has_command:
        findings.append(finding(
            "CCG209", "the image config has neither Entrypoint nor Cmd: 'docker run' without "
            "a command fails with 'no command specified'", ImageLocation(image_name),
            'ENTRYPOINT ["/app"]'))
    findings.extend(_plan_findings(judge, plan))
    unknowns: list[Unknown] = [*_foreign_os(summary, image_name),
                               *(u for j in judgements for u in j.unknowns)]
    # a missing program's report path is its name as written ("app"), not a file
    done = {_real(fs, j.report.path) for j in judgements
            if j.report.format is not BinaryFormat.MISSING}
    for path in _go_programs(fs, image_name, unknowns):
        if _real(fs, path) not in done:
            result = judge.judge(path, entrypoint=False)
            judgements.append(result)
            findings.extend(result.findings)
            unknowns.extend(result.unknowns)
    reports = tuple(dict.fromkeys(j.report for j in judgements))
    return ImageVerdict(reports, tuple(dict.fromkeys(findings)), tuple(dict.fromkeys(unknowns)))


def _foreign_os(summary: ImageSummary, image_name: str) -> list[Unknown]:
    """An image for another OS: its programs are judged as Linux would run them, if at all."""
    if summary.os in (None, "", "linux"):
        return []
    return [Unknown(f"image os {summary.os!r}",
                    f"gorc judges Linux images only; a Linux engine refuses to start an image "
                    f"for {summary.os}", ImageLocation(image_name))]


def _real(fs: FileSystem, path: str) -> str | None:
    try:
        return fs.resolve(path)
    except GorcError:
        return None


def _judge_plan(judge: Judge, plan: StartPlan) -> list[Judgement]:
    out = []
    for ref in plan.programs:
        entry = ref.source != "Healthcheck"
        if ref.path is not None:
            out.append(judge.judge(ref.path, entrypoint=entry))
        elif entry:
            report = BinaryReport(ref.name, True, BinaryFormat.MISSING, runnable=False,
                                  problems=(_missing_rule(ref),))
            out.append(Judgement(report))
    return out


def _missing_rule(ref: ProgramRef) -> str:
    return "CCG205" if ref.role in (Role.SHELL, Role.HEALTHCHECK_SHELL) else "CCG200"


def _plan_findings(judge: Judge, plan: StartPlan) -> list[Finding]:
    """CCG200 and CCG205 for the programs the config names but the image lacks."""
    findings = []
    for ref in plan.programs:
        if ref.path is not None:
            continue
        where = ImageLocation(judge.image_name, ref.name)
        if _missing_rule(ref) == "CCG205":
            findings.append(finding(
                "CCG205", f"the shell-form {ref.source} runs {ref.name} -c ... but the image "
                f"has no {ref.name}", where,
                f"use the exec form in the Dockerfile ({_exec_form(ref, plan)})",
                path=ref.name, field=ref.source))
            continue
        if "/" in ref.name:
            how, symptom = "at that path", f"exec {ref.name}: no such file or directory"
        else:
            how = "on its PATH " + image_path(judge.summary)
            symptom = f'exec: "{ref.name}": executable file not found in $PATH'
        findings.append(finding(
            "CCG200", f"the {ref.role} program {ref.name} ({ref.source}) is not in the image "
            f"({how}): '{symptom}'", where,
            f"COPY the program to the path {ref.source} names, or fix the path",
            path=ref.name, field=ref.source))
    return findings


def _exec_form(ref: ProgramRef, plan: StartPlan) -> str:
    if ref.source == "Healthcheck":
        return 'HEALTHCHECK CMD ["/app", "-health"]'
    try:
        words = shlex.split(plan.shell_string or "")
    except ValueError:
        words = []
    if words[:1] == ["exec"]:
        words = words[1:]
    words = words or ["/app"]
    return f"{ref.source.upper()} [" + ", ".join(json.dumps(w) for w in words) + "]"


def _go_programs(fs: FileSystem, image_name: str, unknowns: list[Unknown]) -> list[str]:
    """Paths of every Go program (not Go shared library) in the image."""

    def on_error(info: FileInfo, err: GorcError) -> None:
        unknowns.append(Unknown(info.path, str(err), ImageLocation(image_name, info.path,
                                                                  info.layer)))

    found = []
    for candidate in find_elf_files(fs, on_error=on_error):
        path = candidate.info.path
        try:
            with fs.open(path) as stream:
                if not is_go_binary(stream):
                    continue
                stream.seek(0)
                if read_elf(stream).elf_type is ElfType.SHARED:
                    continue
        except GorcError as err:
            on_error(candidate.info, err)
            continue
        found.append(path)
    return found


def judge_program(fs: FileSystem, summary: ImageSummary, path_or_name: str,
                  image_name: str | None = None) -> ProgramVerdict:
    """Whether a program the source executes can start in the image.

    A name without a slash is looked up through the image's PATH. Errors about
    the program itself become CCG206 findings, with the underlying rule in the
    message and in the evidence (``cause``). A program the image lacks gives
    ``path=None, runnable=False`` and no finding: reconcile reports it (CCG101).
    """
    name = image_name or summary.reference
    path = locate(fs, path_or_name, summary)
    if path is None:
        return ProgramVerdict(path_or_name, None, False, None, ())
    result = _make_judge(fs, summary, name).judge(path, entrypoint=False)
    findings = tuple(_as_executed(f, path_or_name) for f in result.findings)
    return ProgramVerdict(path_or_name, path, result.report.runnable, result.report, findings,
                          result.unknowns)


def _as_executed(original: Finding, name: str) -> Finding:
    if original.severity is not Severity.ERROR:
        return original
    evidence = dict(original.evidence)
    evidence["cause"] = original.rule_id
    message = (f"{name} is executed by the code and is in the image, but cannot start there "
               f"({original.rule_id}): {original.message.replace(' (not the entrypoint)', '')}")
    return finding("CCG206", message, original.location, original.suggestion, None, **evidence)
