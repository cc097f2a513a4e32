"""Root filesystems shaped like common base images, built from Debian packages.

Kinds (see :data:`KINDS`):

- ``scratch``: empty.
- ``distroless-static``: CA bundle, zoneinfo, passwd/group with root, nobody
  and nonroot (65532), nsswitch.conf, /tmp 1777; no shell, no libc.
- ``glibc``: Debian's libc6 unpacked (loader, libc.so.6, ld.so.conf(.d),
  ld.so.cache) plus passwd/group.
- ``musl-busybox``: Debian's musl loader, busybox-static with its applets
  linked in /bin (/bin/sh among them), passwd/group, /tmp 1777.
- ``debian``: ``debootstrap --variant=minbase bookworm``, kept as a tarball.

Each root is built once per machine into the test cache, keyed by kind and
version, under a lock so concurrent sessions do not build it twice.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.support import InfraError, cache_dir, locked
from tests.support.debs import debootstrap, extract_packages, need_tool, run
from tests.support.images import image_from_root

__all__ = ["KINDS", "RootBuilder", "image_from_root"]

log = logging.getLogger(__name__)

PASSWD = """\
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
"""
GROUP = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
NSSWITCH = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"


def _write(root: Path, relative: str, text: str, mode: int = 0o644) -> None:
    """Write a text file into ``root`` with ``mode``, creating its parents."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _make_tmp(root: Path) -> None:
    """Create /tmp with the sticky, world-writable mode 1777 (chmod: umask would clear it)."""
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    tmp.chmod(0o1777)


def _write_users(root: Path) -> None:
    """Write /etc/passwd and /etc/group with root, nobody and nonroot."""
    _write(root, "etc/passwd", PASSWD)
    _write(root, "etc/group", GROUP)


def _prune(root: Path) -> None:
    """Drop documentation and packaging leftovers that no base image ships."""
    for unwanted in (
        "usr/share/doc",
        "usr/share/man",
        "usr/share/lintian",
        "usr/share/initramfs-tools",
        "usr/sbin",
        "etc/ca-certificates",
    ):
        shutil.rmtree(root / unwanted, ignore_errors=True)


def _build_scratch(root: Path) -> None:
    """An empty root: nothing to add."""


def _build_distroless_static(root: Path) -> None:
    """CA bundle, zoneinfo, users, nsswitch.conf and /tmp; no shell, no libc."""
    extract_packages(["ca-certificates", "tzdata"], root)
    # The bundle is generated at install time by update-ca-certificates; we
    # concatenate the shipped certificates instead of running the maintainer script.
    certs = sorted((root / "usr/share/ca-certificates").rglob("*.crt"))
    if not certs:
        raise InfraError("the ca-certificates package shipped no certificates")
    _write(root, CA_BUNDLE, "".join(c.read_text().rstrip("\n") + "\n" for c in certs))
    _prune(root)
    _write_users(root)
    _write(root, "etc/nsswitch.conf", NSSWITCH)
    (root / "root").mkdir(mode=0o700, exist_ok=True)
    home = root / "home/nonroot"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    os.chown(home, 65532, 65532)
    _make_tmp(root)


def _build_glibc(root: Path) -> None:
    """Debian's libc6 with ld.so.conf and a generated ld.so.cache, plus users."""
    extract_packages(["libc6"], root)
    _write(root, "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
    ldconfig = need_tool("ldconfig", "libc-bin")
    # dpkg's trigger would run ldconfig on install; -r makes it work inside the root.
    run([ldconfig, "-r", str(root)], "generate ld.so.cache")
    _prune(root)
    _write_users(root)


def _build_musl_busybox(root: Path) -> None:
    """Debian's musl (loader /lib/ld-musl-x86_64.so.1) and busybox-static with applets."""
    extract_packages(["musl", "busybox-static"], root)
    busybox = root / "bin/busybox"
    applets = run([str(busybox), "--list"], "list busybox applets").split()
    for applet in applets:
        link = root / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    _prune(root)
    _write_users(root)
    _make_tmp(root)


def _build_debian(root: Path) -> None:
    """A minbase bookworm, from the cached tarball or a fresh debootstrap."""
    tarball = cache_dir() / "roots" / f"debian-bookworm-minbase-{KINDS['debian'][0]}.tar"
    if not tarball.is_file():
        _debootstrap_tarball(tarball)
    tar = need_tool("tar", "tar")
    run([tar, "-xpf", str(tarball), "--numeric-owner", "-C", str(root)], "unpack the Debian root")


def _debootstrap_tarball(tarball: Path) -> None:
    """Debootstrap into a temporary dir and keep the result as ``tarball``."""
    with tempfile.TemporaryDirectory(dir=tarball.parent, prefix="debootstrap-") as tmp:
        target = Path(tmp) / "root"
        debootstrap(target)
        # Images never carry device nodes: the runtime mounts /dev itself.
        for entry in (target / "dev").iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        partial = Path(tmp) / "root.tar"
        tar = need_tool("tar", "tar")
        run(
            [tar, "-cpf", str(partial), "--numeric-owner", "-C", str(target), "."],
            "archive the Debian root",
        )
        os.replace(partial, tarball)


# kind -> (version, builder); bump a version to rebuild that kind everywhere.
KINDS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "scratch": ("1", _build_scratch),
    "distroless-static": ("2", _build_distroless_static),
    "glibc": ("2", _build_glibc),
    "musl-busybox": ("2", _build_musl_busybox),
    "debian": ("1", _build_debian),
}


class RootBuilder:
    """Builds the root directories of :data:`KINDS` once per machine, in the test cache."""

    def __init__(self) -> None:
        self._dir = cache_dir() / "roots"
        self._dir.mkdir(exist_ok=True)

    def build(self, kind: str) -> Path:
        """Return the root directory of ``kind``, building it the first time.

        The directory is shared by every test: treat it as read-only.
        """
        if kind not in KINDS:
            raise InfraError(f"unknown root kind {kind!r}; known: {', '.join(KINDS)}")
        version, builder = KINDS[kind]
        root = self._dir / f"{kind}-{version}"
        if root.is_dir():
            return root
        with locked(f"root-{kind}-{version}"):
            if not root.is_dir():
                self._build_into(root, builder)
        return root

    def _build_into(self, root: Path, builder: Callable[[Path], None]) -> None:
        """Build in a sibling temporary dir and rename it into place when complete."""
        partial = Path(tempfile.mkdtemp(dir=self._dir, prefix=f".{root.name}-"))
        try:
            partial.chmod(0o755)
            builder(partial)
            os.rename(partial, root)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        log.info("built root %s", root)
