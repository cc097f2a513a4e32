"""CCG214: the config's USER must resolve in the image, or the runtime will not start it.

Ground truth from the engine: each image is run, and gorc's finding must appear
exactly when the runtime refuses with "unable to find user/group".
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gorc.image.fs import MemoryFileSystem
from gorc.image.inventory import collect_inventory
from gorc.image.open import open_image
from gorc.model import ImageSummary
from gorc.reconcile import reconcile_user
from tests.support.engine import DockerEngine
from tests.support.probes import ProbeBuilder

PASSWD = b"root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000::/home/app:/sbin/nologin\n"
GROUP = b"root:x:0:\napp:x:1000:\n"

# USER value, whether the image has passwd/group, whether the runtime starts it.
CASES = [
    ("app", True, True),
    ("app:app", True, True),
    ("1000:1000", False, True),
    ("65532", False, True),
    ("nobody", True, False),
    ("app:staff", True, False),
    ("1000:staff", True, False),
    ("app", False, False),
]


def _inventory_ids(user: str, with_files: bool) -> list[str]:
    fs = MemoryFileSystem()
    if with_files:
        fs.add("/etc/passwd", PASSWD)
        fs.add("/etc/group", GROUP)
    summary = ImageSummary("img", user=user)
    return [f.rule_id for f in reconcile_user(collect_inventory(fs, summary), summary)]


@pytest.mark.parametrize(("user", "with_files", "starts"), CASES)
def test_user_check(user: str, with_files: bool, starts: bool) -> None:
    assert _inventory_ids(user, with_files) == ([] if starts else ["CCG214"])


def test_message_names_the_missing_group() -> None:
    fs = MemoryFileSystem()
    fs.add("/etc/passwd", PASSWD)
    fs.add("/etc/group", GROUP)
    summary = ImageSummary("img", user="app:staff")
    (found,) = reconcile_user(collect_inventory(fs, summary), summary)
    assert "no group 'staff'" in found.message
    assert "unable to find group staff" in found.message


@pytest.mark.engine
@pytest.mark.go
@pytest.mark.parametrize(("user", "with_files", "starts"), CASES)
def test_user_check_agrees_with_the_engine(
    engine: DockerEngine, probes: ProbeBuilder, tmp_path: Path,
    user: str, with_files: bool, starts: bool,
) -> None:
    shutil.copy(probes.build("hello", "static"), tmp_path / "app")
    lines = ["FROM scratch", "COPY app /app"]
    if with_files:
        (tmp_path / "passwd").write_bytes(PASSWD)
        (tmp_path / "group").write_bytes(GROUP)
        lines += ["COPY passwd /etc/passwd", "COPY group /etc/group"]
    lines += [f"USER {user}", 'ENTRYPOINT ["/app"]']
    (tmp_path / "Dockerfile").write_text("\n".join(lines) + "\n")
    tag = f"gorc-test/user:{user.replace(':', '-')}-{int(with_files)}"
    engine.build(tmp_path, tag)

    result = engine.run(tag)

    refused = "unable to find" in result.output
    assert refused == (not starts), result.output
    if starts:
        assert "hello" in result.output
    with open_image(f"docker:{tag}") as image:
        inventory = collect_inventory(image.fs, image.summary)
        found = [f.rule_id for f in reconcile_user(inventory, image.summary)]
    assert found == ([] if starts else ["CCG214"])
