"""Every reporter takes any text a binary, an image or a source file can carry."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gorc.model import Finding, ImageLocation, Location, Result, SourceLocation, Unknown
from gorc.report.json_report import JsonReporter
from gorc.report.sarif import SarifReporter
from gorc.report.text import TextReporter
from gorc.rules import RULES, finding
from tests.report.test_sarif import REDUCED_SARIF_2_1_0_SCHEMA

_TEXT = st.text(max_size=60)
_LOCATIONS: st.SearchStrategy[Location | None] = st.one_of(
    st.none(),
    st.builds(SourceLocation, _TEXT.filter(bool), st.integers(0, 10**6), st.integers(0, 500)),
    st.builds(ImageLocation, _TEXT, _TEXT, st.none() | _TEXT,
              st.none() | st.builds(SourceLocation, _TEXT.filter(bool), st.integers(0, 99))),
)
_FINDINGS: st.SearchStrategy[Finding] = st.builds(
    lambda rule, message, location, suggestion, value: finding(
        rule, message, location, suggestion, detail=value),
    st.sampled_from(sorted(RULES)), _TEXT, _LOCATIONS, _TEXT, _TEXT)
_RESULTS = st.builds(
    Result,
    findings=st.lists(_FINDINGS, max_size=6).map(tuple),
    unknowns=st.lists(st.builds(Unknown, _TEXT, _TEXT, _LOCATIONS), max_size=3).map(tuple),
    strict=st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(_RESULTS)
def test_json_keeps_every_string(result: Result) -> None:
    document = json.loads(JsonReporter().render(result))
    assert sorted(f["message"] for f in document["findings"]) == sorted(
        f.message for f in result.findings)
    assert document["summary"]["total_findings"] == len(result.findings)
    assert document["summary"]["passed"] is result.passed


@settings(max_examples=60, deadline=None)
@given(_RESULTS)
def test_sarif_stays_valid(result: Result) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    log = json.loads(SarifReporter().render(result))
    jsonschema.validate(log, REDUCED_SARIF_2_1_0_SCHEMA)
    assert len(log["runs"][0]["results"]) == len(result.findings)


@settings(max_examples=60, deadline=None)
@given(_RESULTS)
def test_plain_text_has_no_control_characters(result: Result) -> None:
    text = TextReporter().render(result)
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in text)
    assert text.splitlines()[-1].startswith("Result: ")
