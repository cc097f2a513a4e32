"""Users and groups of the image, and what the config's USER means there.

``/etc/passwd`` and ``/etc/group`` are parsed as Go's pure os/user does
(os/user/lookup_unix.go): surrounding space trimmed, blank lines and ``#``
comments ignored, a line kept only with enough fields, a name that does not
start with ``+`` or ``-`` (NIS compat entries) and numeric ids. Every other
line is recorded as skipped, with the reason.

USER is resolved as the runtime does (runc's user.GetExecUser): a name must be
in /etc/passwd or the container does not start; a numeric uid needs no entry
(the kernel only sees numbers), but then os/user cannot name the user.
"""

from __future__ import annotations

import logging
import re

from gorc.image.inventory.model import (
    GroupEntry,
    SkippedLine,
    UserCheck,
    UserEntry,
    UserResolution,
)
from gorc.model import ImageSummary

log = logging.getLogger(__name__)

PASSWD = "/etc/passwd"
GROUP = "/etc/group"
_NUMBER = re.compile(r"^[+-]?\d+$")


def _lines(text: str) -> list[tuple[int, str]]:
    # Go reads lines up to "\n" only (bufio.Reader.ReadLine); "\r" is trimmed as space.
    stripped = ((n, line.strip()) for n, line in enumerate(text.split("\n"), 1))
    return [(n, line) for n, line in stripped if line and not line.startswith("#")]


def _why_bad(parts: list[str], fields: int, ids: tuple[int, ...]) -> str | None:
    if len(parts) < fields:
        return f"{len(parts)} fields, {fields} needed"
    if not parts[0]:
        return "empty name"
    if parts[0][0] in "+-":
        return "NIS compat entry (+/-), ignored by Go"
    bad = [parts[i] for i in ids if not _NUMBER.match(parts[i])]
    return f"non-numeric id {bad[0]!r}" if bad else None


def parse_passwd(text: str) -> tuple[tuple[UserEntry, ...], tuple[SkippedLine, ...]]:
    """Entries of a passwd file and the lines Go would skip."""
    users: list[UserEntry] = []
    skipped: list[SkippedLine] = []
    for number, line in _lines(text):
        parts = line.split(":", 6)
        why = _why_bad(parts, 6, (2, 3))
        if why:
            skipped.append(SkippedLine(PASSWD, number, why))
            continue
        shell = parts[6] if len(parts) > 6 else ""
        uid, gid = int(parts[2]), int(parts[3])
        users.append(UserEntry(parts[0], uid, gid, parts[4], parts[5], shell, number))
    return tuple(users), tuple(skipped)


def parse_group(text: str) -> tuple[tuple[GroupEntry, ...], tuple[SkippedLine, ...]]:
    """Entries of a group file and the lines Go would skip."""
    groups: list[GroupEntry] = []
    skipped: list[SkippedLine] = []
    for number, line in _lines(text):
        parts = line.split(":", 3)
        why = _why_bad(parts, 4, (2,))
        if why:
            skipped.append(SkippedLine(GROUP, number, why))
            continue
        members = tuple(m for m in parts[3].split(",") if m)
        groups.append(GroupEntry(parts[0], int(parts[2]), members, number))
    return tuple(groups), tuple(skipped)


def check_user(
    summary: ImageSummary, users: tuple[UserEntry, ...], groups: tuple[GroupEntry, ...]
) -> UserCheck:
    """Resolve the config's USER (``name``, ``uid``, with ``:group`` or ``:gid``)."""
    spec = summary.user or None
    user_part, _, group_part = (spec or "0").partition(":")
    has_env_user = bool(summary.env_value("USER"))

    entry = _find_user(user_part, users)
    if entry is None and not _NUMBER.match(user_part):
        return UserCheck(spec, UserResolution.UNKNOWN_NAME, name=user_part)
    uid = entry.uid if entry else int(user_part)
    gid = entry.gid if entry else 0
    if group_part:
        group = _find_group(group_part, groups)
        if group is None and not _NUMBER.match(group_part):
            return UserCheck(spec, UserResolution.UNKNOWN_GROUP, uid, None, user_part)
        gid = group.gid if group else int(group_part)

    if entry is not None:
        resolution = UserResolution.FOUND if spec else UserResolution.DEFAULT_ROOT
        return UserCheck(spec, resolution, uid, gid, entry.name, entry.home or "/", True)
    # runc sets HOME to "/" without an entry; a pure-Go user.Current then needs $USER.
    resolution = UserResolution.NUMERIC_UNLISTED if spec else UserResolution.DEFAULT_ROOT
    return UserCheck(spec, resolution, uid, gid, None, "/", has_env_user)


def _find_user(spec: str, users: tuple[UserEntry, ...]) -> UserEntry | None:
    # runc matches the name first, then the uid (user.GetExecUser).
    by_name = next((u for u in users if u.name == spec), None)
    if by_name or not _NUMBER.match(spec):
        return by_name
    return next((u for u in users if u.uid == int(spec)), None)


def _find_group(spec: str, groups: tuple[GroupEntry, ...]) -> GroupEntry | None:
    by_name = next((g for g in groups if g.name == spec), None)
    if by_name or not _NUMBER.match(spec):
        return by_name
    return next((g for g in groups if g.gid == int(spec)), None)


def supplementary_gids(name: str | None, groups: tuple[GroupEntry, ...]) -> frozenset[int]:
    """The gids of the groups that list ``name`` as a member."""
    if not name:
        return frozenset()
    return frozenset(g.gid for g in groups if name in g.members)
