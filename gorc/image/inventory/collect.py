"""Build the inventory of an image from its filesystem and its config."""

from __future__ import annotations

import logging

from gorc.image.fs import FileSystem
from gorc.image.inventory.busybox import collect_busybox
from gorc.image.inventory.certs import collect_ca
from gorc.image.inventory.libc import collect_libcs, collect_loaders
from gorc.image.inventory.model import GroupEntry, Inventory, SkippedLine, UserEntry
from gorc.image.inventory.network import collect_nsswitch
from gorc.image.inventory.programs import collect_programs, image_path, path_dirs
from gorc.image.inventory.record import Recorder
from gorc.image.inventory.scan import read_config
from gorc.image.inventory.shell import collect_shells, inspect_shell
from gorc.image.inventory.tmp import collect_tmp
from gorc.image.inventory.users import GROUP, PASSWD, check_user, parse_group, parse_passwd
from gorc.image.inventory.zoneinfo import collect_zoneinfo
from gorc.model import ImageSummary

log = logging.getLogger(__name__)


def collect_inventory(fs: FileSystem, summary: ImageSummary) -> Inventory:
    """Everything the image provides a Go program at run time.

    Reads are bounded; a file that cannot be read becomes an Unknown in the
    result rather than an error, so one damaged file never hides the rest.
    """
    rec = Recorder(summary.reference, fs)
    path_env = image_path(summary, rec)
    dirs = path_dirs(path_env, rec)

    shell = inspect_shell(fs, "/bin/sh", rec)
    programs = collect_programs(fs, dirs)
    loaders = collect_loaders(fs)
    libc, libcs = collect_libcs(fs, loaders, summary.architecture, rec)
    ca_files, ca_dirs = collect_ca(fs, summary, rec)
    users, groups, skipped = _user_database(fs, rec)
    config_user = check_user(summary, users, groups)

    return Inventory(
        shell=shell,
        shells=collect_shells(fs, dirs, rec),
        busybox=collect_busybox(fs, path_env, shell, programs, rec),
        programs=programs,
        path_dirs=dirs,
        libc=libc,
        libcs=libcs,
        loaders=loaders,
        ca_files=ca_files,
        ca_dirs=ca_dirs,
        zoneinfo=collect_zoneinfo(fs, summary, rec),
        users=users,
        groups=groups,
        skipped_lines=skipped,
        config_user=config_user,
        tmp=collect_tmp(fs, summary, config_user, groups),
        nsswitch=collect_nsswitch(fs, rec),
        notes=tuple(rec.notes),
        unknowns=tuple(rec.unknowns),
    )


def _user_database(
    fs: FileSystem, rec: Recorder
) -> tuple[tuple[UserEntry, ...], tuple[GroupEntry, ...], tuple[SkippedLine, ...]]:
    users, skipped_users = parse_passwd(read_config(fs, PASSWD, rec) or "")
    groups, skipped_groups = parse_group(read_config(fs, GROUP, rec) or "")
    return users, groups, skipped_users + skipped_groups
