"""``/bin/sh`` and the other shells of an image, and what each really is.

A shell path is followed link by link inside the image (never on the host), so
that a dangling link or a loop is reported with the chain that led there. What
the final file is gets decided in this order:

1. content markers, read lazily and boundedly from the file: ``BusyBox v``
   (busybox, including a hard link of it, as in the official busybox image),
   ``GNU bash, version`` (bash), ``ZSH_VERSION`` (zsh), ``MIRBSD KSH`` (mksh) and
   ``Syntax error: %s`` (dash: it prints no banner and has no version string, but
   that capitalised parser message is its own; bash and busybox ash write it in
   lower case);
2. the real file name (``dash``, ``bash``, ``busybox``, ``ash``...);
3. otherwise :attr:`ShellKind.OTHER`.
"""

from __future__ import annotations

import logging
import posixpath

from gorc.errors import ImageSourceError
from gorc.image.fs import MAX_SYMLINKS, FileSystem, FileType, SymlinkLoopError, normalize
from gorc.image.inventory.model import ShellInfo, ShellKind
from gorc.image.inventory.record import Recorder
from gorc.image.inventory.scan import find_markers, read_config

log = logging.getLogger(__name__)

#: Content markers in priority order (busybox first: it embeds other shells' words).
MARKERS: tuple[tuple[bytes, ShellKind], ...] = (
    (b"BusyBox v", ShellKind.BUSYBOX),
    (b"GNU bash, version", ShellKind.BASH),
    (b"ZSH_VERSION", ShellKind.ZSH),
    (b"MIRBSD KSH", ShellKind.MKSH),
    (b"Syntax error: %s", ShellKind.DASH),
)

#: Real file names that tell the shell when no marker does.
NAMES: dict[str, ShellKind] = {
    "bash": ShellKind.BASH, "rbash": ShellKind.BASH,
    "dash": ShellKind.DASH,
    "busybox": ShellKind.BUSYBOX,
    "ash": ShellKind.ASH,
    "zsh": ShellKind.ZSH, "zsh5": ShellKind.ZSH,
    "mksh": ShellKind.MKSH, "lksh": ShellKind.MKSH, "mksh-static": ShellKind.MKSH,
}

#: Where shells are looked for besides PATH and /etc/shells (distroless :debug
#: keeps its busybox in /busybox).
SHELL_DIRS = ("/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin", "/busybox")
SHELL_NAMES = (
    "sh", "bash", "dash", "ash", "hush", "zsh", "mksh", "ksh", "lksh", "fish", "tcsh", "csh",
)


def symlink_chain(fs: FileSystem, path: str) -> tuple[tuple[str, ...], bool]:
    """The paths a lookup of ``path`` goes through, and whether it loops.

    Each step resolves the directory part first (so ``/bin -> usr/bin`` is taken
    into account) and records the next link target as an absolute path.
    """
    chain = [normalize(path)]
    for _ in range(MAX_SYMLINKS + 1):
        current = chain[-1]
        parent = fs.resolve(posixpath.dirname(current))
        if parent is None:
            return tuple(chain), False
        info = fs.lstat(posixpath.join(parent, posixpath.basename(current)))
        if info is None or info.type is not FileType.SYMLINK:
            return tuple(chain), False
        target = info.linkname
        following = normalize(target if target.startswith("/") else f"{parent}/{target}")
        if following in chain:
            return (*chain, following), True
        chain.append(following)
    return tuple(chain), True


def identify(fs: FileSystem, real_path: str, rec: Recorder) -> tuple[ShellKind, str]:
    """The kind of shell at ``real_path`` (a regular file) and the evidence for it."""
    try:
        found = find_markers(fs, real_path, (marker for marker, _ in MARKERS))
    except ImageSourceError as err:
        rec.unknown(real_path, f"cannot read shell binary: {err}")
        found = set()
    for marker, kind in MARKERS:
        if marker in found:
            return kind, f"content marker {marker.decode()!r} in {real_path}"
    name = posixpath.basename(real_path)
    if name in NAMES:
        return NAMES[name], f"file name {name!r}"
    return ShellKind.OTHER, f"no known marker or name in {real_path}"


def inspect_shell(fs: FileSystem, path: str, rec: Recorder) -> ShellInfo:
    """Follow ``path`` inside the image and tell what shell it is."""
    try:
        chain, looped = symlink_chain(fs, path)
        real = None if looped else fs.resolve(path)
    except SymlinkLoopError:
        chain, looped, real = (normalize(path),), True, None
    if real is None:
        linked = looped or len(chain) > 1
        kind = ShellKind.DANGLING if linked else ShellKind.MISSING
        why = "symlink loop" if looped else "link target missing" if linked else "no such file"
        return ShellInfo(path, kind, None, chain, False, f"{why}: {' -> '.join(chain)}")

    info = fs.lstat(real)
    if info is None or info.type is not FileType.FILE:
        kind_name = info.type.value if info else "nothing"
        return ShellInfo(path, ShellKind.OTHER, real, chain, False, f"{real} is a {kind_name}")
    kind, evidence = identify(fs, real, rec)
    return ShellInfo(path, kind, real, chain, info.is_executable, evidence)


def collect_shells(fs: FileSystem, path_dirs: tuple[str, ...], rec: Recorder) -> tuple[str, ...]:
    """Executable shells present besides ``/bin/sh``, one path per real file."""
    candidates = [
        posixpath.join(d, n)
        for d in (*SHELL_DIRS, *(d for d in path_dirs if d not in SHELL_DIRS))
        for n in SHELL_NAMES
    ]
    candidates += _etc_shells(fs, rec)

    found: list[str] = []
    seen: set[str] = set()
    for candidate in candidates:
        info = fs.stat(candidate)
        if candidate == "/bin/sh" or info is None:
            continue
        if info.type is FileType.FILE and info.is_executable and info.path not in seen:
            seen.add(info.path)
            found.append(normalize(candidate))
    return tuple(found)


def _etc_shells(fs: FileSystem, rec: Recorder) -> list[str]:
    text = read_config(fs, "/etc/shells", rec) or ""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line.startswith("/")]
