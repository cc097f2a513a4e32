"""What the collectors could not read, and remarks worth telling the user."""

from __future__ import annotations

import logging

from gorc.model import ImageLocation, Unknown

log = logging.getLogger(__name__)


class Recorder:
    """Collects unknowns (with their image path) and notes while an inventory is built."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.unknowns: list[Unknown] = []
        self.notes: list[str] = []

    def unknown(self, path: str, reason: str) -> None:
        """Record that ``path`` could not be analysed, and why."""
        log.debug("inventory: %s: %s", path, reason)
        self.unknowns.append(Unknown(path, reason, ImageLocation(self.image, path)))

    def note(self, text: str) -> None:
        """Record a remark (kept once)."""
        if text not in self.notes:
            self.notes.append(text)
