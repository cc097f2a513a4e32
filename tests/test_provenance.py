"""Image findings learn the instruction that made their layer."""

from __future__ import annotations

from gorc.model import ImageLocation, SourceLocation
from gorc.provenance import attach_instructions
from gorc.rules import finding

COMMANDS = {"sha256:aa": "COPY app /app", "sha256:bb": ""}


def test_instruction_attached_by_layer() -> None:
    (found,) = attach_instructions(
        [finding("CCG201", "x", ImageLocation("img", "/app", "sha256:aa"))], COMMANDS
    )
    assert isinstance(found.location, ImageLocation)
    assert found.location.instruction == "COPY app /app"


def test_other_findings_unchanged() -> None:
    kept = [
        finding("CCG201", "no layer", ImageLocation("img", "/app")),
        finding("CCG201", "empty history", ImageLocation("img", "/app", "sha256:bb")),
        finding("CCG201", "unknown layer", ImageLocation("img", "/app", "sha256:cc")),
        finding("CCG001", "source", SourceLocation("main.go", 3)),
        finding("CCG209", "nowhere"),
        finding("CCG201", "set", ImageLocation("img", "/app", "sha256:aa", instruction="RUN x")),
    ]
    assert attach_instructions(kept, COMMANDS) == tuple(kept)
