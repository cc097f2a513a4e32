"""The JSON report: version 1 of the contract in DESIGN.md ("JSON report contract").

Contract keys keep their names and meaning across releases; fields added later
are extras that a consumer may ignore (``version``, ``tool``, ``unknowns``,
``title``, ``evidence``, ``summary.strict``, ``image.variant``...). Keys come out
in a fixed order and lists are sorted, so equal results give equal bytes.
A location gorc does not know is ``null``; a source line or column that is not
known is ``0`` (the predecessor's integer fields).
"""

from __future__ import annotations

import json
from typing import Any

from gorc import __version__
from gorc.model import (
    BinaryReport,
    Finding,
    GoBuildInfo,
    GoModule,
    ImageSummary,
    Location,
    Need,
    Provides,
    Result,
    Severity,
    SourceLocation,
    Unknown,
)
from gorc.report.base import (
    TOOL_NAME,
    rule_title,
    sorted_binaries,
    sorted_findings,
    sorted_needs,
    sorted_unknowns,
)

JSON_REPORT_VERSION = 1

JsonObject = dict[str, Any]


class JsonReporter:
    """Renders a result as the version-1 JSON document, indented by two spaces."""

    def __init__(self, *, tool_version: str = __version__) -> None:
        self._tool_version = tool_version

    def render(self, result: Result) -> str:
        """The JSON document for ``result``, ending with a newline."""
        document = result_document(result, tool_version=self._tool_version)
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def result_document(result: Result, *, tool_version: str = __version__) -> JsonObject:
    """The whole report as plain JSON values, keys in contract order."""
    return {
        "version": JSON_REPORT_VERSION,
        "tool": {"name": TOOL_NAME, "version": tool_version},
        "findings": [finding_object(f) for f in sorted_findings(result.findings)],
        "summary": summary_object(result),
        "image": image_object(result.image) if result.image else None,
        "binaries": [binary_object(b) for b in sorted_binaries(result.binaries)],
        "needs": None if result.needs is None else [
            need_object(n) for n in sorted_needs(result.needs)
        ],
        "provides": provides_object(result.provides) if result.provides else None,
        "unknowns": [unknown_object(u) for u in sorted_unknowns(result.unknowns)],
    }


def location_object(location: Location | None) -> JsonObject | None:
    """``{file, line, column}`` or ``{image, path, layer}`` (plus ``dockerfile``)."""
    if location is None:
        return None
    if isinstance(location, SourceLocation):
        return {"file": location.file, "line": location.line, "column": location.column}
    return {
        "image": location.image,
        "path": location.path,
        "layer": location.layer,
        "dockerfile": location_object(location.dockerfile),
        "instruction": location.instruction,
    }


def finding_object(finding: Finding) -> JsonObject:
    """One finding; ``title`` and ``evidence`` are extras to the contract."""
    return {
        "rule_id": finding.rule_id,
        "category": finding.category.value,
        "severity": finding.severity.value,
        "message": finding.message,
        "location": location_object(finding.location),
        "suggestion": finding.suggestion,
        "title": rule_title(finding.rule_id),
        "evidence": dict(sorted(finding.evidence)),
    }


def summary_object(result: Result) -> JsonObject:
    """Counts by severity and the verdict; ``strict`` is an extra."""
    return {
        "total_findings": len(result.findings),
        "error_count": result.count(Severity.ERROR),
        "warning_count": result.count(Severity.WARNING),
        "info_count": result.count(Severity.INFO),
        "passed": result.passed,
        "strict": result.strict,
    }


def _optional_list(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def image_object(image: ImageSummary) -> JsonObject:
    """The image's identity and run-time config; env as the config's ``K=V`` strings."""
    return {
        "reference": image.reference,
        "digest": image.digest,
        "os": image.os,
        "architecture": image.architecture,
        "entrypoint": _optional_list(image.entrypoint),
        "cmd": _optional_list(image.cmd),
        "user": image.user,
        "env": [f"{key}={value}" for key, value in image.env],
        "variant": image.variant,
        "working_dir": image.working_dir,
        "healthcheck": _optional_list(image.healthcheck),
    }


def module_object(module: GoModule) -> JsonObject:
    """A Go module line: path, version, checksum, and its replacement if any."""
    return {
        "path": module.path,
        "version": module.version,
        "sum": module.sum,
        "replace": module_object(module.replace) if module.replace else None,
    }


def go_object(info: GoBuildInfo) -> JsonObject:
    """Go build info; ``path`` (the main package) is an extra."""
    return {
        "version": info.go_version,
        "path": info.path,
        "main": module_object(info.main) if info.main else None,
        "deps": [module_object(dep) for dep in info.deps],
        "settings": dict(info.settings),
    }


def binary_object(binary: BinaryReport) -> JsonObject:
    """One program in the image; ``layer`` is an extra."""
    return {
        "path": binary.path,
        "entrypoint": binary.entrypoint,
        "format": binary.format.value,
        "arch": binary.arch,
        "linkage": binary.linkage.value if binary.linkage else None,
        "interpreter": binary.interpreter,
        "needed": list(binary.needed),
        "go": go_object(binary.go) if binary.go else None,
        "runnable": binary.runnable,
        "problems": sorted(binary.problems),
        "layer": binary.layer,
    }


def need_object(need: Need) -> JsonObject:
    """One run-time need and where it was seen."""
    return {"kind": need.kind.value, "name": need.name,
            "location": location_object(need.location)}


def provides_object(provides: Provides) -> JsonObject:
    """What the image (or the base profile) offers at run time."""
    libc = provides.libc
    return {
        "shell": provides.shell,
        "libc": {"family": libc.family.value if libc.family else None,
                 "version": libc.version},
        "programs": sorted(provides.programs),
        "ca_certificates": sorted(provides.ca_certificates),
        "zoneinfo": sorted(provides.zoneinfo),
        "users": sorted(provides.users),
        "temp_dir": provides.temp_dir,
        "source": provides.source.value,
    }


def unknown_object(unknown: Unknown) -> JsonObject:
    """Something gorc could not analyse, and why."""
    return {"what": unknown.what, "reason": unknown.reason,
            "location": location_object(unknown.location)}
