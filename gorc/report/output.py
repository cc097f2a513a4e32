"""Where reports go: ``-o FORMAT[=FILE]`` parsing, colour choice, atomic writes.

Like syft and hadolint, ``-o`` may be given several times; each report goes to
its file or, without ``=FILE`` (or with ``=-``), to stdout in the given order.
A file is written to a temporary name beside it and renamed, so a reader never
sees half a report; its directory must already exist.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from gorc.errors import UsageError
from gorc.model import Result
from gorc.report.base import OutputFormat, OutputSpec, Reporter

log = logging.getLogger(__name__)

FORMATS = ", ".join(f.value for f in OutputFormat)
STDOUT_PATH = "-"


def parse_output_spec(text: str) -> OutputSpec:
    """``json``, ``sarif=gorc.sarif`` or ``text=-`` as an :class:`OutputSpec`."""
    name, sep, destination = text.partition("=")
    name = name.strip().lower()
    try:
        fmt = OutputFormat(name)
    except ValueError:
        raise UsageError(
            f"unknown output format {name!r} in '-o {text}': choose one of {FORMATS}"
        ) from None
    if not sep or destination == STDOUT_PATH:
        return OutputSpec(fmt, None)
    if not destination.strip():
        raise UsageError(f"no file after '=' in '-o {text}': give FORMAT=FILE or FORMAT")
    return OutputSpec(fmt, Path(destination))


def get_reporter(fmt: OutputFormat, *, color: bool = False,
                 dockerfile: str | None = None) -> Reporter:
    """The reporter for a format; only text uses ``color``.

    ``dockerfile`` is the repository-relative Dockerfile the run analysed, if
    any: the text header names it and SARIF anchors the results that have no
    file place there. Reporter
    modules are imported here so that a JSON run never imports rich.
    """
    if fmt is OutputFormat.TEXT:
        from gorc.report.text import TextReporter

        return TextReporter(color=color, dockerfile=dockerfile)
    if fmt is OutputFormat.JSON:
        from gorc.report.json_report import JsonReporter

        return JsonReporter()
    from gorc.report.sarif import SarifReporter

    return SarifReporter(dockerfile=dockerfile)


def color_wanted(stream: TextIO) -> bool:
    """Whether text written to ``stream`` should be coloured.

    NO_COLOR (no-color.org: present and not empty, whatever its value) always
    wins; then FORCE_COLOR (force-color.org: present and not empty; "0" is read
    as "do not force", as most tools do); then TERM=dumb; then the stream must
    be a terminal.
    """
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        # A closed or replaced stream (pytest's capture, a pipe wrapper) is no terminal.
        return False


def write_reports(result: Result, specs: Sequence[OutputSpec], *, stdout: TextIO,
                  dockerfile: str | None = None) -> None:
    """Render and write every requested report, files atomically, the rest to stdout.

    Every destination is checked before anything is written, so a bad path does
    not leave some reports written and others not. ``dockerfile`` is passed to
    :func:`get_reporter`.
    """
    _check_destinations(specs)
    for spec in specs:
        color = spec.path is None and spec.format is OutputFormat.TEXT and color_wanted(stdout)
        reporter = get_reporter(spec.format, color=color, dockerfile=dockerfile)
        document = reporter.render(result)
        if spec.path is None:
            write_stream(stdout, document)
        else:
            write_atomically(spec.path, document)
            log.info("wrote %s report to %s", spec.format.value, spec.path)


def write_stream(stream: TextIO, text: str) -> None:
    """Write to a stream whose encoding may not hold every character of the report.

    A stdout in the C locale (or a Windows code page) cannot encode the unicode a
    message may carry; such characters become '?' rather than a crash.
    """
    if stream is None:  # started with stdout closed (gorc ... >&-)
        raise UsageError("cannot write report to stdout: it is closed")
    try:
        try:
            stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(stream, "encoding", None) or "utf-8"
            stream.write(text.encode(encoding, "replace").decode(encoding))
        stream.flush()
    except BrokenPipeError:
        raise  # the reader went away: the CLI stops quietly
    except OSError as err:
        raise UsageError(f"cannot write report to stdout: {err.strerror or err}") from err


def _check_destinations(specs: Sequence[OutputSpec]) -> None:
    seen: set[Path] = set()
    for spec in specs:
        if spec.path is None:
            continue
        target = spec.path.absolute()
        if target in seen:
            raise UsageError(f"cannot write two reports to the same file {spec.path}")
        seen.add(target)
        if target.is_dir():
            raise UsageError(f"cannot write report to {spec.path}: it is a directory")
        if not target.parent.is_dir():
            raise UsageError(f"cannot write report to {spec.path}: directory "
                             f"{target.parent} does not exist")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    The temporary file is created with mode 0666 less the umask, as ``open``
    would, so the report gets the permissions a plain write would give it. A
    path that is not a regular file (``/dev/stdout``, a FIFO) is written in place.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None  # absent (or unreadable: the write below says why)
    if mode is not None and not stat.S_ISREG(mode):
        # a device, a FIFO or /dev/stdout: a rename would replace the node itself
        _write_in_place(path, text)
        return
    # through a symlink, the file it names is replaced, and the link kept
    path = Path(os.path.realpath(path)) if mode is not None else path
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        # An image path read from a tar may hold undecodable bytes (kept as lone
        # surrogates); "\udcff" is also JSON's own escape for them, so a JSON or
        # SARIF report stays valid where a strict encoder would stop the run.
        with os.fdopen(descriptor, "w", encoding="utf-8", errors="backslashreplace",
                       newline="\n") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write report to {path}: {err.strerror or err}") from err


def _write_in_place(path: Path, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8", errors="backslashreplace",
                  newline="\n") as handle:
            handle.write(text)
    except OSError as err:
        raise UsageError(f"cannot write report to {path}: {err.strerror or err}") from err
