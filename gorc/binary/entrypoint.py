"""Which programs an image's config starts: Entrypoint, Cmd and Healthcheck.

The runtime builds argv as Entrypoint + Cmd (or Cmd alone), looks a bare
argv[0] up through the config's PATH and a relative one from WorkingDir. The
shell form is stored by Docker as ``["/bin/sh", "-c", "the string"]``: the
program the kernel starts is then the shell, and the string's first word is a
further program worth checking.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from enum import StrEnum

from gorc.image.fs import FileSystem, FileType, normalize
from gorc.model import ImageSummary

#: PATH when the config sets none (Docker's oci defaults, runc's default too).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"})
# Words that start a shell command but are no program the image must hold.
_SHELL_WORDS = frozenset({
    "if", "then", "for", "while", "until", "case", "do", "{", "(", "!", "[", "[[", "set",
    "cd", "export", "echo", "printf", "test", "true", "false", ":", ".", "source", "trap",
    "ulimit", "umask", "eval", "read", "wait", "exit", "shift", "unset", "local",
})
#: Programs that start their arguments as the real command: init shims and user switchers,
#: with how many positional arguments they take before the command (gosu USER CMD...).
_WRAPPERS = {"tini": 0, "tini-static": 0, "dumb-init": 0, "catatonit": 0, "docker-init": 0,
             "env": 0, "gosu": 1, "su-exec": 1, "setpriv": 0, "chpst": 0}
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./+@%-]+")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


class Role(StrEnum):
    """Why the image starts a program."""

    COMMAND = "entrypoint"
    WRAPPED = "wrapped command"
    SHELL = "shell"
    SHELL_COMMAND = "shell command"
    HEALTHCHECK = "healthcheck"
    HEALTHCHECK_SHELL = "healthcheck shell"


@dataclass(frozen=True, slots=True)
class ProgramRef:
    """One program the image config makes the runtime start.

    ``name`` is as written in the config; ``path`` is where it is found in the
    image (None when it is not); ``source`` names the config field.
    """

    name: str
    role: Role
    source: str
    path: str | None = None


@dataclass(frozen=True, slots=True)
class StartPlan:
    """What ``docker run IMAGE`` would start, and the healthcheck's programs."""

    argv: tuple[str, ...]
    programs: tuple[ProgramRef, ...]
    shell_string: str | None = None

    @property
    def has_command(self) -> bool:
        """False when the config has neither Entrypoint nor Cmd."""
        return bool(self.argv)


def image_path(summary: ImageSummary) -> str:
    """The PATH processes in the image get: the config's, or Docker's default."""
    value = summary.env_value("PATH")
    return DEFAULT_PATH if value is None else value


def locate(fs: FileSystem, name: str, summary: ImageSummary) -> str | None:
    """Where the runtime finds program ``name`` in the image, or None.

    A bare name goes through PATH and needs an executable file, as runc's
    lookup does; a name with a slash is taken as a path (relative ones from
    WorkingDir) and may be any regular file, so that a missing exec bit can be
    reported as such.
    """
    if "/" not in name:
        return fs.which(name, image_path(summary))
    return locate_file(fs, name, summary.working_dir)


def locate_file(fs: FileSystem, path: str, working_dir: str | None) -> str | None:
    """The regular file ``path`` names (a relative one from ``working_dir``), or None."""
    if path.endswith(("/", "/.")):
        # path resolution wants a directory there (path_resolution(7)): exec
        # "/app/" fails with ENOTDIR even when /app is a program
        return None
    if not path.startswith("/"):
        path = posixpath.join(working_dir or "/", path)
    info = fs.stat(path)
    return normalize(path) if info is not None and info.type is FileType.FILE else None


def shell_command_word(script: str) -> str | None:
    """The program a shell string starts first, when it is a plain command.

    Skips leading ``VAR=value`` assignments and ``exec``; None for builtins,
    keywords, variables and anything the shell would have to expand.
    """
    try:
        words = shlex.split(script, comments=True)
    except ValueError:
        return None
    while words and (_ASSIGNMENT.match(words[0]) or words[0] == "exec"):
        words = words[1:]
    if not words or words[0] in _SHELL_WORDS or not _PLAIN_WORD.fullmatch(words[0]):
        return None
    return words[0]


def _is_shell_form(argv: tuple[str, ...]) -> bool:
    return len(argv) >= 3 and posixpath.basename(argv[0]) in _SHELLS and argv[1] == "-c"


def wrapped_command(argv: tuple[str, ...]) -> tuple[str, ...] | None:
    """What an init shim or user switcher in argv[0] starts (``tini -- /app`` -> /app ...).

    Options before the command and env's ``NAME=value`` words are skipped; None
    when argv[0] is no known wrapper or names no command.
    """
    positional = _WRAPPERS.get(posixpath.basename(argv[0])) if argv else None
    if positional is None:
        return None
    rest = list(argv[1:])
    while rest and (rest[0].startswith("-") or _ASSIGNMENT.match(rest[0])):
        if rest.pop(0) == "--":
            break
    rest = rest[positional:]
    return tuple(rest) or None


def _refs_for(fs: FileSystem, summary: ImageSummary, argv: tuple[str, ...], source: str,
              shell_role: Role, command_role: Role, depth: int = 0) -> list[ProgramRef]:
    if _is_shell_form(argv):
        refs = [ProgramRef(argv[0], shell_role, source, locate(fs, argv[0], summary))]
        word = shell_command_word(argv[2])
        if word is not None and word != argv[0]:
            refs.append(ProgramRef(word, Role.SHELL_COMMAND, source, locate(fs, word, summary)))
        return refs
    refs = [ProgramRef(argv[0], command_role, source, locate(fs, argv[0], summary))]
    inner = wrapped_command(argv)
    if inner is not None and depth < 4:
        role = Role.WRAPPED if command_role is Role.COMMAND else command_role
        refs.extend(_refs_for(fs, summary, inner, source, shell_role, role, depth + 1))
    return refs


def plan_start(fs: FileSystem, summary: ImageSummary) -> StartPlan:
    """The argv the runtime starts and every program the config names, located."""
    entrypoint, cmd = summary.entrypoint or (), summary.cmd or ()
    argv = entrypoint + cmd if entrypoint else cmd
    source = "Entrypoint" if entrypoint else "Cmd"
    refs = _refs_for(fs, summary, argv, source, Role.SHELL, Role.COMMAND) if argv else []
    refs.extend(_healthcheck_refs(fs, summary))
    shell_string = argv[2] if _is_shell_form(argv) else None
    return StartPlan(argv, tuple(refs), shell_string)


def _healthcheck_refs(fs: FileSystem, summary: ImageSummary) -> list[ProgramRef]:
    test = summary.healthcheck or ()
    if not test or test[0] == "NONE":
        return []
    if test[0] == "CMD-SHELL" and len(test) > 1:
        # The daemon runs CMD-SHELL through the container's shell: /bin/sh -c on Linux.
        argv: tuple[str, ...] = ("/bin/sh", "-c", " ".join(test[1:]))
        return _refs_for(fs, summary, argv, "Healthcheck", Role.HEALTHCHECK_SHELL,
                         Role.HEALTHCHECK)
    if test[0] == "CMD" and len(test) > 1:
        return [ProgramRef(test[1], Role.HEALTHCHECK, "Healthcheck",
                           locate(fs, test[1], summary))]
    return []
