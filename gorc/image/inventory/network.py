"""Name-service files: ``/etc/nsswitch.conf`` and the hosts and resolver files.

Docker bind-mounts ``/etc/hosts``, ``/etc/hostname`` and ``/etc/resolv.conf``
into every container, so those files missing from an image is normal; what the
image alone decides is nsswitch.conf's ``hosts:`` order (with none, glibc and
Go's resolver fall back to DNS then files).
"""

from __future__ import annotations

import logging
import re

from gorc.image.fs import FileSystem
from gorc.image.inventory.model import NsswitchInfo
from gorc.image.inventory.record import Recorder
from gorc.image.inventory.scan import read_config

log = logging.getLogger(__name__)

NSSWITCH = "/etc/nsswitch.conf"
_ACTION = re.compile(r"\[[^\]]*\]")


def hosts_sources(text: str) -> tuple[str, ...] | None:
    """The sources of the ``hosts:`` database (``files``, ``dns``...), actions dropped."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        database, colon, rest = line.partition(":")
        if colon and database.strip() == "hosts":
            return tuple(_ACTION.sub(" ", rest).split())
    return None


def collect_nsswitch(fs: FileSystem, rec: Recorder) -> NsswitchInfo:
    """What the image has of nsswitch.conf, /etc/hosts and /etc/resolv.conf."""
    text = read_config(fs, NSSWITCH, rec)
    return NsswitchInfo(
        conf_exists=fs.is_file(NSSWITCH),
        hosts=hosts_sources(text) if text is not None else None,
        etc_hosts=fs.is_file("/etc/hosts"),
        resolv_conf=fs.is_file("/etc/resolv.conf"),
    )
