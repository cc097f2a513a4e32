"""Entry point of the ``gorc`` command.

Start-up matters in pipelines, so this module imports nothing heavy at load
time: ``gorc --version`` answers before typer is even imported, and each
command imports its core (docker SDK, pyelftools...) only when it runs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from gorc import __version__

#: Exit codes: 0 passed, 1 findings fail the run, 2 bad input or unusable source.
EXIT_PASSED, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2
#: What a shell reports for a program killed by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141

log = logging.getLogger("gorc")


def configure_logging(verbosity: int) -> None:
    """Send logs to stderr: warnings by default, info with -v, debug with -vv."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SafeFormatter("gorc: %(levelname)s: %(message)s"))
    root = logging.getLogger("gorc")
    root.handlers[:] = [handler]
    root.setLevel(level)


class _SafeFormatter(logging.Formatter):
    """Log lines with the terminal control characters of image content escaped."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        from gorc.report.escape import safe

        return safe(super().formatMessage(record))


def fail(message: str) -> int:
    """Print a one-line error on stderr and return the exit code for an unusable run.

    The message may quote the image (a manifest field, a path): its control
    characters are escaped so that it cannot drive the terminal.
    """
    from gorc.report.escape import safe

    first_line = " ".join(safe(message).split())
    print(f"gorc: error: {first_line}", file=sys.stderr)
    return EXIT_UNUSABLE


def main(argv: Sequence[str] | None = None) -> int:
    """Run gorc with ``argv`` (default: the process arguments); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["-V"]):
        print(f"gorc {__version__}")
        return EXIT_PASSED

    from gorc.cli.app import build_app
    from gorc.errors import GorcError

    app = build_app()
    try:
        result = app(args=args, prog_name="gorc", standalone_mode=False)
    except GorcError as err:
        return fail(str(err))
    except KeyboardInterrupt:
        return fail("interrupted")
    except BrokenPipeError:
        # The reader went away (gorc ... | head): stop quietly, as a shell tool would.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as err:  # the last guard: never a traceback
        return _unexpected(err)
    return _exit_code(result)


def _exit_code(result: object) -> int:
    """Click returns the command's return value, or an exit code on usage errors."""
    if isinstance(result, int):
        return result
    return EXIT_PASSED


def _unexpected(err: Exception) -> int:
    """An error gorc did not foresee: one line, and the traceback only at -vv."""
    import typer

    if isinstance(err, typer.Exit):
        return int(err.exit_code)
    if isinstance(err, typer.Abort):
        return fail("aborted")
    show = getattr(err, "show", None)
    if callable(show):
        # A usage error of the command line (typer ships its own click): usage and reason.
        show()
        return EXIT_UNUSABLE
    log.debug("internal error", exc_info=err)
    return fail(f"internal error: {type(err).__name__}: {err} (run with -vv for details)")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
