"""``gorc inspect`` end to end on the bundled sample, and on bad input.

The sample images are the README's main job: the same Go service built with
cgo (a scratch image the kernel cannot start it in) and without (it runs).
Their ground truth is checked on a real engine in tests/test_probe_matrix.py and
tests/binary/test_matrix.py; here the CLI's contract is checked.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.support import REPO_ROOT


def gorc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the gorc CLI in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "gorc", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample archives, built as scripts/demo builds them."""
    if shutil.which("go") is None or shutil.which("gcc") is None:
        unavailable("the Go toolchain and gcc are needed to build the sample")
    out = tmp_path_factory.mktemp("samples")
    script = REPO_ROOT / "sample_images" / "build.py"
    subprocess.run([sys.executable, str(script), str(out)], check=True, capture_output=True)
    return out


@pytest.mark.go
def test_broken_sample_fails_with_the_interpreter_finding(samples: Path) -> None:
    out = gorc("inspect", f"docker-archive:{samples / 'broken.tar'}", "-o", "json")
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert [f["rule_id"] for f in report["findings"]] == ["CCG201"]
    assert report["findings"][0]["location"]["path"] == "/app"
    assert report["findings"][0]["location"]["instruction"] == "COPY app /app"
    (app,) = [b for b in report["binaries"] if b["entrypoint"]]
    assert app["path"] == "/app"
    assert app["linkage"] == "dynamic"
    assert app["interpreter"] == "/lib64/ld-linux-x86-64.so.2"
    assert app["runnable"] is False
    assert app["go"]["settings"]["CGO_ENABLED"] == "1"
    assert report["summary"]["passed"] is False
    assert report["provides"]["source"] == "image"


@pytest.mark.go
def test_fixed_sample_passes(samples: Path) -> None:
    out = gorc("inspect", f"docker-archive:{samples / 'fixed.tar'}", "-o", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["findings"] == []
    assert report["binaries"][0]["runnable"] is True
    assert report["provides"]["temp_dir"] is True
    assert "nonroot" in report["provides"]["users"]


@pytest.mark.go
def test_text_and_sarif_in_one_run(samples: Path, tmp_path: Path) -> None:
    sarif = tmp_path / "gorc.sarif"
    out = gorc(
        "inspect", f"docker-archive:{samples / 'broken.tar'}", "-o", "text", "-o", f"sarif={sarif}"
    )
    assert out.returncode == 1
    assert "CCG201" in out.stdout
    assert "FAILED" in out.stdout
    log = json.loads(sarif.read_text())
    assert log["version"] == "2.1.0"
    assert log["runs"][0]["results"][0]["ruleId"] == "CCG201"


@pytest.mark.go
def test_strict_does_not_change_a_clean_pass(samples: Path) -> None:
    out = gorc("inspect", f"docker-archive:{samples / 'fixed.tar'}", "--strict")
    assert out.returncode == 0
    assert "PASSED" in out.stdout


@pytest.mark.go
def test_reading_an_archive_never_imports_the_docker_sdk(samples: Path) -> None:
    code = (
        "import sys\n"
        "from gorc.cli.main import main\n"
        f"rc = main(['inspect', 'docker-archive:{samples / 'fixed.tar'}', '-o', 'json'])\n"
        "print('DOCKER-LOADED' if 'docker' in sys.modules else 'DOCKER-ABSENT', rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "DOCKER-ABSENT 0"


@pytest.mark.go
def test_source_option_is_recorded_as_unknown(samples: Path, tmp_path: Path) -> None:
    out = gorc(
        "inspect", f"docker-archive:{samples / 'fixed.tar'}", "--source", str(tmp_path),
        "-o", "json",
    )
    assert out.returncode == 0
    unknowns = json.loads(out.stdout)["unknowns"]
    assert any(u["what"].startswith("--source") for u in unknowns)
    assert "does not analyse it yet" in out.stderr


def _truncated(tmp_path: Path, samples: Path) -> str:
    data = (samples / "broken.tar").read_bytes()
    path = tmp_path / "truncated.tar"
    path.write_bytes(data[: len(data) // 2])
    return f"docker-archive:{path}"


def _gzip_garbage(tmp_path: Path, samples: Path) -> str:
    path = tmp_path / "garbage.tar.gz"
    path.write_bytes(gzip.compress(b"not a tar at all" * 100)[:-10])
    return f"docker-archive:{path}"


def _not_a_tar(tmp_path: Path, samples: Path) -> str:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    return f"oci-archive:{path}"


@pytest.mark.go
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp, s: f"docker-archive:{tmp / 'absent.tar'}", "no such file"),
        (lambda tmp, s: f"dir:{tmp / 'absent'}", "not a directory"),
        (lambda tmp, s: f"oci-dir:{tmp}", "oci"),
        (lambda tmp, s: "UPPER/case:tag", "invalid"),
        (_truncated, "docker-archive"),
        (_gzip_garbage, "docker-archive"),
        (_not_a_tar, "oci-archive"),
    ],
    ids=["missing-archive", "missing-dir", "empty-oci-dir", "bad-reference", "truncated",
         "bad-gzip", "not-a-tar"],
)
def test_bad_input_is_one_line_exit_2(
    samples: Path, tmp_path: Path, make: Callable[[Path, Path], str], expected: str
) -> None:
    out = gorc("inspect", make(tmp_path, samples), "-o", "json")
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("gorc: error: ")
    assert expected in out.stderr.lower()
    assert "Traceback" not in out.stderr
