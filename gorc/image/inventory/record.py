"""What the collectors could not read, and remarks worth telling the user."""

from __future__ import annotations

import logging

from gorc.image.fs import FileSystem
from gorc.model import ImageLocation, Unknown

log = logging.getLogger(__name__)


class Recorder:
    """Collects unknowns (with their image path and layer) and notes for one inventory."""

    def __init__(self, image: str, fs: FileSystem | None = None) -> None:
        self.image = image
        self.fs = fs
        self.unknowns: list[Unknown] = []
        self.notes: list[str] = []

    def unknown(self, path: str, reason: str) -> None:
        """Record that ``path`` could not be analysed, and why."""
        log.debug("inventory: %s: %s", path, reason)
        info = self.fs.stat(path) if self.fs is not None else None
        layer = info.layer if info is not None else None
        self.unknowns.append(Unknown(path, reason, ImageLocation(self.image, path, layer)))

    def note(self, text: str) -> None:
        """Record a remark (kept once)."""
        if text not in self.notes:
            self.notes.append(text)
