"""What every reporter shares: the formats, the reporter interface, stable ordering.

A reporter turns a :class:`~gorc.model.Result` into text; it never writes
anything itself (:mod:`gorc.report.output` does). Every reporter sorts the same
way so that two runs over the same input give byte-identical reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from gorc.model import (
    BinaryReport,
    Finding,
    ImageLocation,
    Location,
    Need,
    Result,
    SourceLocation,
    Unknown,
)
from gorc.rules import RULES, Rule

TOOL_NAME = "gorc"


class OutputFormat(StrEnum):
    """The report formats ``-o/--output`` accepts."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """One ``-o FORMAT[=FILE]``: a format and where it goes (``None`` is stdout)."""

    format: OutputFormat
    path: Path | None = None


class Reporter(Protocol):
    """Renders a result as one complete document."""

    def render(self, result: Result) -> str:
        """The report for ``result``, ending with a newline."""
        ...


LocationKey = tuple[int, str, str, int, int]


def location_key(location: Location | None) -> LocationKey:
    """A sort key for a location: none first, then source places, then image places."""
    if location is None:
        return (0, "", "", 0, 0)
    if isinstance(location, SourceLocation):
        return (1, location.file, "", location.line, location.column)
    return (2, location.image, location.path, 0, 0)


def finding_key(finding: Finding) -> tuple[int, str, LocationKey, str]:
    """Report order: severity (errors first), rule id, location, message."""
    return (finding.severity.rank, finding.rule_id, location_key(finding.location),
            finding.message)


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The findings in report order."""
    return sorted(findings, key=finding_key)


def sorted_binaries(binaries: Iterable[BinaryReport]) -> list[BinaryReport]:
    """Entrypoint programs first, then by path."""
    return sorted(binaries, key=lambda b: (not b.entrypoint, b.path))


def sorted_needs(needs: Iterable[Need]) -> list[Need]:
    """Needs by kind, name, then where they were seen."""
    return sorted(needs, key=lambda n: (n.kind.value, n.name, location_key(n.location)))


def sorted_unknowns(unknowns: Iterable[Unknown]) -> list[Unknown]:
    """Unknowns by location, then what, then why."""
    return sorted(unknowns, key=lambda u: (location_key(u.location), u.what, u.reason))


def rule_for(rule_id: str) -> Rule | None:
    """The catalog rule for ``rule_id``, or None for an id the catalog lacks."""
    return RULES.get(rule_id.upper())


def rule_title(rule_id: str) -> str:
    """The rule's one-line title, or an empty string for an unknown id."""
    rule = rule_for(rule_id)
    return rule.title if rule else ""


def describe_location(location: Location | None) -> str:
    """A one-line human form of a location; empty when there is none."""
    if location is None:
        return ""
    if not isinstance(location, ImageLocation):
        return str(location)
    if location.dockerfile is not None:
        return f"{location} (from {location.dockerfile})"
    if location.instruction:
        return f"{location}, made by: {location.instruction}"
    return str(location)

