"""The facts of an image inventory: what an image provides a program at run time.

Every fact keeps the image paths it was read from, so that a finding built on it
can point at its evidence. All records are frozen; collections are tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gorc.model import Libc, Provides, ProvidesSource, Unknown


class ShellKind(StrEnum):
    """What ``/bin/sh`` (or another shell path) really is."""

    BASH = "bash"
    DASH = "dash"
    BUSYBOX = "busybox"
    ASH = "ash"
    ZSH = "zsh"
    MKSH = "mksh"
    OTHER = "other"
    MISSING = "missing"
    DANGLING = "dangling"


@dataclass(frozen=True, slots=True)
class ShellInfo:
    """A shell path, the symlink chain behind it and what it turned out to be.

    ``chain`` starts with ``path`` and lists every symlink target on the way, as
    the lookup saw it (the directory of each link already resolved). ``evidence``
    says how the kind was decided (a content marker or a file name).
    """

    path: str
    kind: ShellKind
    real_path: str | None = None
    chain: tuple[str, ...] = ()
    executable: bool = False
    evidence: str = ""

    @property
    def exists(self) -> bool:
        """True when the path is there, even as a dangling link."""
        return self.kind is not ShellKind.MISSING

    @property
    def usable(self) -> bool:
        """True when the path leads to an executable file the kernel can be asked to run."""
        return self.kind not in (ShellKind.MISSING, ShellKind.DANGLING) and self.executable


@dataclass(frozen=True, slots=True)
class BusyboxInfo:
    """The busybox binary of the image and the applets installed as links to it.

    ``applets`` are the names linked (symlink or hard link) in the PATH dirs: only
    those run by name. ``builtin_applets`` are the names compiled in, read from
    the binary's applet table (empty when it could not be found): each runs as
    ``busybox NAME``. ``static`` is None when the binary could not be read as ELF.
    """

    path: str
    real_path: str
    version: str | None = None
    static: bool | None = None
    interpreter: str | None = None
    applets: tuple[str, ...] = ()
    builtin_applets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    """An executable found through PATH, as Go's ``exec.LookPath`` would find it."""

    name: str
    path: str
    real_path: str


@dataclass(frozen=True, slots=True)
class UserEntry:
    """One line of ``/etc/passwd``."""

    name: str
    uid: int
    gid: int
    gecos: str = ""
    home: str = ""
    shell: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """One line of ``/etc/group``."""

    name: str
    gid: int
    members: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A line of a colon file that Go's os/user would ignore, and why."""

    path: str
    line: int
    reason: str


class UserResolution(StrEnum):
    """How the config's USER resolves against the image's user database."""

    DEFAULT_ROOT = "default-root"
    """No USER: the runtime starts the process as uid 0."""
    FOUND = "found"
    """The user is an entry of /etc/passwd."""
    NUMERIC_UNLISTED = "numeric-unlisted"
    """A numeric uid with no passwd entry: the kernel runs it, os/user cannot name it."""
    UNKNOWN_NAME = "unknown-name"
    """A user name with no passwd entry: the runtime refuses to start the container."""
    UNKNOWN_GROUP = "unknown-group"
    """A group name with no /etc/group entry: the runtime refuses to start the container."""


@dataclass(frozen=True, slots=True)
class UserCheck:
    """The config's USER and what it means in this image.

    ``current_works`` tells whether a pure-Go ``os/user.Current`` succeeds: with a
    passwd entry, or else with ``$USER`` in the config env (runc always sets
    ``$HOME``). A cgo build asks libc and needs the passwd entry.
    """

    spec: str | None
    resolution: UserResolution
    uid: int | None = None
    gid: int | None = None
    name: str | None = None
    home: str | None = None
    current_works: bool = False

    @property
    def runtime_starts(self) -> bool:
        """False when the container runtime cannot map USER to ids and refuses to start."""
        return self.resolution not in (UserResolution.UNKNOWN_NAME, UserResolution.UNKNOWN_GROUP)


@dataclass(frozen=True, slots=True)
class TempDirInfo:
    """The directory ``os.TempDir`` returns ($TMPDIR, else /tmp) and who can write it."""

    path: str
    from_env: bool = False
    exists: bool = False
    is_dir: bool = False
    mode: int | None = None
    sticky: bool = False
    world_writable: bool = False
    user_writable: bool = False

    @property
    def usable(self) -> bool:
        """True when the config's user can create files there."""
        return self.is_dir and self.user_writable


@dataclass(frozen=True, slots=True)
class NsswitchInfo:
    """Name-service files: ``/etc/nsswitch.conf`` and the hosts and resolver files.

    ``conf_exists`` False means no nsswitch.conf (glibc and Go then fall back to
    their built-in order). ``/etc/hosts`` and ``/etc/resolv.conf`` are bind-mounted
    into every container by Docker and most runtimes, so their absence in the
    image is not a problem by itself; ``runtime_provided`` records that.
    """

    conf_exists: bool = False
    hosts: tuple[str, ...] | None = None
    etc_hosts: bool = False
    resolv_conf: bool = False
    runtime_provided: tuple[str, ...] = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")


@dataclass(frozen=True, slots=True)
class Inventory:
    """Everything an image provides a Go program at run time, with its evidence.

    ``libc`` is the primary C library (glibc when both are present and the glibc
    loader is real); ``libcs`` lists every one found. ``notes`` are remarks a user
    may need (a shadowing empty CA bundle, ``$ZONEINFO`` semantics, PATH default).
    """

    shell: ShellInfo
    shells: tuple[str, ...] = ()
    busybox: BusyboxInfo | None = None
    programs: tuple[ProgramInfo, ...] = ()
    path_dirs: tuple[str, ...] = ()
    libc: Libc = field(default_factory=Libc)
    libcs: tuple[Libc, ...] = ()
    loaders: tuple[str, ...] = ()
    ca_files: tuple[str, ...] = ()
    ca_dirs: tuple[str, ...] = ()
    zoneinfo: tuple[str, ...] = ()
    users: tuple[UserEntry, ...] = ()
    groups: tuple[GroupEntry, ...] = ()
    skipped_lines: tuple[SkippedLine, ...] = ()
    config_user: UserCheck = field(
        default_factory=lambda: UserCheck(None, UserResolution.DEFAULT_ROOT, 0, 0)
    )
    tmp: TempDirInfo = field(default_factory=lambda: TempDirInfo("/tmp"))
    nsswitch: NsswitchInfo | None = None
    notes: tuple[str, ...] = ()
    unknowns: tuple[Unknown, ...] = ()

    def program(self, name: str) -> ProgramInfo | None:
        """The PATH hit for ``name``, or None."""
        return next((p for p in self.programs if p.name == name), None)

    def provides(self) -> Provides:
        """The capabilities in the shape reconcile consumes (source IMAGE)."""
        return Provides(
            source=ProvidesSource.IMAGE,
            shell=self.shell.path if self.shell.usable else None,
            libc=self.libc,
            programs=tuple(p.name for p in self.programs),
            ca_certificates=self.ca_files + self.ca_dirs,
            zoneinfo=self.zoneinfo,
            users=tuple(u.name for u in self.users),
            temp_dir=self.tmp.usable,
        )
