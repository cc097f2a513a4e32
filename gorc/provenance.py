"""Tie image findings to the instruction that made their layer.

The image history records, per layer, the Dockerfile instruction that made it
(``COPY app /app``); a finding about ``/app`` then tells the user which line of
their build to change, even without the Dockerfile at hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from gorc.model import Finding, ImageLocation


def attach_instructions(
    findings: Iterable[Finding], layer_commands: Mapping[str, str]
) -> tuple[Finding, ...]:
    """The findings, each image location completed with its layer's instruction."""
    return tuple(_with_instruction(f, layer_commands) for f in findings)


def _with_instruction(finding: Finding, layer_commands: Mapping[str, str]) -> Finding:
    location = finding.location
    if not isinstance(location, ImageLocation) or location.instruction or not location.layer:
        return finding
    instruction = layer_commands.get(location.layer)
    if not instruction:
        return finding
    return replace(finding, location=replace(location, instruction=instruction))
