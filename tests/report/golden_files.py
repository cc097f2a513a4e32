"""Golden-file comparison for the reporters.

``GORC_UPDATE_GOLDEN=1 pytest tests/report`` rewrites the files under
``golden/``; otherwise a mismatch fails with a unified diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).parent / "golden"
# The version written into golden reports, so that a release does not change them.
GOLDEN_TOOL_VERSION = "0.0.0-golden"


def assert_golden(name: str, actual: str) -> None:
    """Compare ``actual`` with ``golden/<name>``, or rewrite it when asked to."""
    path = GOLDEN_DIR / name
    if os.environ.get("GORC_UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8", newline="")
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: run GORC_UPDATE_GOLDEN=1 pytest "
                    "tests/report", pytrace=False)
    with path.open(encoding="utf-8", newline="") as handle:
        expected = handle.read()
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(keepends=True),
                                    actual.splitlines(keepends=True),
                                    fromfile=f"golden/{name}", tofile="rendered")
        pytest.fail(f"report differs from golden/{name} (GORC_UPDATE_GOLDEN=1 rewrites "
                    f"it):\n{''.join(diff)}", pytrace=False)
