"""A real Docker engine for integration tests.

:func:`engine_session` uses the engine that ``$DOCKER_HOST`` (or the default
socket) points at when it answers, and never stops it. Otherwise it starts
Debian's ``dockerd`` in a temporary directory, exports ``DOCKER_HOST`` for the
session, and stops only that daemon afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from tests.support import InfraError
from tests.support.process import restore_env, spawn, stop, wait_until

log = logging.getLogger(__name__)

DEFAULT_HOST = "unix:///var/run/docker.sock"
START_TIMEOUT = 60.0

# Exit codes the docker CLI gives when the runtime cannot start the container
# (docker/cli, cli/command/container/run.go): 127 for a missing file, 126 for a
# permission problem, 125 for any other daemon error.
EXIT_NOT_FOUND = 127
EXIT_CANNOT_INVOKE = 126
EXIT_DAEMON_ERROR = 125
# What `timeout(1)` reports for a command it had to kill.
EXIT_TIMED_OUT = 124


@dataclass(frozen=True)
class RunResult:
    """What a container printed (stdout and stderr together) and how it exited."""

    exit_code: int
    output: str


class DockerEngine:
    """A Docker engine reachable at :attr:`host`, driven through the docker SDK."""

    def __init__(self, host: str) -> None:
        self._host = host
        self._client: docker.DockerClient | None = None

    @property
    def host(self) -> str:
        """The ``DOCKER_HOST`` url of this engine."""
        return self._host

    def client(self) -> docker.DockerClient:
        """Return a docker SDK client for this engine (one per engine)."""
        if self._client is None:
            self._client = docker.DockerClient(base_url=self._host, timeout=300)
        return self._client

    def build(self, context: Path, tag: str, dockerfile: str = "Dockerfile") -> str:
        """Build ``context`` with the classic builder, tag it, and return the image id."""
        try:
            image, _ = self.client().images.build(
                path=str(context), tag=tag, dockerfile=dockerfile, rm=True, forcerm=True
            )
        except docker.errors.BuildError as err:
            tail = "".join(str(line.get("stream", line)) for line in list(err.build_log)[-15:])
            raise InfraError(f"cannot build {tag} from {context}: {err.msg}\n{tail}") from err
        except docker.errors.APIError as err:
            raise InfraError(f"cannot build {tag} from {context}: {err.explanation}") from err
        return str(image.id)

    def run(
        self,
        image: str,
        command: list[str] | None = None,
        entrypoint: list[str] | None = None,
        timeout: float = 60,
    ) -> RunResult:
        """Run ``image`` without network, wait for it, and return its output and exit code.

        A container the runtime cannot start gives the runtime's error text as
        output with the exit code the docker CLI would give (125-127).
        """
        try:
            container = self.client().containers.create(
                image, command=command, entrypoint=entrypoint, network_mode="none"
            )
        except docker.errors.APIError as err:
            raise InfraError(f"cannot create a container of {image}: {err.explanation}") from err
        try:
            return _start_and_wait(container, timeout)
        finally:
            container.remove(force=True)

    def save(self, image: str, path: Path) -> Path:
        """Write ``image`` as a docker-archive tar (``docker save``) to ``path``."""
        try:
            chunks = self.client().images.get(image).save(named=True)
            with open(path, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
        except docker.errors.APIError as err:
            raise InfraError(f"cannot save {image} to {path}: {err.explanation}") from err
        return path


def _start_and_wait(container: Any, timeout: float) -> RunResult:
    """Start ``container`` and collect its result, mapping start failures to exit codes."""
    try:
        container.start()
    except docker.errors.APIError as err:
        text = str(err.explanation or err)
        return RunResult(_start_error_code(text), text)
    try:
        status = container.wait(timeout=timeout)
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        with contextlib.suppress(docker.errors.APIError):
            container.kill()  # it may have exited between the timeout and now
        output = container.logs(stdout=True, stderr=True).decode(errors="replace")
        return RunResult(EXIT_TIMED_OUT, output + f"\n[timed out after {timeout}s]")
    output = container.logs(stdout=True, stderr=True).decode(errors="replace")
    return RunResult(int(status.get("StatusCode", EXIT_DAEMON_ERROR)), output)


def _start_error_code(text: str) -> int:
    """Map the runtime's start error to the exit code ``docker run`` gives for it."""
    if "executable file not found" in text or "no such file or directory" in text:
        return EXIT_NOT_FOUND
    if "permission denied" in text or "is a directory" in text:
        return EXIT_CANNOT_INVOKE
    return EXIT_DAEMON_ERROR


def engine_answers(host: str) -> bool:
    """Tell whether a Docker engine answers at ``host``."""
    try:
        client = docker.DockerClient(base_url=host, timeout=5)
        try:
            client.version()
        finally:
            client.close()
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return False
    return True


@contextmanager
def engine_session() -> Iterator[DockerEngine]:
    """Yield a working engine, with ``DOCKER_HOST`` exported for the session.

    The existing engine is used when it answers; otherwise a dockerd of our own.
    """
    previous = os.environ.get("DOCKER_HOST")
    try:
        with _engine_host() as host:
            os.environ["DOCKER_HOST"] = host
            yield DockerEngine(host)
    finally:
        restore_env("DOCKER_HOST", previous)


@contextmanager
def _engine_host() -> Iterator[str]:
    """Yield the address of an engine that answers, starting one if none does."""
    for host in _candidate_hosts():
        if engine_answers(host):
            log.info("using the Docker engine at %s", host)
            yield host
            return
    with _own_dockerd() as host:
        yield host


def _candidate_hosts() -> list[str]:
    """Return the engine addresses to try, ``$DOCKER_HOST`` first."""
    hosts = [os.environ["DOCKER_HOST"]] if os.environ.get("DOCKER_HOST") else []
    return [*hosts, DEFAULT_HOST]


@contextmanager
def _own_dockerd() -> Iterator[str]:
    """Start Debian's dockerd in a temporary directory; stop and clean it afterwards."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise InfraError("no Docker engine answers and dockerd is not installed (docker.io)")
    if os.geteuid() != 0:
        raise InfraError("no Docker engine answers and starting dockerd needs root")
    workdir = Path(tempfile.mkdtemp(prefix="gorc-dockerd-"))
    host = f"unix://{workdir}/docker.sock"
    log_path = workdir / "dockerd.log"
    process = spawn(_dockerd_command(dockerd, workdir, host), log_path)
    try:
        wait_until(process, lambda: engine_answers(host), "dockerd", log_path, START_TIMEOUT)
        yield host
    finally:
        stop(process, "dockerd")
        shutil.rmtree(workdir, ignore_errors=True)


def _dockerd_command(dockerd: str, workdir: Path, host: str) -> list[str]:
    """Return the dockerd command line with its state under ``workdir`` and no network set-up."""
    return [
        dockerd,
        "--host", host,
        "--data-root", str(workdir / "data"),
        "--exec-root", str(workdir / "exec"),
        "--pidfile", str(workdir / "docker.pid"),
        "--iptables=false", "--ip-masq=false", "--bridge=none",
    ]  # fmt: skip
