"""Render a result with the requested reporters and turn it into an exit code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from gorc.model import Result
from gorc.report import OutputSpec, write_reports


def render(
    result: Result, specs: Sequence[OutputSpec], stdout: TextIO, dockerfile: Path | None = None
) -> int:
    """Write every requested report; 0 when the run passed, 1 when findings fail it."""
    write_reports(result, specs, stdout=stdout, dockerfile=str(dockerfile) if dockerfile else None)
    return 0 if result.passed else 1
