"""Output specs, colour choice and report writing."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gorc.errors import UsageError
from gorc.report import (
    OutputFormat,
    OutputSpec,
    color_wanted,
    get_reporter,
    parse_output_spec,
    write_reports,
)
from gorc.report.json_report import JsonReporter
from gorc.report.sarif import SarifReporter
from gorc.report.text import TextReporter
from tests.report.samples import image_audit, odd_characters

_COLOUR_VARIABLES = ("NO_COLOR", "FORCE_COLOR", "TERM")


class TtyStream(io.StringIO):
    """A text stream that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _COLOUR_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("text", "expected"), [
    ("json", OutputSpec(OutputFormat.JSON, None)),
    ("JSON", OutputSpec(OutputFormat.JSON, None)),
    ("text=-", OutputSpec(OutputFormat.TEXT, None)),
    ("sarif=gorc.sarif", OutputSpec(OutputFormat.SARIF, Path("gorc.sarif"))),
    ("json=out/a=b.json", OutputSpec(OutputFormat.JSON, Path("out/a=b.json"))),
])
def test_parse_output_spec(text: str, expected: OutputSpec) -> None:
    assert parse_output_spec(text) == expected


@pytest.mark.parametrize("text", ["xml", "", "=x.json", "table=out.txt"])
def test_unknown_format_lists_the_formats(text: str) -> None:
    with pytest.raises(UsageError, match="choose one of text, json, sarif"):
        parse_output_spec(text)


def test_empty_file_name_is_refused() -> None:
    with pytest.raises(UsageError, match="no file after '='"):
        parse_output_spec("json=")


def test_get_reporter_types() -> None:
    assert isinstance(get_reporter(OutputFormat.TEXT), TextReporter)
    assert isinstance(get_reporter(OutputFormat.JSON), JsonReporter)
    assert isinstance(get_reporter(OutputFormat.SARIF), SarifReporter)


def test_color_needs_a_terminal() -> None:
    assert color_wanted(TtyStream()) is True
    assert color_wanted(io.StringIO()) is False


@pytest.mark.parametrize("value", ["1", "true", "0", "anything"])
def test_no_color_wins_whatever_its_value(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("NO_COLOR", value)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert color_wanted(TtyStream()) is False


def test_empty_no_color_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # no-color.org: only a NO_COLOR that is present and not empty disables colour.
    monkeypatch.setenv("NO_COLOR", "")
    assert color_wanted(TtyStream()) is True


def test_force_color_and_dumb_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert color_wanted(io.StringIO()) is True
    monkeypatch.setenv("FORCE_COLOR", "0")
    assert color_wanted(io.StringIO()) is False
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert color_wanted(TtyStream()) is False


def test_closed_stream_is_no_terminal() -> None:
    stream = io.StringIO()
    stream.close()
    assert color_wanted(stream) is False


def test_reports_to_files_and_stdout_in_order(tmp_path: Path) -> None:
    stdout = io.StringIO()
    specs = [OutputSpec(OutputFormat.TEXT), OutputSpec(OutputFormat.SARIF, tmp_path / "g.sarif"),
             OutputSpec(OutputFormat.JSON)]
    write_reports(image_audit(), specs, stdout=stdout)

    text = TextReporter().render(image_audit())
    assert stdout.getvalue().startswith(text)
    assert json.loads(stdout.getvalue()[len(text):])["summary"]["passed"] is False
    assert json.loads((tmp_path / "g.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.sarif"]


def test_text_on_a_terminal_is_coloured_unless_no_color(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = TtyStream()
    write_reports(image_audit(), [OutputSpec(OutputFormat.TEXT)], stdout=stdout)
    assert "\x1b[" in stdout.getvalue()

    monkeypatch.setenv("NO_COLOR", "1")
    stdout = TtyStream()
    write_reports(image_audit(), [OutputSpec(OutputFormat.TEXT)], stdout=stdout)
    assert "\x1b" not in stdout.getvalue()


def test_text_file_is_never_coloured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    target = tmp_path / "report.txt"
    write_reports(image_audit(), [OutputSpec(OutputFormat.TEXT, target)], stdout=TtyStream())
    assert "\x1b" not in target.read_text(encoding="utf-8")


def test_existing_file_is_replaced_with_usual_permissions(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old", encoding="utf-8")
    write_reports(image_audit(), [OutputSpec(OutputFormat.JSON, target)], stdout=io.StringIO())
    assert json.loads(target.read_text(encoding="utf-8"))["version"] == 1

    fresh = tmp_path / "fresh.json"
    umask = os.umask(0o022)
    try:
        write_reports(image_audit(), [OutputSpec(OutputFormat.JSON, fresh)],
                      stdout=io.StringIO())
    finally:
        os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o644


def test_missing_directory_writes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    bad = tmp_path / "missing" / "gorc.sarif"
    stdout = io.StringIO()
    with pytest.raises(UsageError, match=r"cannot write report to .*gorc\.sarif: directory"):
        write_reports(image_audit(), [OutputSpec(OutputFormat.JSON, good),
                                      OutputSpec(OutputFormat.TEXT),
                                      OutputSpec(OutputFormat.SARIF, bad)], stdout=stdout)
    assert not good.exists() and not bad.parent.exists()
    assert stdout.getvalue() == ""


def test_directory_as_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="it is a directory"):
        write_reports(image_audit(), [OutputSpec(OutputFormat.JSON, tmp_path)],
                      stdout=io.StringIO())


def test_same_file_twice_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "r.out"
    with pytest.raises(UsageError, match="same file"):
        write_reports(image_audit(), [OutputSpec(OutputFormat.JSON, target),
                                      OutputSpec(OutputFormat.SARIF, target)],
                      stdout=io.StringIO())


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only directory")
def test_unwritable_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(UsageError, match=r"cannot write report to .*: Permission denied"):
        write_reports(image_audit(), [OutputSpec(OutputFormat.JSON, locked / "r.json")],
                      stdout=io.StringIO())
    assert list(locked.iterdir()) == []


def test_failed_rename_leaves_no_temporary_file(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    def refuse(source: object, target: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(UsageError, match=r"cannot write report to .*r\.json: No space left"):
        write_reports(image_audit(), [OutputSpec(OutputFormat.JSON, tmp_path / "r.json")],
                      stdout=io.StringIO())
    assert list(tmp_path.iterdir()) == []


def test_stdout_that_cannot_encode_unicode() -> None:
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="ascii")
    write_reports(odd_characters(), [OutputSpec(OutputFormat.JSON)], stdout=stdout)
    text = raw.getvalue().decode("ascii")
    assert '"image": "?n?c?d?/?mage:v1"' in text


def test_json_report_does_not_import_rich() -> None:
    code = ("import io, sys\n"
            "from gorc.report import OutputFormat, OutputSpec, write_reports\n"
            "from gorc.model import Result\n"
            "write_reports(Result(), [OutputSpec(OutputFormat.JSON)], stdout=io.StringIO())\n"
            "write_reports(Result(), [OutputSpec(OutputFormat.SARIF)], stdout=io.StringIO())\n"
            "sys.exit('rich' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
