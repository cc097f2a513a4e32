"""Can one program file start in the image? The checks the kernel and loader make.

Order follows execve(2): the file must be executable; then a ``#!`` script
hands over to its interpreter (:mod:`gorc.binary.script`) and an ELF goes
through the kernel's and the loader's checks (:mod:`gorc.binary.elfcheck`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from gorc.binary.elfcheck import ElfCheck
from gorc.binary.judgement import (
    SHEBANG_LIMIT,
    Judgement,
    RunAs,
    may_execute,
    normalize_arch,
    subject,
)
from gorc.binary.script import ScriptCheck
from gorc.errors import GorcError
from gorc.image.fs import FileSystem, SymlinkLoopError
from gorc.model import BinaryFormat, BinaryReport, ImageLocation, ImageSummary, Unknown
from gorc.rules import finding

__all__ = ["Judge", "Judgement", "normalize_arch"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Judge:
    """Judges program files of one image; remembers what it already judged."""

    fs: FileSystem
    summary: ImageSummary
    image_name: str
    image_arch: str | None
    minimal: bool
    user: RunAs | None = (0, 0, frozenset())
    _seen: dict[tuple[str, bool, int], Judgement] = field(default_factory=dict)

    def location(self, path: str) -> ImageLocation:
        """Where ``path`` is in the image, with the layer that wrote it."""
        try:
            real = self.fs.resolve(path)
        except SymlinkLoopError:
            real = None
        info = self.fs.lstat(real) if real else None
        return ImageLocation(self.image_name, path, info.layer if info else None)

    def judge(self, path: str, entrypoint: bool, depth: int = 0) -> Judgement:
        """Judge the regular file at ``path`` (already located in the image)."""
        # a script's verdict depends on how deep in a '#!' chain it sits
        key = (path, entrypoint, depth)
        if key not in self._seen:
            self._seen[key] = self._judge(path, entrypoint, depth)
        return self._seen[key]

    def _judge(self, path: str, entrypoint: bool, depth: int) -> Judgement:
        info = self.fs.stat(path)
        if info is not None and not may_execute(info, self.user):
            who = "" if info.is_executable else " bit"
            for_user = f" for USER {self.summary.user}" if info.is_executable else ""
            return self._refuse(path, entrypoint, "CCG213",
                                f"has no execute{who} permission{for_user} (mode "
                                f"{info.mode:o}, owner {info.uid}:{info.gid}): "
                                "'permission denied'",
                                f"chmod 0755 {path} in the build stage, or COPY --chmod=0755",
                                mode=f"{info.mode:o}", user=self.summary.user or "root")
        try:
            head = self.fs.read(path, SHEBANG_LIMIT)
        except GorcError as err:
            return self.unreadable(path, entrypoint, str(err))
        if head.startswith(b"\x7fELF"):
            return ElfCheck(self, path, entrypoint).run()
        if head.startswith(b"#!"):
            return ScriptCheck(self, path, entrypoint, head, depth).run()
        return self._refuse(path, entrypoint, "CCG212",
                            "is neither an ELF binary nor a '#!' script: 'exec format error'",
                            "build the program for Linux (GOOS=linux) or add a '#!' line")

    def _refuse(self, path: str, entrypoint: bool, rule_id: str, what: str, fix: str,
                **evidence: str) -> Judgement:
        """A file the kernel refuses to start before reading it as a program."""
        problem = finding(rule_id, f"{subject(path, entrypoint)} {what}", self.location(path),
                          fix, None, path=path, **evidence)
        report = BinaryReport(path, entrypoint, BinaryFormat.OTHER, runnable=False,
                              problems=(rule_id,), layer=self.location(path).layer)
        return Judgement(report, (problem,))

    def unreadable(self, path: str, entrypoint: bool, reason: str) -> Judgement:
        """A program file that could not be read: CCG207 and an unknown."""
        problem = finding("CCG207", f"{subject(path, entrypoint)} could not be analysed: "
                          f"{reason}", self.location(path),
                          "check that the file is complete; rebuild it", path=path)
        report = BinaryReport(path, entrypoint, BinaryFormat.ELF, runnable=None,
                              problems=("CCG207",), layer=self.location(path).layer)
        unknown = Unknown(path, reason, self.location(path))
        return Judgement(report, (problem,), (unknown,))
