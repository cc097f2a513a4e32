"""Progress of an engine pull on stderr: one bar per layer, from the pull's JSON stream."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)

from gorc.errors import ImageSourceError
from gorc.image.sources.engine_build import engine_error


def follow_pull(events: Iterable[Mapping[str, Any]], what: str) -> None:
    """Consume a pull stream, drawing per-layer byte bars on stderr when it is a terminal.

    Raises ImageSourceError with the engine's message when the stream reports an error.
    """
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True,
                  disable=not console.is_terminal) as progress:
        tasks: dict[str, TaskID] = {}
        for event in events:
            message = engine_error(event)
            if message is not None:
                raise ImageSourceError(f"cannot pull {what}: {message}")
            _advance(progress, tasks, event)


def _advance(progress: Progress, tasks: dict[str, TaskID], event: Mapping[str, Any]) -> None:
    layer, status = event.get("id"), event.get("status", "")
    if not isinstance(layer, str) or not isinstance(status, str):
        return
    if layer not in tasks:
        tasks[layer] = progress.add_task(f"{layer} {status}", total=None)
    task = tasks[layer]
    detail = event.get("progressDetail")
    if status == "Downloading" and isinstance(detail, Mapping):
        current, total = detail.get("current"), detail.get("total")
        if isinstance(current, int):
            progress.update(task, completed=current,
                            total=total if isinstance(total, int) else None)
    progress.update(task, description=f"{layer} {status}")
    if status in ("Pull complete", "Already exists"):
        progress.update(task, completed=1, total=1)
