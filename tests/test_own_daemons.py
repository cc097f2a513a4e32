"""The engine fixture's own-dockerd path, exercised with a fake dockerd.

Where no engine answers (as in CI), the fixture starts dockerd itself. These
tests put a small fake ``dockerd`` first on PATH, one that answers the Docker
API's ``/version`` on the socket it is given, fails, or never answers, and
check the start, the exported ``DOCKER_HOST``, the failure messages and the
clean-up, without starting a second real engine here.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support import InfraError
from tests.support import engine as engine_module
from tests.support.engine import engine_session

FAKE_DOCKERD = """\
#!{python}
import json, os, socketserver, sys, time
from http.server import BaseHTTPRequestHandler

with open(os.environ["FAKE_DOCKERD_RECORD"], "w") as record:
    json.dump({{"argv": sys.argv[1:], "pid": os.getpid()}}, record)
mode = os.environ.get("FAKE_DOCKERD_MODE", "serve")
if mode == "fail":
    print("failed to start daemon: fake failure for the test", flush=True)
    sys.exit(1)
if mode == "stall":
    print("stalling on purpose", flush=True)
    time.sleep(3600)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({{"ApiVersion": "1.41", "Version": "fake"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


socket_path = sys.argv[sys.argv.index("--host") + 1].removeprefix("unix://")
socketserver.UnixStreamServer(socket_path, Handler).serve_forever()
"""


@pytest.fixture
def fake_dockerd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a fake dockerd first on PATH, with no engine answering; return its record file."""
    if os.geteuid() != 0:
        pytest.skip("the own-dockerd path runs only as root")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dockerd"
    script.write_text(FAKE_DOCKERD.format(python=sys.executable))
    script.chmod(0o755)
    nowhere = f"unix://{tmp_path}/nothing-listens.sock"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_HOST", nowhere)
    monkeypatch.setattr(engine_module, "DEFAULT_HOST", nowhere)
    record = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_DOCKERD_RECORD", str(record))
    return record


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_starts_own_dockerd_and_cleans_up(fake_dockerd: Path) -> None:
    before = os.environ["DOCKER_HOST"]

    with engine_session() as engine:
        exported = os.environ["DOCKER_HOST"]
        version = engine.client().version()
        started = json.loads(fake_dockerd.read_text())

    workdir = Path(engine.host.removeprefix("unix://")).parent
    assert exported == engine.host != before
    assert version["Version"] == "fake"
    assert started["argv"][:2] == ["--host", engine.host]
    assert {"--iptables=false", "--ip-masq=false", "--bridge=none"} <= set(started["argv"])
    assert os.environ["DOCKER_HOST"] == before
    assert not _process_exists(started["pid"])
    assert not workdir.exists()


def test_dockerd_that_exits_is_reported_with_its_log(
    fake_dockerd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DOCKERD_MODE", "fail")

    with pytest.raises(InfraError, match="fake failure for the test"), engine_session():
        pass


def test_dockerd_that_never_answers_is_stopped(
    fake_dockerd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DOCKERD_MODE", "stall")
    monkeypatch.setattr(engine_module, "START_TIMEOUT", 2.0)

    expected = r"(?s)did not answer.*stalling on purpose"
    with pytest.raises(InfraError, match=expected), engine_session():
        pass

    assert not _process_exists(json.loads(fake_dockerd.read_text())["pid"])
