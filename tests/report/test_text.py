"""The text reporter: golden files, colour and terminal independence."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len

from gorc.model import Category, ImageLocation, Result
from gorc.report.text import CATEGORY_TITLES, TextReporter
from gorc.rules import finding
from tests.report.golden_files import assert_golden
from tests.report.samples import (
    SAMPLE_DOCKERFILES,
    SAMPLES,
    image_audit,
    odd_characters,
    strict_failure,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden(name: str) -> None:
    reporter = TextReporter(dockerfile=SAMPLE_DOCKERFILES.get(name))
    assert_golden(f"{name}.txt", reporter.render(SAMPLES[name]()))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_plain_output_has_no_control_codes_and_fits_100_columns(name: str) -> None:
    text = TextReporter().render(SAMPLES[name]())
    assert "\x1b" not in text
    assert all(cell_len(line) <= 100 for line in text.splitlines())
    assert all(line == line.rstrip() for line in text.splitlines())
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_environment_does_not_change_plain_output(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = TextReporter().render(image_audit())
    for name, value in (("COLUMNS", "40"), ("LINES", "5"), ("FORCE_COLOR", "1"),
                        ("TTY_COMPATIBLE", "1"), ("TERM", "xterm-256color")):
        monkeypatch.setenv(name, value)
    assert TextReporter().render(image_audit()) == expected


def test_colour_output_is_the_plain_text_with_sgr_codes() -> None:
    plain = TextReporter().render(image_audit())
    coloured = TextReporter(color=True).render(image_audit())
    assert "\x1b[" in coloured
    assert "\n".join(line.rstrip() for line in ANSI.sub("", coloured).splitlines()) == (
        plain.rstrip("\n"))


def test_brackets_are_not_markup() -> None:
    text = TextReporter(color=True).render(odd_characters())
    assert "[bold]not markup[/]" in ANSI.sub("", text)


def test_errors_come_first_and_summary_last() -> None:
    lines = TextReporter().render(image_audit()).splitlines()
    groups = [line for line in lines if re.fullmatch(r"[A-Za-z -]+ \(\d+\)", line)]
    assert groups[0] == "Needs against capabilities (1)"
    assert groups[-2:] == ["Dockerfile (1)", "Not analysed (1)"]
    assert lines[-2:] == ["Summary: 6 findings (4 errors, 1 warning, 1 info), 1 not analysed",
                          "Result: FAILED"]


def test_strict_status() -> None:
    text = TextReporter().render(strict_failure())
    assert text.endswith("\nResult: FAILED (strict: warnings fail the run)\n")


def test_empty_result() -> None:
    text = TextReporter().render(Result())
    assert "No findings." in text
    assert text.endswith("Summary: 0 findings (0 errors, 0 warnings, 0 info)\nResult: PASSED\n")
    assert "Binaries" not in text


def test_header_names_the_dockerfile() -> None:
    text = TextReporter(dockerfile="deploy/Dockerfile").render(strict_failure())
    assert "  dockerfile  deploy/Dockerfile" in text.splitlines()[:10]


def test_control_characters_are_escaped() -> None:
    result = Result(findings=(finding(
        "CCG200", "bad \x1b[31mred\x1b[0m\r \u202eevil", ImageLocation("img", "/x\ny")),))
    text = TextReporter().render(result)
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert "bad \\x1b[31mred\\x1b[0m\\x0d \\u202eevil" in text
    assert "at img:/x\\x0ay" in text


def test_every_category_has_a_title() -> None:
    assert set(CATEGORY_TITLES) == set(Category)
