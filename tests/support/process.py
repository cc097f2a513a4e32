"""Start, wait for and stop the helper daemons the tests own (dockerd, registry)."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.support import InfraError

log = logging.getLogger(__name__)


def spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session with stdout and stderr going to ``log_path``."""
    log.info("starting %s", " ".join(command))
    with open(log_path, "wb") as log_file:
        return subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_until(
    process: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    what: str,
    log_path: Path,
    timeout: float = 60,
) -> None:
    """Wait until ``ready()``; fail with the log tail if the process dies or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise InfraError(f"{what} exited with code {process.returncode}:\n{log_tail(log_path)}")
        if ready():
            return
        time.sleep(0.25)
    stop(process, what)
    raise InfraError(f"{what} did not answer within {timeout:.0f}s:\n{log_tail(log_path)}")


def log_tail(path: Path, lines: int = 20) -> str:
    """Return the last ``lines`` lines of a log file, or a note that it is unreadable."""
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        return f"(cannot read {path}: {err.strerror})"
    return "\n".join(text.splitlines()[-lines:])


def stop(process: subprocess.Popen[bytes], what: str, grace: float = 30) -> None:
    """Terminate a process we started, and kill it if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("%s (pid %s) ignored SIGTERM; killing it", what, process.pid)
        process.kill()
        process.wait()


def restore_env(name: str, value: str | None) -> None:
    """Put an environment variable back as it was."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
