"""The SARIF 2.1.0 report, shaped for GitHub code scanning.

SARIF 2.1.0 is the OASIS standard (schema at json.schemastore.org/sarif-2.1.0.json);
GitHub code scanning reads a subset of it: per run ``tool.driver`` with its
``rules``, per result ``ruleId``, ``message.text``, ``locations`` with a
``physicalLocation`` (``artifactLocation.uri`` relative to the repository and a
``region.startLine`` of at least 1) and ``partialFingerprints`` to follow an
alert from one run to the next.

Source and Dockerfile findings become physical locations. An image finding
points at the Dockerfile line that made its layer when gorc knows it, and
carries a logical location ``image:path`` besides. GitHub rejects the whole
file when a single result lacks a physical location ("locationFromSarifResult:
expected at least one location", github/codeql-action#2459), so a finding with
no file place (an image finding without a Dockerfile line, or no location at
all) is anchored at line 1 of the run's Dockerfile, or of ``Dockerfile`` at the
repository root when the run had none. Known limitation: such alerts show on
that line, not on the image path; the logical location and ``properties`` keep
the real place, and the text and JSON reports give it in full.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from gorc import __version__
from gorc.model import (
    Category,
    Finding,
    ImageLocation,
    Location,
    Result,
    Severity,
    SourceLocation,
    Unknown,
)
from gorc.report.base import TOOL_NAME, describe_location, sorted_findings, sorted_unknowns
from gorc.rules import RULES, Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "gorcFinding/v1"
SOURCE_ROOT = "%SRCROOT%"
DEFAULT_ANCHOR = "Dockerfile"

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# GitHub's "problem.severity" for non-security rules: error, warning or recommendation.
_PROBLEM_SEVERITIES = {Severity.ERROR: "error", Severity.WARNING: "warning",
                       Severity.INFO: "recommendation"}
# Image and binary rules read the built artefact itself; the others infer from
# source, Dockerfile or a base-image profile and can be wrong about the real image.
_HIGH_PRECISION = {Category.IMAGE, Category.BINARY, Category.DYNAMIC_LINKING}

SarifObject = dict[str, Any]


class SarifReporter:
    """Renders a result as one SARIF 2.1.0 log with a single run."""

    def __init__(self, *, tool_version: str = __version__, dockerfile: str | None = None) -> None:
        self._tool_version = tool_version
        self._anchor = SourceLocation(dockerfile or DEFAULT_ANCHOR, 1)

    def render(self, result: Result) -> str:
        """The SARIF log for ``result``, ending with a newline."""
        log = sarif_log(result, tool_version=self._tool_version, anchor=self._anchor)
        return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def sarif_log(result: Result, *, tool_version: str = __version__,
              anchor: SourceLocation | None = None) -> SarifObject:
    """The whole SARIF log as plain JSON values; ``anchor`` places unplaced results."""
    anchor = anchor or SourceLocation(DEFAULT_ANCHOR, 1)
    rules = sorted(RULES.values(), key=lambda rule: rule.id)
    index = {rule.id: position for position, rule in enumerate(rules)}
    run: SarifObject = {
        "tool": {"driver": {
            "name": TOOL_NAME,
            "version": tool_version,
            "semanticVersion": tool_version,
            "rules": [rule_descriptor(rule) for rule in rules],
        }},
        "automationDetails": {"id": f"{TOOL_NAME}/"},
        "invocations": [invocation(result)],
        "results": [result_object(f, index, anchor) for f in sorted_findings(result.findings)],
        "properties": {"passed": result.passed, "strict": result.strict},
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def rule_name(title: str) -> str:
    """A CamelCase identifier from a rule title ("Shell executed" -> ShellExecuted)."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(word[:1].upper() + word[1:] for word in words)


def _help_sections(help_text: str) -> tuple[str, list[tuple[str, str]]]:
    """The explanation paragraph, then the labelled parts (``Fix:``, ``Example:``)."""
    explanation: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line in help_text.splitlines():
        label, sep, rest = line.partition(":")
        if sep and label in ("Fix", "Example"):
            sections.append((label, [rest.strip()]))
        elif sections:
            sections[-1][1].append(line.strip())
        else:
            explanation.append(line.strip())
    return " ".join(explanation), [(label, " ".join(text)) for label, text in sections]


def help_markdown(rule: Rule) -> str:
    """The rule's help as Markdown: title, explanation, fix and example."""
    explanation, sections = _help_sections(rule.help)
    parts = [f"**{rule.id}: {rule.title}**", explanation]
    parts.extend(f"**{label}:** {text}" for label, text in sections)
    return "\n\n".join(parts)


def rule_descriptor(rule: Rule) -> SarifObject:
    """A ``reportingDescriptor`` for one catalog rule."""
    explanation, _ = _help_sections(rule.help)
    return {
        "id": rule.id,
        "name": rule_name(rule.title),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": explanation},
        "help": {"text": rule.help, "markdown": help_markdown(rule)},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {
            "tags": [rule.category.value],
            "precision": "high" if rule.category in _HIGH_PRECISION else "medium",
            "problem.severity": _PROBLEM_SEVERITIES[rule.severity],
        },
    }


def artifact_uri(path: str) -> tuple[str, str | None]:
    """A URI for a file and its base id: relative paths hang off ``%SRCROOT%``."""
    path = path.replace("\\", "/")
    if path.startswith("/"):
        return "file://" + quote(path, safe="/"), None
    while path.startswith("./"):
        path = path[2:]
    return quote(path, safe="/"), SOURCE_ROOT


def physical_location(place: SourceLocation) -> SarifObject:
    """A ``physicalLocation``; GitHub rejects a region whose startLine is below 1."""
    uri, base = artifact_uri(place.file)
    artifact: SarifObject = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    region: SarifObject = {"startLine": max(place.line, 1)}
    if place.column > 0:
        region["startColumn"] = place.column
    return {"artifactLocation": artifact, "region": region}


def image_name(place: ImageLocation) -> str:
    """The logical name of a place in an image: ``image:path``."""
    return f"{place.image}:{place.path}" if place.path else place.image


def location_object(location: Location | None, anchor: SourceLocation) -> SarifObject:
    """The one ``location`` of a result: always physical, logical too for image places."""
    if isinstance(location, SourceLocation):
        return {"physicalLocation": physical_location(location)}
    if location is None:
        return {"physicalLocation": physical_location(anchor)}
    sarif: SarifObject = {
        "physicalLocation": physical_location(location.dockerfile or anchor),
    }
    sarif["logicalLocations"] = [{
        "name": location.path or location.image,
        "fullyQualifiedName": image_name(location),
        "kind": "resource",
    }]
    return sarif


def fingerprint(finding: Finding) -> str:
    """A stable hash of rule id, place and message, for GitHub's alert tracking.

    An image place is its path alone: the image reference and the layer digest
    change with every build, and the alert should not.
    """
    place = finding.location
    if isinstance(place, ImageLocation):
        where = place.path
    else:
        where = "" if place is None else f"{place.file}:{place.line}"
    text = "\0".join((finding.rule_id, where, finding.message))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _result_properties(finding: Finding) -> SarifObject:
    properties: SarifObject = {"category": finding.category.value}
    if isinstance(finding.location, ImageLocation):
        properties.update(image=finding.location.image, path=finding.location.path,
                          layer=finding.location.layer)
        if finding.location.instruction:
            properties["instruction"] = finding.location.instruction
    if finding.evidence:
        properties["evidence"] = dict(sorted(finding.evidence))
    return properties


def result_object(finding: Finding, rule_index: dict[str, int],
                  anchor: SourceLocation) -> SarifObject:
    """One SARIF ``result``; the suggestion is appended to the message."""
    text = finding.message
    if finding.suggestion:
        text = f"{text}\nFix: {finding.suggestion}"
    sarif: SarifObject = {"ruleId": finding.rule_id}
    if finding.rule_id in rule_index:
        sarif["ruleIndex"] = rule_index[finding.rule_id]
    sarif.update({
        "level": _LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [location_object(finding.location, anchor)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
        "properties": _result_properties(finding),
    })
    return sarif


def notification(unknown: Unknown) -> SarifObject:
    """A ``toolExecutionNotification`` for something gorc could not analyse.

    The place goes into the message: notifications need no location, and one
    without a physical location is what GitHub refuses in results.
    """
    text = f"cannot analyse {unknown.what}: {unknown.reason}"
    if unknown.location is not None:
        text += f" (at {describe_location(unknown.location)})"
    return {"level": "warning", "message": {"text": text}}


def invocation(result: Result) -> SarifObject:
    """The run's invocation: it completed; unknowns become notifications."""
    return {
        "executionSuccessful": True,
        "toolExecutionNotifications": [
            notification(u) for u in sorted_unknowns(result.unknowns)],
    }
