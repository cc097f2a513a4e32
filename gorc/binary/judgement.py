"""The outcome of judging one program file, shared by the ELF and script checks."""

from __future__ import annotations

from dataclasses import dataclass

from gorc.image.fs import FileInfo, FileSystem
from gorc.image.inventory.users import (
    GROUP,
    PASSWD,
    check_user,
    parse_group,
    parse_passwd,
    supplementary_gids,
)
from gorc.model import BinaryReport, Finding, ImageSummary, Unknown

#: How many '#!' scripts may nest: exec_binprm (fs/exec.c) gives up with ELOOP on
#: the sixth binfmt rewrite. Measured on the test engine: a chain of 5 scripts ending
#: in an ELF runs, a chain of 6 fails with "too many levels of symbolic links".
MAX_INTERPRETER_DEPTH = 5
#: How much of a script the kernel reads for the "#!" line (BINPRM_BUF_SIZE, Linux 5.1+).
SHEBANG_LIMIT = 256
#: How much of /etc/passwd and /etc/group is read to resolve USER.
_ACCOUNTS_LIMIT = 1024 * 1024
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


#: The uid, the gid and the supplementary gids a container process runs with.
RunAs = tuple[int, int, frozenset[int]]


def run_as(fs: FileSystem, summary: ImageSummary) -> RunAs | None:
    """The ids the config's USER runs as, or None when the image cannot say.

    ``USER`` is ``name|uid[:group|gid]``, resolved in the image's /etc/passwd and
    /etc/group the way runc does, with the inventory's parser (one reading of
    those files, whatever garbage they hold). No USER means root. The groups
    that list the user are added only when USER names no group (runc's
    user.GetExecUser; measured: a 0750 root:staff program starts for USER app
    and USER 1000 when staff lists app, and not for USER app:app).
    """
    if not summary.user:
        return (0, 0, frozenset())
    users, _ = parse_passwd(fs.read_text(PASSWD, limit=_ACCOUNTS_LIMIT) or "")
    groups, _ = parse_group(fs.read_text(GROUP, limit=_ACCOUNTS_LIMIT) or "")
    check = check_user(summary, users, groups)
    if check.uid is None or check.gid is None:
        return None
    implicit = not summary.user.partition(":")[2]
    extra = supplementary_gids(check.name, groups) if implicit else frozenset()
    return check.uid, check.gid, extra


def may_execute(info: FileInfo, user: RunAs | None) -> bool:
    """Whether ``user`` may execute the file, by its mode bits (generic_permission).

    Root needs any execute bit; others the owner, group or other bit that applies.
    An unknown user is given the benefit of the doubt when any bit is set.
    """
    if user is None or user[0] == 0:
        return info.is_executable
    uid, gid, extra = user
    if uid == info.uid:
        return bool(info.mode & 0o100)
    if gid == info.gid or info.gid in extra:
        return bool(info.mode & 0o010)
    return bool(info.mode & 0o001)
