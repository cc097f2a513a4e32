"""The inventory of real root filesystems, checked against ground truth.

Roots come from the ``roots`` fixture (Debian packages, debootstrap). Where a
fact can be asked of the real thing, it is: busybox lists its own applets, the
musl and glibc loaders print their versions, dpkg records libc6's version.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from gorc.image.fs import DirFileSystem
from gorc.image.inventory import Inventory, ShellKind, UserResolution, collect_inventory
from gorc.model import ImageSummary, Libc, LibcFamily
from tests.support.roots import RootBuilder

pytestmark = pytest.mark.slow

DISTROLESS_USERS = ("root", "nobody", "nonroot")
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def collect(root: Path, env: dict[str, str] | None = None, user: str | None = None) -> Inventory:
    """The inventory of ``root`` as an amd64 image with this env and USER."""
    summary = ImageSummary(f"dir:{root}", architecture="amd64", user=user,
                           env=tuple((env or {}).items()))
    return collect_inventory(DirFileSystem(root), summary)


def _output(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def test_debian(roots: RootBuilder) -> None:
    root = roots.build("debian")
    inv = collect(root)

    assert inv.shell.kind is ShellKind.DASH
    assert inv.shell.chain == ("/bin/sh", "/usr/bin/dash")
    assert {"/bin/bash", "/bin/dash"} <= set(inv.shells)
    assert inv.busybox is None
    for name, path in (("ls", "/usr/bin/ls"), ("apt-get", "/usr/bin/apt-get"),
                       ("bash", "/usr/bin/bash"), ("ldconfig", "/usr/sbin/ldconfig")):
        program = inv.program(name)
        assert program is not None and program.path == path
    assert inv.program("curl") is None

    status = (root / "var/lib/dpkg/status").read_text()
    packaged = re.search(r"^Package: libc6\n(?:.+\n)*?Version: (\d+\.\d+)", status, re.M)
    assert packaged is not None
    assert inv.libc == Libc(LibcFamily.GLIBC, packaged.group(1))
    assert inv.libcs == (inv.libc,)
    assert inv.loaders == ("/lib64/ld-linux-x86-64.so.2",)

    assert (inv.ca_files, inv.ca_dirs) == ((), ())  # minbase has no ca-certificates
    assert inv.zoneinfo == ("/usr/share/zoneinfo",)
    names = [u.name for u in inv.users]
    assert names[:4] == ["root", "daemon", "bin", "sys"] and "nobody" in names
    assert inv.skipped_lines == ()
    assert inv.tmp.mode == 0o1777 and inv.tmp.usable
    assert inv.nsswitch is not None and inv.nsswitch.hosts == ("files", "dns")
    assert inv.unknowns == ()


def test_musl_busybox(roots: RootBuilder) -> None:
    root = roots.build("musl-busybox")
    inv = collect(root, env={"PATH": PATH})
    listed = _output([str(root / "bin/busybox"), "--list"]).split()
    banner = _output([str(root / "bin/busybox"), "--help"])
    musl_usage = _output([str(root / "lib/ld-musl-x86_64.so.1")])

    assert inv.shell.kind is ShellKind.BUSYBOX
    assert inv.shell.chain == ("/bin/sh", "/bin/busybox")
    assert inv.busybox is not None
    assert (inv.busybox.path, inv.busybox.real_path) == ("/bin/busybox", "/bin/busybox")
    assert inv.busybox.static is True and inv.busybox.interpreter is None
    assert f"BusyBox v{inv.busybox.version} " in banner
    assert inv.busybox.builtin_applets == tuple(listed)
    assert inv.busybox.applets == tuple(sorted(set(listed) - {"busybox"}))
    assert {p.name for p in inv.programs} >= set(listed)

    version = re.search(r"Version (\S+)", musl_usage)
    assert version is not None
    assert inv.libc == Libc(LibcFamily.MUSL, version.group(1))
    assert inv.loaders == ("/lib/ld-musl-x86_64.so.1",)
    assert (inv.ca_files, inv.ca_dirs, inv.zoneinfo) == ((), (), ())
    assert tuple(u.name for u in inv.users) == DISTROLESS_USERS
    assert inv.tmp.sticky and inv.tmp.usable
    assert inv.provides().shell == "/bin/sh"


def test_distroless_static(roots: RootBuilder) -> None:
    root = roots.build("distroless-static")
    inv = collect(root, env={"PATH": PATH, "SSL_CERT_FILE": BUNDLE}, user="nonroot")

    assert inv.shell.kind is ShellKind.MISSING
    assert (inv.shells, inv.busybox, inv.programs) == ((), None, ())
    assert (inv.libc, inv.libcs, inv.loaders) == (Libc(), (), ())
    assert inv.ca_files == (BUNDLE,)
    assert inv.ca_dirs == ("/etc/ssl/certs",)
    assert inv.zoneinfo == ("/usr/share/zoneinfo",)
    assert tuple(u.name for u in inv.users) == DISTROLESS_USERS
    assert tuple(g.name for g in inv.groups) == DISTROLESS_USERS
    user = inv.config_user
    assert (user.resolution, user.uid, user.gid, user.home) == (
        UserResolution.FOUND, 65532, 65532, "/home/nonroot")
    assert inv.tmp.mode == 0o1777 and inv.tmp.usable
    assert inv.nsswitch is not None and inv.nsswitch.hosts == ("files", "dns")
    provides = inv.provides()
    assert provides.shell is None and provides.temp_dir
    assert provides.ca_certificates == (BUNDLE, "/etc/ssl/certs")


def test_glibc(roots: RootBuilder) -> None:
    root = roots.build("glibc")
    inv = collect(root)
    banner = _output([str(root / "lib64/ld-linux-x86-64.so.2"), "--version"])

    version = re.search(r"release version (\d+\.\d+)", banner)
    assert version is not None
    assert inv.libc == Libc(LibcFamily.GLIBC, version.group(1))
    assert inv.loaders == ("/lib64/ld-linux-x86-64.so.2",)
    assert inv.shell.kind is ShellKind.MISSING
    assert inv.programs == ()
    assert tuple(u.name for u in inv.users) == DISTROLESS_USERS
    assert not inv.tmp.exists and not inv.provides().temp_dir


def test_scratch(roots: RootBuilder) -> None:
    inv = collect(roots.build("scratch"), user="1000")
    assert inv.shell.kind is ShellKind.MISSING
    assert (inv.shells, inv.busybox, inv.programs, inv.loaders) == ((), None, (), ())
    assert inv.libc == Libc()
    assert (inv.ca_files, inv.ca_dirs, inv.zoneinfo, inv.users, inv.groups) == ((),) * 5
    assert inv.config_user.resolution is UserResolution.NUMERIC_UNLISTED
    assert not inv.config_user.current_works
    assert not inv.tmp.exists
    assert inv.nsswitch is not None and not inv.nsswitch.conf_exists
    provides = inv.provides()
    assert (provides.shell, provides.temp_dir, provides.programs) == (None, False, ())
