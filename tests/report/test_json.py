"""The JSON reporter: golden files and the version-1 contract of DESIGN.md."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gorc import __version__
from gorc.model import ImageLocation, Need, NeedKind, Result, SourceLocation
from gorc.report.json_report import JsonReporter
from gorc.rules import finding
from tests.report.golden_files import GOLDEN_TOOL_VERSION, assert_golden
from tests.report.samples import SAMPLES, image_audit, odd_characters, strict_failure

# The contract's keys (DESIGN.md, "JSON report contract (version 1)"). A key
# missing or renamed here is a breaking change for every pipeline that reads it.
CONTRACT = {
    "top": {"findings", "summary", "image", "binaries", "needs", "provides"},
    "finding": {"rule_id", "category", "severity", "message", "location", "suggestion"},
    "source_location": {"file", "line", "column"},
    "image_location": {"image", "path", "layer"},
    "summary": {"total_findings", "error_count", "warning_count", "info_count", "passed"},
    "image": {"reference", "digest", "os", "architecture", "entrypoint", "cmd", "user", "env"},
    "binary": {"path", "entrypoint", "format", "arch", "linkage", "interpreter", "needed",
               "go", "runnable", "problems"},
    "go": {"version", "settings", "main", "deps"},
    "module": {"path", "version", "sum", "replace"},
    "need": {"kind", "name", "location"},
    "provides": {"shell", "libc", "programs", "ca_certificates", "zoneinfo", "users",
                 "temp_dir", "source"},
    "libc": {"family", "version"},
    "unknown": {"what", "reason", "location"},
}
# Fields added beyond the contract; anything else is an undocumented key.
EXTRAS = {
    "top": {"version", "tool", "unknowns"},
    "finding": {"title", "evidence"},
    "image_location": {"dockerfile", "instruction"},
    "summary": {"strict"},
    "image": {"variant", "working_dir", "healthcheck"},
    "binary": {"layer"},
    "go": {"path"},
}


def render(result: Result) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        JsonReporter(tool_version=GOLDEN_TOOL_VERSION).render(result))
    return document


def assert_keys(kind: str, obj: dict[str, Any]) -> None:
    keys = set(obj)
    missing = CONTRACT[kind] - keys
    assert not missing, f"{kind} lacks contract keys {sorted(missing)}"
    unknown = keys - CONTRACT[kind] - EXTRAS.get(kind, set())
    assert not unknown, f"{kind} has undocumented keys {sorted(unknown)}"


def assert_location(obj: dict[str, Any] | None) -> None:
    if obj is not None:
        assert_keys("source_location" if "file" in obj else "image_location", obj)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden(name: str) -> None:
    text = JsonReporter(tool_version=GOLDEN_TOOL_VERSION).render(SAMPLES[name]())
    assert_golden(f"{name}.json", text)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_object_has_exactly_the_contract_keys(name: str) -> None:
    document = render(SAMPLES[name]())
    assert_keys("top", document)
    assert_keys("summary", document["summary"])
    for item in document["findings"]:
        assert_keys("finding", item)
        assert_location(item["location"])
    if document["image"] is not None:
        assert_keys("image", document["image"])
    for binary in document["binaries"]:
        assert_keys("binary", binary)
        if binary["go"] is not None:
            _assert_go(binary["go"])
    for need in document["needs"] or []:
        assert_keys("need", need)
        assert_location(need["location"])
    if document["provides"] is not None:
        assert_keys("provides", document["provides"])
        assert_keys("libc", document["provides"]["libc"])
    for unknown in document["unknowns"]:
        assert_keys("unknown", unknown)


def _assert_go(go: dict[str, Any]) -> None:
    assert_keys("go", go)
    for module in [go["main"], *go["deps"]]:
        while module is not None:
            assert_keys("module", module)
            module = module["replace"]


def test_values_follow_the_contract() -> None:
    document = render(image_audit())
    assert document["version"] == 1
    assert document["summary"] == {"total_findings": 6, "error_count": 4, "warning_count": 1,
                                   "info_count": 1, "passed": False, "strict": False}
    assert {f["severity"] for f in document["findings"]} == {"error", "warning", "info"}
    api = document["binaries"][0]
    assert (api["path"], api["entrypoint"], api["format"], api["linkage"]) == (
        "/app/api", True, "elf", "dynamic")
    assert api["go"]["version"] == "go1.19.8"
    assert api["go"]["main"]["path"] == "example.com/shop/api"
    assert api["go"]["settings"]["CGO_ENABLED"] == "1"
    assert api["go"]["deps"][1]["replace"]["path"] == "example.com/fork/sys"
    assert document["image"]["env"] == ["PATH=/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE="]
    assert document["provides"]["libc"] == {"family": None, "version": None}
    assert document["provides"]["source"] == "image"


def test_nulls_for_what_was_not_analysed() -> None:
    document = render(Result())
    assert document["image"] is None
    assert document["needs"] is None
    assert document["provides"] is None
    assert document["findings"] == [] and document["binaries"] == []
    assert document["summary"]["passed"] is True


def test_empty_needs_are_a_list_not_null() -> None:
    assert render(Result(needs=()))["needs"] == []


def test_location_forms() -> None:
    document = render(odd_characters())
    by_rule = {f["rule_id"]: f["location"] for f in document["findings"]}
    assert by_rule["CCG209"] is None
    assert by_rule["CCG001"] == {"file": "src/ünï cöde.go", "line": 3, "column": 7}
    assert by_rule["CCG200"]["image"] == "ünïcödé/ïmage:v1"
    assert by_rule["CCG200"]["layer"] is None


def test_odd_characters_round_trip() -> None:
    result = odd_characters()
    document = render(result)
    messages = {f["message"] for f in document["findings"]}
    assert {f.message for f in result.findings} == messages
    evidence = [f["evidence"] for f in document["findings"] if f["rule_id"] == "CCG001"]
    assert evidence == [{"raw": "tab\there"}]


def test_strict_run_fails_on_warnings() -> None:
    summary = render(strict_failure())["summary"]
    assert (summary["error_count"], summary["warning_count"]) == (0, 2)
    assert summary["passed"] is False and summary["strict"] is True


def test_findings_sorted_by_severity_rule_location_message() -> None:
    keys = [(f["severity"], f["rule_id"], f["message"])
            for f in render(odd_characters())["findings"]]
    assert keys == [
        ("error", "CCG200", keys[0][2]),
        ("error", "CCG202", "Same place, other message A."),
        ("error", "CCG202", "Same place, other message B."),
        ("warning", "CCG001", keys[3][2]),
        ("info", "CCG209", "The image has neither Entrypoint nor Cmd."),
    ]


def test_default_reporter_names_the_running_version() -> None:
    document = json.loads(JsonReporter().render(Result()))
    assert document["tool"] == {"name": "gorc", "version": __version__}


_MIXED = (
    finding("CCG201", "b", ImageLocation("img", "/b")),
    finding("CCG201", "a", ImageLocation("img", "/a")),
    finding("CCG001", "x", SourceLocation("main.go", 10, 2)),
    finding("CCG001", "x", SourceLocation("main.go", 9, 2)),
    finding("CCG209", "no location"),
    finding("CCG035", "base", SourceLocation("Dockerfile", 1)),
)
_NEEDS = (Need(NeedKind.SHELL, "sh"), Need(NeedKind.PROGRAM, "git"),
          Need(NeedKind.PROGRAM, "curl", SourceLocation("a.go", 1)))


@settings(max_examples=30, deadline=None)
@given(st.permutations(_MIXED), st.permutations(_NEEDS))
def test_output_does_not_depend_on_input_order(findings: list[Any], needs: list[Any]) -> None:
    reporter = JsonReporter(tool_version=GOLDEN_TOOL_VERSION)
    expected = reporter.render(Result(findings=_MIXED, needs=_NEEDS))
    assert reporter.render(Result(findings=tuple(findings), needs=tuple(needs))) == expected
