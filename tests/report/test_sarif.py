"""The SARIF reporter: golden files, structure, and GitHub code scanning's needs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gorc.model import ImageLocation, Result, SourceLocation
from gorc.report.sarif import (
    FINGERPRINT_KEY,
    SarifReporter,
    artifact_uri,
    fingerprint,
    rule_name,
)
from gorc.rules import RULES, finding
from tests.report.golden_files import GOLDEN_TOOL_VERSION, assert_golden
from tests.report.samples import (
    SAMPLE_DOCKERFILES,
    SAMPLES,
    image_audit,
    odd_characters,
    source_analysis,
)

_TEXT = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
_PHYSICAL = {
    "type": "object",
    "required": ["artifactLocation", "region"],
    "properties": {
        "artifactLocation": {"type": "object", "required": ["uri"],
                             "properties": {"uri": {"type": "string", "pattern": "^[^/]"}}},
        # GitHub rejects a region whose startLine is missing or below 1.
        "region": {"type": "object", "required": ["startLine"], "properties": {
            "startLine": {"type": "integer", "minimum": 1},
            "startColumn": {"type": "integer", "minimum": 1}}},
    },
}
# GitHub refuses the whole file when one result lacks a physical location.
_LOCATION = {"type": "object", "required": ["physicalLocation"], "properties": {
    "physicalLocation": _PHYSICAL,
    "logicalLocations": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["fullyQualifiedName", "kind"]}},
}}
# A reduced SARIF 2.1.0 schema: the official schema cannot be downloaded here, so
# this one checks the fields that SARIF requires and GitHub code scanning reads.
REDUCED_SARIF_2_1_0_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["$schema", "version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["tool", "results", "invocations", "automationDetails"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {
                    "driver": {"type": "object", "required": ["name", "rules"], "properties": {
                        "name": {"type": "string"},
                        "rules": {"type": "array", "items": {
                            "type": "object",
                            "required": ["id", "name", "shortDescription", "fullDescription",
                                         "help", "defaultConfiguration", "properties"],
                            "properties": {
                                "shortDescription": _TEXT, "fullDescription": _TEXT,
                                "help": {"type": "object", "required": ["text", "markdown"]},
                                "defaultConfiguration": {"type": "object", "properties": {
                                    "level": {"enum": ["error", "warning", "note"]}}},
                            }}},
                    }},
                }},
                "invocations": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["executionSuccessful"]}},
                "automationDetails": {"type": "object", "required": ["id"]},
                "results": {"type": "array", "items": {
                    "type": "object",
                    "required": ["ruleId", "level", "message", "locations",
                                 "partialFingerprints"],
                    "properties": {
                        "level": {"enum": ["error", "warning", "note", "none"]},
                        "message": _TEXT,
                        "locations": {"type": "array", "minItems": 1, "maxItems": 10,
                                      "items": _LOCATION},
                        "partialFingerprints": {"type": "object", "additionalProperties": {
                            "type": "string"}},
                    }}},
            },
        }},
    },
}


def render(result: Result) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(
        SarifReporter(tool_version=GOLDEN_TOOL_VERSION).render(result))
    return log


def results_of(result: Result) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = render(result)["runs"]
    results: list[dict[str, Any]] = runs[0]["results"]
    return results


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden(name: str) -> None:
    reporter = SarifReporter(tool_version=GOLDEN_TOOL_VERSION,
                             dockerfile=SAMPLE_DOCKERFILES.get(name))
    text = reporter.render(SAMPLES[name]())
    assert_golden(f"{name}.sarif", text)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_valid_against_reduced_schema(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(render(SAMPLES[name]()), REDUCED_SARIF_2_1_0_SCHEMA)


def test_driver_lists_every_catalog_rule_and_indexes_match() -> None:
    run = render(image_audit())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted(RULES)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert run["automationDetails"] == {"id": "gorc/"}
    assert run["invocations"][0]["executionSuccessful"] is True


def test_rule_descriptor_carries_help_and_level() -> None:
    rules = {r["id"]: r for r in render(Result())["runs"][0]["tool"]["driver"]["rules"]}
    ccg201 = rules["CCG201"]
    assert ccg201["name"] == "ELFInterpreterAbsentTheKernelCannotStartTheBinary"
    assert ccg201["defaultConfiguration"] == {"level": "error"}
    assert ccg201["properties"]["tags"] == ["image"]
    assert "**Fix:** CGO_ENABLED=0" in ccg201["help"]["markdown"]
    assert rules["CCG005"]["defaultConfiguration"] == {"level": "note"}
    assert rules["CCG005"]["properties"]["problem.severity"] == "recommendation"


def test_source_findings_are_physical_locations_under_srcroot() -> None:
    for result in results_of(source_analysis()):
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert not artifact["uri"].startswith(("/", "./"))


def test_image_finding_uses_the_dockerfile_line_when_known() -> None:
    by_rule = {r["ruleId"]: r for r in results_of(image_audit())}
    (with_line,) = by_rule["CCG201"]["locations"]
    assert with_line["physicalLocation"] == {
        "artifactLocation": {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 14, "startColumn": 1}}
    assert with_line["logicalLocations"][0]["kind"] == "resource"
    assert by_rule["CCG202"]["properties"]["layer"].startswith("sha256:")


def test_unplaced_findings_are_anchored_at_the_dockerfile() -> None:
    anchored = {"artifactLocation": {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 1}}
    by_rule = {r["ruleId"]: r for r in results_of(image_audit())}
    (image_only,) = by_rule["CCG202"]["locations"]
    assert image_only["physicalLocation"] == anchored
    assert image_only["logicalLocations"][0]["fullyQualifiedName"] == (
        "registry.example.com/shop/api:1.4.2:/app/api")
    (nowhere,) = {r["ruleId"]: r for r in results_of(odd_characters())}["CCG209"]["locations"]
    assert nowhere == {"physicalLocation": anchored}


def test_anchor_follows_the_runs_dockerfile() -> None:
    log = json.loads(SarifReporter(dockerfile="./deploy/Dockerfile.prod").render(image_audit()))
    by_rule = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    place = by_rule["CCG202"]["locations"][0]["physicalLocation"]
    assert place["artifactLocation"]["uri"] == "deploy/Dockerfile.prod"
    assert by_rule["CCG201"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 14


def test_unknown_line_becomes_line_one() -> None:
    results = results_of(Result(findings=(finding("CCG033", "m", SourceLocation("Dockerfile")),)))
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1}


def test_uris_are_percent_encoded() -> None:
    assert artifact_uri("src/ünï cöde.go") == ("src/%C3%BCn%C3%AF%20c%C3%B6de.go", "%SRCROOT%")
    assert artifact_uri("./././cmd/main.go") == ("cmd/main.go", "%SRCROOT%")
    assert artifact_uri("/abs/main.go") == ("file:///abs/main.go", None)
    assert artifact_uri("dir\\file.go") == ("dir/file.go", "%SRCROOT%")


def test_fingerprints_ignore_image_reference_and_layer() -> None:
    def make(image: str, layer: str | None, message: str = "m") -> str:
        return fingerprint(finding("CCG201", message, ImageLocation(image, "/app", layer)))

    assert make("app:1", "sha256:aa") == make("app:2", "sha256:bb") == make("app:3", None)
    assert make("app:1", None) != make("app:1", None, message="other")
    results = results_of(odd_characters())
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in results]
    assert len(set(prints)) == len(prints)


@pytest.mark.parametrize(("title", "name"), [
    ("Shell executed", "ShellExecuted"),
    ('import "C"', "ImportC"),
    ("CGO_ENABLED=1 in the image environment", "CGOENABLED1InTheImageEnvironment"),
    ("scratch base image", "ScratchBaseImage"),
])
def test_rule_name(title: str, name: str) -> None:
    assert rule_name(title) == name


def test_rule_names_are_unique() -> None:
    names = [rule_name(rule.title) for rule in RULES.values()]
    assert len(names) == len(set(names))


def test_unknowns_become_notifications() -> None:
    run = render(image_audit())["runs"][0]
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning"
    assert note["message"]["text"].startswith("cannot analyse /app/plugins/legacy.so: ")
    assert note["message"]["text"].endswith("(layer sha256:3f3f3f3f3f3f))")
    assert "locations" not in note
