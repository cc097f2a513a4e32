"""Debian packages and debootstrap, the raw material of the test roots."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support import InfraError, MissingToolError

log = logging.getLogger(__name__)

DEFAULT_MIRROR = "http://deb.debian.org/debian"
SOURCES = Path("/etc/apt/sources.list")
SOURCES_DIR = Path("/etc/apt/sources.list.d")


def need_tool(name: str, package: str) -> str:
    """Return the path of ``name``, or raise :class:`MissingToolError` naming its package."""
    found = shutil.which(name)
    if found is None:
        raise MissingToolError(f"{name} is not installed (Debian package {package})")
    return found


def run(command: list[str], what: str, cwd: Path | None = None) -> str:
    """Run ``command``; return its stdout, or fail saying what could not be done."""
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as err:
        raise InfraError(f"cannot {what}: {command[0]}: {err.strerror}") from err
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise InfraError(
            f"cannot {what}: {' '.join(command[:3])}... exited {done.returncode}:\n{tail}"
        )
    return done.stdout


def extract_packages(packages: list[str], root: Path) -> None:
    """Download ``packages`` with ``apt-get download`` and unpack them into ``root``."""
    apt_get = need_tool("apt-get", "apt")
    dpkg_deb = need_tool("dpkg-deb", "dpkg")
    with tempfile.TemporaryDirectory(prefix="gorc-debs-") as tmp:
        downloads = Path(tmp)
        # apt drops to the _apt user for downloads; it must be able to enter the dir.
        downloads.chmod(0o755)
        try:
            run([apt_get, "download", "-q", *packages], "download packages", cwd=downloads)
        except InfraError:
            log.info("apt-get download failed; updating the package lists and retrying")
            run([apt_get, "update", "-q"], "update the package lists")
            run([apt_get, "download", "-q", *packages], "download packages", cwd=downloads)
        for deb in sorted(downloads.glob("*.deb")):
            run([dpkg_deb, "-x", str(deb), str(root)], f"unpack {deb.name}")


def debian_mirror() -> str:
    """Return the Debian mirror apt uses here (deb822 or one-line sources), else the default."""
    texts = [SOURCES.read_text()] if SOURCES.is_file() else []
    texts += [
        p.read_text() for p in sorted(SOURCES_DIR.glob("*")) if p.suffix in (".list", ".sources")
    ]
    for text in texts:
        for uri in _mirrors_in(text):
            return uri
    return DEFAULT_MIRROR


def _mirrors_in(text: str) -> list[str]:
    """Return the URIs of a sources text that carry Debian's main suite (not security)."""
    found = re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.MULTILINE)
    for stanza in text.split("\n\n"):
        uris = re.search(r"^URIs:\s*(\S+)", stanza, re.MULTILINE)
        suites = re.search(r"^Suites:\s*(.+)$", stanza, re.MULTILINE)
        if uris and suites:
            found += [(uris.group(1), suite) for suite in suites.group(1).split()]
    return [
        uri
        for uri, suite in found
        if "/debian" in uri and "security" not in uri and "-" not in suite
    ]


def debootstrap(target: Path, suite: str = "bookworm") -> None:
    """Run ``debootstrap --variant=minbase`` of ``suite`` into ``target`` (takes minutes)."""
    tool = need_tool("debootstrap", "debootstrap")
    mirror = debian_mirror()
    log.info("debootstrap %s from %s into %s", suite, mirror, target)
    run([tool, "--variant=minbase", suite, str(target), mirror], f"debootstrap {suite}")
