"""Options shared by the commands that produce a report."""

from __future__ import annotations

from typing import Annotated

import typer

OUTPUT_PANEL = "Output"

Output = Annotated[
    list[str] | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FORMAT[=FILE]",
        help="Report format: text, json or sarif; '=FILE' writes to a file. Repeatable: "
        "-o text -o sarif=gorc.sarif.",
        rich_help_panel=OUTPUT_PANEL,
    ),
]

Strict = Annotated[
    bool,
    typer.Option(
        "--strict", help="Fail on warnings too, not only on errors.", rich_help_panel=OUTPUT_PANEL
    ),
]
