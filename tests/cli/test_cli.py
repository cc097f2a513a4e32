"""The command line: version, rules, explain, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gorc.cli.main import main
from gorc.rules import RULES


def run_gorc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run gorc in a fresh interpreter, as a pipeline would."""
    return subprocess.run(
        [sys.executable, "-m", "gorc", *args], capture_output=True, text=True, env=env, check=False
    )


def test_version_answers_without_importing_typer() -> None:
    code = (
        "import sys\n"
        "from gorc.cli.main import main\n"
        "rc = main(['--version'])\n"
        "heavy = [m for m in ('typer', 'rich', 'docker', 'elftools') if m in sys.modules]\n"
        "print(rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "0 []"
    assert out.stdout.startswith("gorc ")


def test_rules_lists_every_rule() -> None:
    out = run_gorc("rules")
    assert out.returncode == 0
    for rule_id in RULES:
        assert rule_id in out.stdout
    assert "\x1b[" not in out.stdout


def test_rules_json_has_help_for_every_rule() -> None:
    out = run_gorc("rules", "-o", "json")
    rules = json.loads(out.stdout)
    assert [r["id"] for r in rules] == list(RULES)
    for rule in rules:
        assert set(rule) == {"id", "category", "severity", "title", "help"}
        assert "Fix:" in rule["help"] or rule["id"] in {"CCG035", "CCG040"}


@pytest.mark.parametrize("rule_id", ["CCG201", "ccg201", " CCG201 "])
def test_explain_prints_help(rule_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", rule_id]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CCG201: ELF interpreter absent")
    assert "no such file or directory" in out


def test_explain_unknown_rule_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "CCG999"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("gorc: error: unknown rule id 'CCG999'")


def test_unknown_command_is_usage_error_exit_2() -> None:
    out = run_gorc("frobnicate")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "No such command" in out.stderr


def test_analyze_refuses_clearly() -> None:
    out = run_gorc("analyze", "--project", ".")
    assert out.returncode == 2
    assert out.stderr.startswith("gorc: error: 'gorc analyze' needs")
    assert "Traceback" not in out.stderr
