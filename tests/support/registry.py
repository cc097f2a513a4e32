"""A real registry (Debian's docker-registry, distribution 2.x) on 127.0.0.1.

:func:`registry_session` writes a config into a temporary directory (filesystem
storage there, a free port, optionally htpasswd auth with a bcrypt entry),
starts ``docker-registry serve CONFIG``, waits until ``/v2/`` answers, and
stops it afterwards. Images are pushed with skopeo from the engine.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support import InfraError, MissingToolError
from tests.support.engine import DockerEngine
from tests.support.process import spawn, stop, wait_until

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Registry:
    """A running registry at ``host`` (``127.0.0.1:PORT``), plain HTTP."""

    host: str
    username: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        """The registry's base url, ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}"

    def push(self, engine: DockerEngine, image: str, repo_tag: str) -> str:
        """Copy ``image`` from the engine to ``repo_tag`` here; return ``host/repo:tag``."""
        skopeo = shutil.which("skopeo")
        if skopeo is None:
            raise MissingToolError("pushing to the test registry needs skopeo")
        reference = f"{self.host}/{repo_tag}"
        command = [
            skopeo, "copy", "--quiet",
            "--src-daemon-host", engine.host,
            "--dest-tls-verify=false",
        ]  # fmt: skip
        if self.username is not None:
            command.append(f"--dest-creds={self.username}:{self.password}")
        command += [f"docker-daemon:{image}", f"docker://{reference}"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise InfraError(f"cannot push {image} to {reference}: {done.stderr.strip()}")
        return reference


def _free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    """Tell whether the registry API answers (200, or 401 when auth is on)."""
    try:
        return requests.get(f"{url}/v2/", timeout=2).status_code in (200, 401)
    except requests.RequestException:
        return False


def _config(workdir: Path, host: str, htpasswd: Path | None) -> str:
    """Return the registry's YAML config: storage in ``workdir``, listening on ``host``."""
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {workdir / 'data'}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: {host}",
    ]
    if htpasswd is not None:
        lines += ["auth:", "  htpasswd:", "    realm: gorc-test", f"    path: {htpasswd}"]
    return "\n".join(lines) + "\n"


def _write_htpasswd(path: Path, username: str, password: str) -> None:
    """Write an htpasswd file with a bcrypt entry (the only hash distribution accepts)."""
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        raise MissingToolError("the auth registry needs htpasswd (apache2-utils)")
    done = subprocess.run(
        [htpasswd, "-Bbn", username, password], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise InfraError(f"htpasswd cannot make an entry: {done.stderr.strip()}")
    path.write_text(done.stdout)


@contextmanager
def registry_session(username: str | None = None, password: str = "") -> Iterator[Registry]:
    """Run a registry for the duration of the block; with ``username``, behind htpasswd."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise MissingToolError("the test registry needs docker-registry")
    workdir = Path(tempfile.mkdtemp(prefix="gorc-registry-"))
    try:
        htpasswd = None
        if username is not None:
            htpasswd = workdir / "htpasswd"
            _write_htpasswd(htpasswd, username, password)
        host = f"127.0.0.1:{_free_port()}"
        config = workdir / "config.yml"
        config.write_text(_config(workdir, host, htpasswd))
        yield from _serve(binary, config, workdir, Registry(host, username, password or None))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _serve(binary: str, config: Path, workdir: Path, registry: Registry) -> Iterator[Registry]:
    """Start the registry, wait for ``/v2/``, yield it, and stop it."""
    log_path = workdir / "registry.log"
    process = spawn([binary, "serve", str(config)], log_path)
    try:
        wait_until(
            process, lambda: _answers(registry.url), "docker-registry", log_path, START_TIMEOUT
        )
        log.info("registry answers at %s", registry.url)
        yield registry
    finally:
        stop(process, "docker-registry")
