"""``gorc inspect IMAGE``: audit a real image, optionally with its source and Dockerfile."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gorc.cli.options import Output, Strict
from gorc.errors import UsageError

if TYPE_CHECKING:
    from gorc.report import OutputSpec

IMAGE_PANEL = "Image"
WITNESS_PANEL = "Source and Dockerfile"

ImageArg = Annotated[
    str,
    typer.Argument(
        metavar="IMAGE",
        help="docker:NAME, docker-archive:PATH, oci-archive:PATH, oci-dir:PATH, "
        "registry:NAME, dir:PATH, or NAME[:TAG|@DIGEST] (engine first, then registry).",
    ),
]
SourceOpt = Annotated[
    Path | None,
    typer.Option(help="The Go project the image runs.", rich_help_panel=WITNESS_PANEL),
]
DockerfileOpt = Annotated[
    Path | None,
    typer.Option(help="The Dockerfile the image was built from.", rich_help_panel=WITNESS_PANEL),
]
PlatformOpt = Annotated[
    str | None,
    typer.Option(
        metavar="OS/ARCH[/VARIANT]",
        help="Pick this platform from a multi-platform image.",
        rich_help_panel=IMAGE_PANEL,
    ),
]
BuildOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR",
        help="Build the image from this context first (with --dockerfile).",
        rich_help_panel=IMAGE_PANEL,
    ),
]
BuildArgOpt = Annotated[
    list[str] | None,
    typer.Option(metavar="K=V", help="Build argument for --build.", rich_help_panel=IMAGE_PANEL),
]
InsecureOpt = Annotated[
    list[str] | None,
    typer.Option(
        metavar="HOST[:PORT]", help="Reach this registry over plain http.",
        rich_help_panel=IMAGE_PANEL,
    ),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        envvar="GORC_CACHE_DIR",
        help="Layer cache (default: the user cache dir).",
        rich_help_panel=IMAGE_PANEL,
    ),
]


def command(
    image: ImageArg,
    source: SourceOpt = None,
    dockerfile: DockerfileOpt = None,
    platform: PlatformOpt = None,
    build: BuildOpt = None,
    build_arg: BuildArgOpt = None,
    insecure_registry: InsecureOpt = None,
    cache_dir: CacheDirOpt = None,
    output: Output = None,
    strict: Strict = False,
) -> int:
    """Audit a container image: will its Go programs start there, and what is missing."""
    from gorc.cli.render import render
    from gorc.image.sources.engine_build import BuildRequest
    from gorc.pipeline import InspectRequest, inspect_image

    specs = _parse_outputs(output)
    build_request = None
    if build is not None:
        dockerfile_name = str(dockerfile) if dockerfile else None
        build_request = BuildRequest(build, dockerfile_name, _parse_build_args(build_arg or []))
    request = InspectRequest(
        reference=image,
        platform=platform,
        source=_existing_dir(source, "--source"),
        # with --build the Dockerfile is named inside the context, the engine checks it
        dockerfile=dockerfile if build is not None else _existing_file(dockerfile),
        build=build_request,
        insecure_registries=tuple(insecure_registry or ()),
        cache_dir=cache_dir,
        strict=strict,
    )
    return render(inspect_image(request), specs, sys.stdout, dockerfile)


def _parse_outputs(output: list[str] | None) -> list[OutputSpec]:
    from gorc.report.output import parse_output_spec

    return [parse_output_spec(text) for text in (output or ["text"])]


def _parse_build_args(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--build-arg {pair!r}: expected KEY=VALUE")
        parsed[key] = value
    return parsed


def _existing_dir(path: Path | None, option: str) -> Path | None:
    if path is not None and not path.is_dir():
        raise UsageError(f"{option} {path}: not a directory")
    return path


def _existing_file(path: Path | None) -> Path | None:
    if path is not None and not path.is_file():
        raise UsageError(f"--dockerfile {path}: not a file")
    return path
