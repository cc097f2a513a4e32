"""The directory ``os.TempDir`` returns in the image, and whether USER can write it.

Go's os.TempDir on Unix is ``$TMPDIR``, else ``/tmp``. Write access follows the
permission bits for the config user's uid, primary gid and groups; uid 0 writes
anywhere (CAP_DAC_OVERRIDE is in Docker's default capability set).
"""

from __future__ import annotations

import logging

from gorc.image.fs import FileSystem, FileType
from gorc.image.inventory.model import GroupEntry, TempDirInfo, UserCheck
from gorc.image.inventory.users import supplementary_gids
from gorc.model import ImageSummary

log = logging.getLogger(__name__)

_STICKY = 0o1000


def collect_tmp(
    fs: FileSystem, summary: ImageSummary, user: UserCheck, groups: tuple[GroupEntry, ...]
) -> TempDirInfo:
    """Facts about the temp dir the program would use."""
    env = summary.env_value("TMPDIR")
    path = env or "/tmp"
    info = fs.stat(path)
    if info is None:
        return TempDirInfo(path, bool(env))
    is_dir = info.type is FileType.DIR
    gids = _gids(user, groups)
    return TempDirInfo(
        path=path,
        from_env=bool(env),
        exists=True,
        is_dir=is_dir,
        mode=info.mode,
        sticky=bool(info.mode & _STICKY),
        world_writable=bool(info.mode & 0o002),
        user_writable=is_dir and _writable(info.mode, info.uid, info.gid, user.uid, gids),
    )


def _gids(user: UserCheck, groups: tuple[GroupEntry, ...]) -> frozenset[int]:
    """The process's groups: runc adds /etc/group memberships only when USER names no group."""
    primary = {user.gid} if user.gid is not None else set()
    if user.spec and ":" in user.spec:
        return frozenset(primary)
    return frozenset(supplementary_gids(user.name, groups) | primary)


def _writable(mode: int, owner: int, group: int, uid: int | None, gids: frozenset[int]) -> bool:
    if uid == 0:
        return True
    # Like the kernel, only the first matching class (owner, group, other) counts.
    if uid == owner:
        return mode & 0o300 == 0o300
    if group in gids:
        return mode & 0o030 == 0o030
    return mode & 0o003 == 0o003
