"""Every program on the image's PATH, as Go's ``exec.LookPath`` would find it."""

from __future__ import annotations

import logging
import posixpath

from gorc.image.fs import FileSystem, FileType, normalize
from gorc.image.inventory.model import ProgramInfo
from gorc.image.inventory.record import Recorder
from gorc.model import ImageSummary

log = logging.getLogger(__name__)

#: The PATH a container gets when its image config sets none: moby's default for
#: Linux containers (oci.DefaultPathEnv, "/usr/local/sbin:/usr/local/bin:...").
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def image_path(summary: ImageSummary, rec: Recorder) -> str:
    """The PATH the image's process sees: the config's, else the runtime default."""
    value = summary.env_value("PATH")
    if value is None:
        rec.note(f"the image config sets no PATH: the runtime default {DEFAULT_PATH} applies")
        return DEFAULT_PATH
    return value


def path_dirs(path_env: str, rec: Recorder) -> tuple[str, ...]:
    """The absolute PATH directories, in order, without repeats.

    Relative entries (empty, ``.``) are dropped: since Go 1.19, ``exec.LookPath``
    refuses a program found through them (``exec.ErrDot``).
    """
    dirs: list[str] = []
    for entry in path_env.split(":"):
        if not entry.startswith("/"):
            rec.note(f"PATH entry {entry!r} is relative: Go's exec.LookPath ignores its hits")
            continue
        if normalize(entry) not in dirs:
            dirs.append(normalize(entry))
    return tuple(dirs)


def collect_programs(fs: FileSystem, dirs: tuple[str, ...]) -> tuple[ProgramInfo, ...]:
    """Executables in the PATH dirs; for each name the first directory wins.

    Executable means what LookPath checks: after symlinks, a regular file with
    an execute bit (a directory named like a program does not count).
    """
    found: dict[str, ProgramInfo] = {}
    for directory in dirs:
        for name in fs.listdir(directory):
            if name in found:
                continue
            path = posixpath.join(directory, name)
            real = _real_executable(fs, path)
            if real is not None:
                found[name] = ProgramInfo(name, path, real)
    return tuple(sorted(found.values(), key=lambda p: p.name))


def _real_executable(fs: FileSystem, path: str) -> str | None:
    info = fs.stat(path)
    if info is None or info.type is not FileType.FILE or not info.is_executable:
        return None
    return info.path
