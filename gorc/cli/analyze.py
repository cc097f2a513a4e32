"""``gorc analyze``: the predecessor's mode, source and Dockerfile without an image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gorc.cli.options import Output, Strict
from gorc.errors import UsageError


def command(
    project: Annotated[Path, typer.Option(help="The Go project to analyse.")] = Path("."),
    dockerfile: Annotated[
        Path | None, typer.Option(help="The Dockerfile that builds the image.")
    ] = None,
    output: Output = None,
    strict: Strict = False,
) -> int:
    """Analyse Go source and a Dockerfile without an image (capabilities from base profiles)."""
    raise UsageError(
        "'gorc analyze' needs the Go source and Dockerfile analyzers, which this version "
        "does not have yet; audit the built image instead: gorc inspect IMAGE"
    )
