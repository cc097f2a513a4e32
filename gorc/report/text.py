"""The human report: what was analysed, findings by category, binaries, verdict.

Rendered with rich into a string at a fixed width, so the same result gives
the same text whatever the terminal is; without colour there are no terminal
control codes at all and the framing is plain ASCII, for CI logs. Messages are
rich ``Text``, never markup, so brackets in a message are printed as they are.
"""

from __future__ import annotations

import json
from io import StringIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gorc.model import (
    BinaryReport,
    Category,
    Finding,
    ImageSummary,
    ProvidesSource,
    Result,
    Severity,
)
from gorc.report.base import (
    describe_location,
    sorted_binaries,
    sorted_findings,
    sorted_unknowns,
)
from gorc.report.escape import safe

DEFAULT_WIDTH = 100

CATEGORY_TITLES: dict[Category, str] = {
    Category.EXEC_COMMAND: "Programs executed",
    Category.CGO: "cgo",
    Category.DYNAMIC_LINKING: "Dynamic linking",
    Category.DOCKERFILE: "Dockerfile",
    Category.BASE_IMAGE: "Base image",
    Category.MULTI_STAGE: "Multi-stage build",
    Category.CORRELATION: "Needs against capabilities",
    Category.RUNTIME_FILES: "Run-time files",
    Category.IMAGE: "Image",
    Category.BINARY: "Binaries",
}

_SEVERITY_LABELS = {Severity.ERROR: "x ERROR", Severity.WARNING: "! WARNING",
                    Severity.INFO: "i INFO"}
_SEVERITY_STYLES = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow",
                    Severity.INFO: "cyan"}
_CATEGORY_ORDER = {category: index for index, category in enumerate(Category)}

class TextReporter:
    """Renders a result for people: a terminal or a CI log."""

    def __init__(self, *, color: bool = False, width: int = DEFAULT_WIDTH,
                 dockerfile: str | None = None) -> None:
        self._color = color
        self._width = width
        self._dockerfile = dockerfile

    def render(self, result: Result) -> str:
        """The text report for ``result``, ending with a newline."""
        buffer = StringIO()
        console = Console(
            file=buffer, force_terminal=self._color, no_color=not self._color,
            color_system="standard" if self._color else None, width=self._width,
            highlight=False, emoji=False, markup=False, legacy_windows=False,
        )
        for block in _blocks(result, self._dockerfile):
            console.print(block)
            console.print()
        lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
        return "\n".join(lines).rstrip("\n") + "\n"


def _blocks(result: Result, dockerfile: str | None) -> list[RenderableType]:
    blocks: list[RenderableType] = [_header(result, dockerfile)]
    blocks.extend(_finding_groups(result.findings))
    if result.binaries:
        blocks.append(_binaries_table(result.binaries))
    if result.unknowns:
        blocks.append(_unknowns(result))
    blocks.append(_summary(result))
    return blocks


def _header(result: Result, dockerfile: str | None) -> RenderableType:
    if result.image is None:
        title = Text.assemble(("gorc", "bold"), ": source and Dockerfile analysis (no image)")
        rows = []
    else:
        title = Text.assemble(("gorc", "bold"), ": image audit")
        rows = _image_rows(result.image)
    if dockerfile:
        rows.append(("  dockerfile", dockerfile))
    if result.provides is not None and result.provides.source is ProvidesSource.PROFILE:
        rows.append(("  capabilities", "from the base image's profile"))
    if not rows:
        return title

    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(label, safe(value, one_line=True))
    return Group(title, grid)


def _exec_form(args: tuple[str, ...] | None) -> str:
    return "(none)" if args is None else json.dumps(list(args), ensure_ascii=False)


def _image_rows(image: ImageSummary) -> list[tuple[str, str]]:
    platform = "/".join(p for p in (image.os, image.architecture, image.variant) if p)
    return [
        ("  image", image.reference),
        ("  digest", image.digest or "(unknown)"),
        ("  platform", platform or "(unknown)"),
        ("  entrypoint", _exec_form(image.entrypoint)),
        ("  cmd", _exec_form(image.cmd)),
        ("  user", image.user or "(root)"),
    ]


def _finding_groups(findings: tuple[Finding, ...]) -> list[RenderableType]:
    if not findings:
        return [Text("No findings.")]
    groups: dict[Category, list[Finding]] = {}
    for finding in sorted_findings(findings):
        groups.setdefault(finding.category, []).append(finding)

    # The most severe group comes first: a reader of a CI log sees errors at once.
    ordered = sorted(groups.items(), key=lambda item: (
        min(f.severity.rank for f in item[1]), _CATEGORY_ORDER[item[0]]))
    return [_finding_group(category, group) for category, group in ordered]


def _finding_group(category: Category, findings: list[Finding]) -> RenderableType:
    title = Text(f"{CATEGORY_TITLES.get(category, category.value)} ({len(findings)})",
                 style="bold")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, min_width=10)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for finding in findings:
        grid.add_row(Text(_SEVERITY_LABELS[finding.severity],
                          style=_SEVERITY_STYLES[finding.severity]),
                     Text(safe(finding.rule_id), style="bold"), _finding_body(finding))
    return Group(title, grid)


def _finding_body(finding: Finding) -> Text:
    # a message quotes image paths, which may hold a newline: keep each on one line
    body = Text(safe(finding.message, one_line=True))
    where = describe_location(finding.location)
    if where:
        body.append("\nat ", style="dim").append(safe(where, one_line=True), style="dim")
    if finding.suggestion:
        body.append("\nfix: ", style="green").append(safe(finding.suggestion, one_line=True))
    return body


def _yes_no(value: bool | None) -> Text:
    if value is None:
        return Text("unknown", style="yellow")
    return Text("yes", style="green") if value else Text("NO", style="bold red")


def _binaries_table(binaries: tuple[BinaryReport, ...]) -> RenderableType:
    table = Table(title="Binaries", title_justify="left", box=box.ASCII2,
                  title_style="bold", show_edge=False)
    for name in ("path", "arch", "linkage", "go", "runnable", "problems"):
        table.add_column(name, overflow="fold", no_wrap=name != "path")
    for binary in sorted_binaries(binaries):
        path = binary.path + (" (entrypoint)" if binary.entrypoint else "")
        linkage = binary.linkage.value if binary.linkage else binary.format.value
        table.add_row(safe(path, one_line=True), safe(binary.arch or "?", one_line=True), linkage,
                      safe(binary.go.go_version) if binary.go else "-",
                      _yes_no(binary.runnable), ", ".join(sorted(binary.problems)) or "-")
    return table


def _unknowns(result: Result) -> RenderableType:
    title = Text(f"Not analysed ({len(result.unknowns)})", style="bold")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for unknown in sorted_unknowns(result.unknowns):
        body = Text(safe(f"{unknown.what}: {unknown.reason}", one_line=True))
        where = describe_location(unknown.location)
        if where:
            body.append("\nat " + safe(where, one_line=True), style="dim")
        grid.add_row("-", body)
    return Group(title, grid)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 or word == "info" else f"{count} {word}s"


def _summary(result: Result) -> RenderableType:
    counts = ", ".join(_plural(result.count(s), s.value) for s in Severity)
    line = Text.assemble(("Summary: ", "bold"), _plural(len(result.findings), "finding"),
                         f" ({counts})")
    if result.unknowns:
        line.append(f", {len(result.unknowns)} not analysed")

    # The verdict is the last line, where a reader of a CI log looks first.
    status = Text("PASSED", style="bold green") if result.passed else Text(
        "FAILED", style="bold red")
    if result.strict:
        status.append(" (strict: warnings fail the run)")
    return Group(line, Text.assemble(("Result: ", "bold"), status))
