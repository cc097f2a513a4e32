"""``gorc rules``: list every rule gorc can emit."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from typing import Annotated

import typer

from gorc.rules import RULES


class RulesFormat(StrEnum):
    """Formats of the rule list."""

    TEXT = "text"
    JSON = "json"


def command(
    output: Annotated[
        RulesFormat, typer.Option("--output", "-o", help="text or json.")
    ] = RulesFormat.TEXT,
) -> int:
    """List every rule with its id, category, default severity and title."""
    if output is RulesFormat.JSON:
        print(json.dumps([_rule_json(rule_id) for rule_id in RULES], indent=2))
        return 0
    _print_table()
    return 0


def _rule_json(rule_id: str) -> dict[str, str]:
    rule = RULES[rule_id]
    return {
        "id": rule.id,
        "category": rule.category.value,
        "severity": rule.severity.value,
        "title": rule.title,
        "help": rule.help,
    }


def _print_table() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("id", "category", "severity", "title"):
        table.add_column(column)
    for rule in RULES.values():
        table.add_row(rule.id, rule.category.value, rule.severity.value, rule.title)
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    # Not a terminal: no colour and no wrapping, so that logs and greps see whole rows.
    width = None if color else 120
    Console(no_color=not color, highlight=False, width=width).print(table)
    print("\nRun 'gorc explain ID' for why a rule breaks at run time and how to fix it.")
