"""The inventory of an image: what it provides a Go program at run time.

:func:`collect_inventory` reads an image through any
:class:`~gorc.image.fs.FileSystem` and its :class:`~gorc.model.ImageSummary`;
:meth:`Inventory.provides` turns the result into the
:class:`~gorc.model.Provides` that reconcile consumes.
"""

from gorc.image.inventory.collect import collect_inventory
from gorc.image.inventory.model import (
    BusyboxInfo,
    GroupEntry,
    Inventory,
    NsswitchInfo,
    ProgramInfo,
    ShellInfo,
    ShellKind,
    SkippedLine,
    TempDirInfo,
    UserCheck,
    UserEntry,
    UserResolution,
)
from gorc.image.inventory.programs import DEFAULT_PATH

__all__ = [
    "DEFAULT_PATH",
    "BusyboxInfo",
    "GroupEntry",
    "Inventory",
    "NsswitchInfo",
    "ProgramInfo",
    "ShellInfo",
    "ShellKind",
    "SkippedLine",
    "TempDirInfo",
    "UserCheck",
    "UserEntry",
    "UserResolution",
    "collect_inventory",
]
