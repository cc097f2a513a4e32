"""``gorc explain ID``: why a rule breaks at run time and how to fix it."""

from __future__ import annotations

from typing import Annotated

import typer

from gorc.errors import UsageError
from gorc.rules import RULES


def command(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="A rule id, e.g. CCG201.")],
) -> int:
    """Explain one rule: what it checks, why it breaks at run time, how to fix it."""
    rule = RULES.get(rule_id.strip().upper())
    if rule is None:
        raise UsageError(f"unknown rule id {rule_id!r}; 'gorc rules' lists them")
    print(f"{rule.id}: {rule.title}")
    print(f"category: {rule.category.value}    default severity: {rule.severity.value}")
    print()
    print(rule.help)
    return 0
