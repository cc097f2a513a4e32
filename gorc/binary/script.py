"""A '#!' script in the image: its interpreter (and ``env``'s program) must start.

binfmt_script reads the first line, trims spaces and tabs, and starts the
interpreter with the script as an argument; the interpreter may itself be a
script, up to :data:`~gorc.binary.judgement.MAX_INTERPRETER_DEPTH` levels.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from gorc.binary.entrypoint import image_path, locate_file
from gorc.binary.judgement import MAX_INTERPRETER_DEPTH, Judgement, subject
from gorc.model import BinaryFormat, BinaryReport, Finding, Severity, Unknown
from gorc.rules import finding

if TYPE_CHECKING:
    from gorc.binary.judge import Judge


class ScriptCheck:
    """A '#!' script: the interpreter (and ``env``'s program) must exist and start."""

    def __init__(self, judge: Judge, path: str, entrypoint: bool, head: bytes,
                 depth: int) -> None:
        self.judge = judge
        self.path = path
        self.entrypoint = entrypoint
        # binfmt_script trims spaces and tabs only: a CRLF line keeps its "\r".
        self.line = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").strip(" \t")
        self.depth = depth

    def run(self) -> Judgement:
        """Locate and judge the interpreter chain, then report on the script."""
        if self.depth >= MAX_INTERPRETER_DEPTH:
            return self._too_deep()
        words = [w for w in re.split(r"[ \t]+", self.line, maxsplit=1) if w]
        interp = words[0] if words else ""
        findings: list[Finding] = []
        unknowns: list[Unknown] = []
        results = [self._judge_program(program, findings, unknowns)
                   for program in self._programs(interp, words[1] if len(words) > 1 else "")]
        runnable = False if False in results else None if None in results else True
        report = BinaryReport(
            self.path, self.entrypoint, BinaryFormat.SCRIPT, interpreter=interp or None,
            runnable=runnable, problems=tuple(dict.fromkeys(f.rule_id for f in findings
                                                           if f.severity is Severity.ERROR)),
            layer=self.judge.location(self.path).layer)
        return Judgement(report, tuple(findings), tuple(unknowns))

    def _too_deep(self) -> Judgement:
        """A script nested past the kernel's limit: exec fails with ELOOP."""
        problem = finding(
            "CCG212", f"{subject(self.path, self.entrypoint)} is a '#!' script nested "
            f"{self.depth + 1} deep (each one's interpreter a script); the kernel starts at "
            f"most {MAX_INTERPRETER_DEPTH}: 'too many levels of symbolic links'",
            self.judge.location(self.path),
            "point the '#!' line at the real interpreter instead of another script",
            path=self.path)
        report = BinaryReport(self.path, self.entrypoint, BinaryFormat.SCRIPT,
                              runnable=False, problems=("CCG212",),
                              layer=self.judge.location(self.path).layer)
        return Judgement(report, (problem,))

    def _programs(self, interp: str, arg: str) -> list[tuple[str, str | None]]:
        """(name, located path) for the interpreter and, for ``env prog``, the program."""
        # binfmt_script opens the name as a path, relative ones from the cwd: no PATH search
        found = locate_file(self.judge.fs, interp, self.judge.summary.working_dir) \
            if interp else None
        programs = [(interp or "(empty '#!' line)", found)]
        if posixpath.basename(interp) == "env" and arg:
            # env's first word that is neither an option nor NAME=VALUE is the program.
            name = next((w for w in arg.split() if not w.startswith("-") and "=" not in w), "")
            if name:
                programs.append((name, self.judge.fs.which(name,
                                                           image_path(self.judge.summary))))
        return programs

    def _judge_program(self, program: tuple[str, str | None], findings: list[Finding],
                       unknowns: list[Unknown]) -> bool | None:
        name, found = program
        if found is None:
            crlf = " (the '#!' line ends in a carriage return: Windows line endings)" \
                if name.endswith("\r") else ""
            why = "is not in the image: 'no such file or directory'"
            fix = (f"install {posixpath.basename(name)} in the image, or replace the script "
                   "with the binary it runs")
            if name.endswith(("/", "/.")):  # measured: "exec /e.sh: not a directory"
                why = "ends in '/' as if it were a directory: 'not a directory'"
                fix = "remove the trailing '/' from the '#!' line"
            findings.append(finding(
                "CCG210", f"{subject(self.path, self.entrypoint)} is a script for "
                f"{name.rstrip()}, which {why}{crlf}", self.judge.location(self.path),
                fix, path=self.path, interpreter=name))
            return False
        verdict = self.judge.judge(found, False, self.depth + 1)
        findings.extend(verdict.findings)
        unknowns.extend(verdict.unknowns)
        return verdict.report.runnable
