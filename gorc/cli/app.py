"""The typer application: one command per module, assembled here."""

from __future__ import annotations

from typing import Annotated

import typer

from gorc import __version__
from gorc.cli import analyze, explain, inspect, rules
from gorc.cli.main import configure_logging

HELP = (
    "Will this Go program really run in this container image? gorc reads the Go\n"
    "source, the Dockerfile and the real image (its files, its config and the ELF\n"
    "binaries in it) and says what will break at run time, and why."
)


def _version(value: bool) -> None:
    if value:
        print(f"gorc {__version__}")
        raise typer.Exit(0)


def _root(
    ctx: typer.Context,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More logs on stderr (-vv: debug).")
    ] = 0,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    configure_logging(verbose)


def build_app() -> typer.Typer:
    """The ``gorc`` command with its sub-commands."""
    app = typer.Typer(
        name="gorc",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    app.command("inspect")(inspect.command)
    app.command("analyze")(analyze.command)
    app.command("rules")(rules.command)
    app.command("explain")(explain.command)
    return app
