"""/etc/passwd, /etc/group, the config's USER and the temp dir."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gorc.image.fs import MemoryFileSystem
from gorc.image.inventory import UserResolution
from gorc.image.inventory.network import hosts_sources
from gorc.image.inventory.users import parse_group, parse_passwd
from tests.image.inventory_kit import add_dir, inventory

PASSWD = b"""root:x:0:0:root:/root:/bin/bash
# a comment

nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
nonroot:x:65532:65532:Non Root,,,:/home/nonroot:/sbin/nologin
broken:x:12
+nis::::::
bad:x:abc:0::/:/bin/sh
  app:x:1000:1000::/app:
"""
GROUP = b"root:x:0:\nnonroot:x:65532:\nshared:x:2000:app,nonroot\noops\n"


def _fs(tmp_mode: int | None = 0o1777, tmp_uid: int = 0) -> MemoryFileSystem:
    fs = MemoryFileSystem()
    fs.add("/etc/passwd", PASSWD)
    fs.add("/etc/group", GROUP)
    if tmp_mode is not None:
        add_dir(fs, "/tmp", tmp_mode, uid=tmp_uid, gid=tmp_uid)
    return fs


def test_passwd_parsing_skips_malformed_lines() -> None:
    users, skipped = parse_passwd(PASSWD.decode())
    assert [u.name for u in users] == ["root", "nobody", "nonroot", "app"]
    assert users[2].uid == 65532 and users[2].home == "/home/nonroot"
    assert users[3].line == 9 and users[3].shell == ""
    assert [(s.line, s.reason.split()[0]) for s in skipped] == [
        (6, "3"), (7, "NIS"), (8, "non-numeric"),
    ]


def test_group_parsing() -> None:
    groups, skipped = parse_group(GROUP.decode())
    assert [(g.name, g.gid) for g in groups] == [("root", 0), ("nonroot", 65532), ("shared", 2000)]
    assert groups[2].members == ("app", "nonroot")
    assert [s.line for s in skipped] == [4]


def test_inventory_users_and_provides() -> None:
    inv = inventory(_fs())
    assert [u.name for u in inv.users] == ["root", "nobody", "nonroot", "app"]
    assert len(inv.skipped_lines) == 4
    assert inv.provides().users == ("root", "nobody", "nonroot", "app")


@pytest.mark.parametrize(
    ("user", "resolution", "uid", "gid", "name", "works"),
    [
        (None, UserResolution.DEFAULT_ROOT, 0, 0, "root", True),
        ("nonroot", UserResolution.FOUND, 65532, 65532, "nonroot", True),
        ("65532", UserResolution.FOUND, 65532, 65532, "nonroot", True),
        ("65532:2000", UserResolution.FOUND, 65532, 2000, "nonroot", True),
        ("nonroot:shared", UserResolution.FOUND, 65532, 2000, "nonroot", True),
        ("4242", UserResolution.NUMERIC_UNLISTED, 4242, 0, None, False),
        ("4242:4242", UserResolution.NUMERIC_UNLISTED, 4242, 4242, None, False),
        ("ghost", UserResolution.UNKNOWN_NAME, None, None, "ghost", False),
        ("nonroot:ghosts", UserResolution.UNKNOWN_GROUP, 65532, None, "nonroot", False),
    ],
)
def test_config_user(user: str | None, resolution: UserResolution, uid: int | None,
                     gid: int | None, name: str | None, works: bool) -> None:
    check = inventory(_fs(), user=user).config_user
    assert (check.resolution, check.uid, check.gid, check.name) == (resolution, uid, gid, name)
    assert check.current_works is works
    assert check.runtime_starts is (resolution not in (
        UserResolution.UNKNOWN_NAME, UserResolution.UNKNOWN_GROUP))


def test_numeric_user_with_user_env_works_for_pure_go() -> None:
    check = inventory(_fs(), user="4242", env={"USER": "app"}).config_user
    assert check.resolution is UserResolution.NUMERIC_UNLISTED
    assert check.current_works and check.home == "/"


def test_no_passwd_at_all() -> None:
    fs = MemoryFileSystem()
    assert inventory(fs).config_user.resolution is UserResolution.DEFAULT_ROOT
    assert not inventory(fs).config_user.current_works
    assert inventory(fs, user="1000").config_user.resolution is UserResolution.NUMERIC_UNLISTED
    assert inventory(fs, user="app").config_user.resolution is UserResolution.UNKNOWN_NAME
    assert inventory(fs).users == ()


def test_tmp_sticky_world_writable() -> None:
    tmp = inventory(_fs(), user="nonroot").tmp
    assert (tmp.path, tmp.exists, tmp.is_dir, tmp.mode) == ("/tmp", True, True, 0o1777)
    assert tmp.sticky and tmp.world_writable and tmp.user_writable
    assert inventory(_fs()).provides().temp_dir


def test_tmp_without_sticky_bit() -> None:
    tmp = inventory(_fs(0o777), user="nonroot").tmp
    assert not tmp.sticky and tmp.world_writable and tmp.user_writable


def test_tmp_root_only_is_not_writable_by_nonroot() -> None:
    assert not inventory(_fs(0o755), user="nonroot").tmp.user_writable
    assert inventory(_fs(0o755)).tmp.user_writable  # root writes anywhere


def test_tmp_owned_by_the_user() -> None:
    tmp = inventory(_fs(0o700, tmp_uid=65532), user="nonroot").tmp
    assert tmp.user_writable and not tmp.world_writable


def test_missing_tmp_and_tmpdir_env() -> None:
    fs = _fs(None)
    assert not inventory(fs).tmp.exists
    assert not inventory(fs).provides().temp_dir
    fs.add_dir("/scratch", 0o1777)
    tmp = inventory(fs, env={"TMPDIR": "/scratch"}).tmp
    assert tmp.from_env and tmp.path == "/scratch" and tmp.usable


def test_tmp_that_is_a_file() -> None:
    fs = _fs(None)
    fs.add("/tmp", b"")
    tmp = inventory(fs).tmp
    assert tmp.exists and not tmp.is_dir and not tmp.usable


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:0129+-#, \n\t\r\x00é")), max_size=300))
def test_colon_files_never_raise_and_account_for_every_line(text: str) -> None:
    users, skipped_users = parse_passwd(text)
    groups, skipped_groups = parse_group(text)
    meaningful = [line for line in text.split("\n") if line.strip()
                  and not line.strip().startswith("#")]
    assert len(users) + len(skipped_users) == len(meaningful)
    assert len(groups) + len(skipped_groups) == len(meaningful)
    assert hosts_sources(text) is None or isinstance(hosts_sources(text), tuple)


def test_tmp_group_membership_counts_only_without_a_user_group() -> None:
    # runc adds /etc/group memberships (app is in "shared") only when USER names no group.
    fs = _fs(None)
    add_dir(fs, "/tmp", 0o770, uid=0, gid=2000)
    assert inventory(fs, user="app").tmp.user_writable
    assert inventory(fs, user="1000").tmp.user_writable  # uid 1000 is app in /etc/passwd
    assert not inventory(fs, user="app:1000").tmp.user_writable
    assert inventory(fs, user="app:shared").tmp.user_writable
