"""The run of one command: open the witnesses, collect facts, reconcile, return a Result.

The CLI builds a request and calls :func:`inspect_image`; nothing here prints.
Heavy modules (image sources, ELF reading) are imported inside the functions so
that ``gorc rules`` and ``gorc --version`` stay fast.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gorc.image.fs import FileSystem
from gorc.model import BinaryFormat, BinaryReport, Need, Result, SourceLocation, Unknown
from gorc.provenance import attach_instructions

if TYPE_CHECKING:
    from gorc.image.open import BuildRequest, Image

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InspectRequest:
    """What ``gorc inspect`` was asked to do."""

    reference: str
    platform: str | None = None
    source: Path | None = None
    dockerfile: Path | None = None
    build: BuildRequest | None = None
    insecure_registries: tuple[str, ...] = ()
    cache_dir: Path | None = None
    strict: bool = False


def inspect_image(request: InspectRequest) -> Result:
    """Open the image, read its inventory and binaries, and judge what will run."""
    from gorc.image.open import open_image
    from gorc.image.platform import parse_platform

    platform = parse_platform(request.platform) if request.platform else None
    with open_image(
        request.reference,
        platform=platform,
        cache_dir=request.cache_dir,
        insecure_registries=request.insecure_registries,
        build=request.build,
    ) as image:
        result = _audit(image)
    return replace(
        result,
        unknowns=(*_witnesses_not_read(request), *result.unknowns),
        strict=request.strict,
    )


def _audit(image: Image) -> Result:
    """Every fact and finding about one opened image."""
    from gorc.binary.verdict import judge_image
    from gorc.image.inventory import collect_inventory
    from gorc.reconcile import reconcile, reconcile_user

    name = image.summary.reference
    inventory = collect_inventory(image.fs, image.summary)
    verdict = judge_image(image.fs, image.summary, name)
    needs, need_unknowns = _binary_needs(image.fs, verdict.binaries, name)
    provides = inventory.provides()
    reconciled = (
        *reconcile_user(inventory, image.summary),
        *reconcile(needs, provides, inventory, image.summary, verdict.binaries),
    )
    return Result(
        findings=attach_instructions((*verdict.findings, *reconciled), image.layer_commands),
        image=image.summary,
        binaries=verdict.binaries,
        needs=needs,
        provides=provides,
        unknowns=(*inventory.unknowns, *verdict.unknowns, *need_unknowns),
    )


def _binary_needs(fs: FileSystem, binaries: Sequence[BinaryReport],
                  image_name: str) -> tuple[tuple[Need, ...], tuple[Unknown, ...]]:
    """Needs of every Go ELF program judged (entrypoint programs and the image's Go binaries).

    Their build info was read by the verdict; only the ELF headers and the pclntab
    name table are read again (bounded).
    """
    from gorc.binary.needs import read_binary_needs

    needs: list[Need] = []
    unknowns: list[Unknown] = []
    for report in binaries:
        if report.format is not BinaryFormat.ELF or report.go is None:
            continue
        found = read_binary_needs(fs, report.path, image_name, report.go)
        needs.extend(found.needs)
        unknowns.extend(found.unknowns)
    return tuple(dict.fromkeys(needs)), tuple(unknowns)


def _witnesses_not_read(request: InspectRequest) -> tuple[Unknown, ...]:
    """Source and Dockerfile analysis are not built yet: say so rather than pretend."""
    unknowns = []
    for option, path in (("--source", request.source), ("--dockerfile", request.dockerfile)):
        if path is None:
            continue
        log.warning("%s %s: this version of gorc does not analyse it yet", option, path)
        unknowns.append(
            Unknown(
                what=f"{option} {path}",
                reason="source and Dockerfile analysis are not available in this version",
                location=SourceLocation(str(path)),
            )
        )
    return tuple(unknowns)
