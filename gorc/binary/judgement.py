"""The outcome of judging one program file, shared by the ELF and script checks."""

from __future__ import annotations

from dataclasses import dataclass

from gorc.model import BinaryReport, Finding, Unknown

#: binfmt_script follows at most this many nested interpreters (BINPRM_MAX_RECURSION).
MAX_INTERPRETER_DEPTH = 4
#: How much of a script the kernel reads for the "#!" line (BINPRM_BUF_SIZE, Linux 5.1+).
SHEBANG_LIMIT = 256
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm",
                 "armel": "arm", "armv7l": "arm", "i386": "386", "i686": "386"}


def normalize_arch(arch: str | None) -> str | None:
    """An architecture name in Go's spelling (amd64, arm64, arm, 386...)."""
    if not arch:
        return None
    return _ARCH_ALIASES.get(arch.lower(), arch.lower())


@dataclass(frozen=True, slots=True)
class Judgement:
    """The report on one program file, with its findings and unknowns."""

    report: BinaryReport
    findings: tuple[Finding, ...] = ()
    unknowns: tuple[Unknown, ...] = ()


def subject(path: str, entrypoint: bool) -> str:
    """How messages name a program: the entrypoint, or a path that is not it."""
    return f"the entrypoint {path}" if entrypoint else f"{path} (not the entrypoint)"
