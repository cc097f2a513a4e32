"""The same root read as a directory and as a real image yields the same inventory.

Each root is built into an image on the engine, then read back through the
engine source and a ``docker save`` archive (layers squashed by gorc). A root
whose applets are hard links of busybox (the official busybox image's layout)
checks that hard links survive the image round trip as busybox applets.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gorc.image.fs import DirFileSystem
from gorc.image.inventory import ShellKind, collect_inventory
from gorc.image.open import open_image
from tests.support import cache_dir, hash_inputs, locked
from tests.support.engine import DockerEngine
from tests.support.roots import RootBuilder, image_from_root

pytestmark = [pytest.mark.engine, pytest.mark.slow]

HARDLINKED = ("sh", "ls", "cat", "wget")


def _hardlink_root(roots: RootBuilder) -> Path:
    """busybox-static with applets as hard links, as in the official busybox image."""
    donor = roots.build("musl-busybox") / "bin/busybox"
    key = hash_inputs([donor.read_bytes()])
    root = cache_dir() / "inventory-roots" / f"busybox-hardlinks-{key}"
    with locked(f"inventory-root-{root.name}"):
        if not root.is_dir():
            partial = root.with_name(root.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            (partial / "bin").mkdir(parents=True)
            shutil.copy2(donor, partial / "bin/busybox")
            for name in HARDLINKED:
                os.link(partial / "bin/busybox", partial / "bin" / name)
            partial.rename(root)
    return root


@pytest.mark.parametrize(
    "kind", ["musl-busybox", "distroless-static", "busybox-hardlinks", "debian"]
)
def test_image_sources_agree_with_the_root(
    engine: DockerEngine, roots: RootBuilder, tmp_path: Path, kind: str
) -> None:
    root = _hardlink_root(roots) if kind == "busybox-hardlinks" else roots.build(kind)
    tag = image_from_root(engine, root, f"gorc-test/inventory-src-{kind}:latest",
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin"})
    archive = engine.save(tag, tmp_path / "image.tar")

    inventories = []
    for reference in (f"docker:{tag}", f"docker-archive:{archive}"):
        with open_image(reference, cache_dir=tmp_path / "cache") as image:
            inventories.append((image.summary, collect_inventory(image.fs, image.summary)))
    summary = inventories[0][0]
    expected = collect_inventory(DirFileSystem(root), summary)

    assert expected.unknowns == ()
    for _, inv in inventories:
        assert inv == expected
    if kind == "busybox-hardlinks":
        inv = inventories[1][1]
        assert inv.shell.kind is ShellKind.BUSYBOX
        assert inv.busybox is not None
        assert inv.busybox.applets == tuple(sorted(HARDLINKED))
