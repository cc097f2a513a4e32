"""The outcome of judging one program file, shared by the ELF and script checks."""

from __future__ import annotations

from dataclasses import dataclass

from gorc.image.fs import FileInfo, FileSystem
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


def run_as(fs: FileSystem, user: str | None) -> tuple[int, int] | None:
    """The uid and gid the config's USER runs as, or None when the image cannot say.

    ``USER`` is ``name|uid[:group|gid]``; names are looked up in the image's
    /etc/passwd and /etc/group, as runc does. No USER means root.
    """
    if not user:
        return (0, 0)
    name, _, group = user.partition(":")
    passwd = _table(fs, "/etc/passwd")
    entry = next((e for e in passwd if name in (e[0], e[2])), None)
    uid = int(name) if name.isdigit() else int(entry[2]) if entry and entry[2].isdigit() else None
    if uid is None:
        return None
    if group:
        groups = _table(fs, "/etc/group")
        found = next((g[2] for g in groups if group in (g[0], g[2])), group)
        return (uid, int(found)) if found.isdigit() else None
    # runc: a uid with no passwd entry runs with gid 0.
    gid = entry[3] if entry and len(entry) > 3 and entry[3].isdigit() else "0"
    return uid, int(gid)


def _table(fs: FileSystem, path: str) -> list[list[str]]:
    text = fs.read_text(path, limit=1024 * 1024) or ""
    return [line.split(":") for line in text.splitlines() if line and ":" in line]


def may_execute(info: FileInfo, user: tuple[int, int] | None) -> bool:
    """Whether ``user`` may execute the file, by its mode bits (generic_permission).

    Root needs any execute bit; others the owner, group or other bit that applies.
    An unknown user is given the benefit of the doubt when any bit is set.
    """
    if user is None or user[0] == 0:
        return info.is_executable
    uid, gid = user
    if uid == info.uid:
        return bool(info.mode & 0o100)
    if gid == info.gid:
        return bool(info.mode & 0o010)
    return bool(info.mode & 0o001)
