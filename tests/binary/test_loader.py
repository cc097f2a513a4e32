"""Loader resolution in an image root, checked against the real loaders.

Each scenario lays out a small root with the host's own glibc (or Debian's
musl) and C objects built for the test, resolves the program with gorc, and
compares with what the real loader prints for ``--list`` inside a chroot of
that same root (a differential test). Parsing of ld.so.cache is checked on
caches written by the real ldconfig in all three formats.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gorc.binary.elf import read_elf
from gorc.binary.ldconfig import (
    glibc_system_dirs,
    parse_ld_cache,
    read_ld_so_conf,
    read_musl_path,
)
from gorc.binary.loader import (
    LoadReport,
    SearchStep,
    find_loader,
    resolve_libraries,
)
from gorc.errors import BinaryError
from gorc.image.fs import DirFileSystem, MemoryFileSystem
from gorc.model import LibcFamily
from tests.support import MissingToolError
from tests.support.elfpatch import c_objects, skip_or_fail

HOST_LOADER = Path("/lib64/ld-linux-x86-64.so.2")
HOST_LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")
DEBIAN_MUSL = Path("/usr/lib/x86_64-linux-musl/libc.so")
GLIBC_INTERP = "/lib64/ld-linux-x86-64.so.2"
MUSL_INTERP = "/lib/ld-musl-x86_64.so.1"


@pytest.fixture(scope="module")
def objs() -> Path:
    """The C libraries and programs of tests.support.elfpatch, built once."""
    if not HOST_LOADER.exists() or not DEBIAN_MUSL.exists():
        skip_or_fail("needs the host's glibc loader and Debian's musl")
    try:
        return c_objects()
    except MissingToolError as err:
        skip_or_fail(str(err))


def put(root: Path, dest: str, source: Path, mode: int = 0o755) -> None:
    """Copy a host file into the root at ``dest``."""
    target = root / dest.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source.resolve(), target)
    target.chmod(mode)


def link(root: Path, dest: str, target: str) -> None:
    """A symlink inside the root, stored exactly as ``target``."""
    path = root / dest.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def glibc_root(root: Path) -> Path:
    """A root with the host's glibc loader and libc, where Debian puts them."""
    put(root, "/lib/x86_64-linux-gnu/libc.so.6", HOST_LIBC)
    put(root, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", HOST_LOADER)
    link(root, GLIBC_INTERP, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    return root


def musl_root(root: Path) -> Path:
    """A root with Debian's musl: its loader is a link to libc.so."""
    put(root, "/usr/lib/x86_64-linux-musl/libc.so", DEBIAN_MUSL)
    link(root, MUSL_INTERP, "../usr/lib/x86_64-linux-musl/libc.so")
    return root


def ldconfig(root: Path, fmt: str = "new") -> None:
    """Write the root's /etc/ld.so.cache with the real ldconfig."""
    tool = shutil.which("ldconfig") or "/sbin/ldconfig"
    subprocess.run([tool, "-c", fmt, "-r", str(root)], check=True, capture_output=True)


def run_in_root(root: Path, argv: list[str], env: dict[str, str]) -> str:
    """Run ``argv`` with ``root`` as its root directory; stdout and stderr together.

    The chroot happens in the child itself, so that ``env`` (LD_* variables)
    reaches the program in the root and not a host chroot command.
    """
    if os.geteuid() != 0:
        pytest.skip("running the real loader in a root needs chroot (root)")
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env,
                          preexec_fn=lambda: os.chroot(root), cwd="/")
    return done.stdout + done.stderr


def real_loader_list(root: Path, interp: str, app: str,
                     env: dict[str, str]) -> dict[str, str | None]:
    """What the real loader resolves inside a chroot of ``root``, as ldd shows it.

    glibc's loader traces with LD_TRACE_LOADED_OBJECTS=1 (what ldd sets; it
    then lists missing libraries as "not found" instead of stopping); musl's
    loader traces with ``--list``.
    """
    if "musl" in interp:
        output = run_in_root(root, [interp, "--list", app], env)
    else:
        output = run_in_root(root, [interp, app], {"LD_TRACE_LOADED_OBJECTS": "1", **env})
    found: dict[str, str | None] = {}
    for line in output.splitlines():
        arrow = re.match(r"\s*(\S+) => (\S+)", line)
        error = re.match(r"Error loading shared library (\S+):", line)
        if arrow:
            found[arrow.group(1)] = None if arrow.group(2) == "not" else arrow.group(2)
        elif error:
            found[error.group(1)] = None
    return found


def gorc_list(report: LoadReport) -> dict[str, str | None]:
    """The same mapping from gorc's report."""
    found: dict[str, str | None] = {lib.name: lib.path for lib in report.libraries}
    found.update({m.name: None for m in report.missing})
    return found


def resolve(root: Path, app: str, env: dict[str, str] | None = None) -> LoadReport:
    """gorc's resolution of the program at ``app`` in ``root``."""
    fs = DirFileSystem(root)
    with fs.open(app) as stream:
        elf = read_elf(stream)
    return resolve_libraries(fs, app, elf, env or {})


def _rpath_chain(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    put(root, "/opt/app/bin/app", o / "app-rpath")
    put(root, "/opt/app/lib/libbar.so.1", o / "libbar.so")
    put(root, "/opt/app/lib/libfoo.so.1", o / "libfoo-v2.so")
    return "/opt/app/bin/app", {}


def _runpath_not_transitive(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    put(root, "/opt/app/bin/app", o / "app-runpath")
    put(root, "/opt/app/lib/libbar.so.1", o / "libbar.so")
    put(root, "/opt/app/lib/libfoo.so.1", o / "libfoo-v2.so")
    return "/opt/app/bin/app", {}


def _runpath_then_default(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    app, env = _runpath_not_transitive(root, o)
    put(root, "/usr/lib/x86_64-linux-gnu/libfoo.so.1", o / "libfoo-v2.so")
    return app, env


def _ld_library_path(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    put(root, "/app", o / "app-plain")
    put(root, "/custom/libbar.so.1", o / "libbar.so")
    put(root, "/other/libfoo.so.1", o / "libfoo-v2.so")
    return "/app", {"LD_LIBRARY_PATH": "/custom:/other"}


def _cache(root: Path, o: Path, fmt: str = "new") -> tuple[str, dict[str, str]]:
    put(root, "/app", o / "app-plain")
    put(root, "/opt/x/libbar.so.1", o / "libbar.so")
    put(root, "/opt/y/libfoo.so.1", o / "libfoo-v2.so")
    (root / "etc/ld.so.conf.d").mkdir(parents=True)
    (root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n")
    (root / "etc/ld.so.conf.d/x.conf").write_text("/opt/x\n/opt/y\n")
    ldconfig(root, fmt)
    return "/app", {}


def _conf_without_cache(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    app, env = _cache(root, o)
    (root / "etc/ld.so.cache").unlink()
    return app, env


def _symlinks_inside_root(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    put(root, "/app", o / "app-plain")
    put(root, "/opt/real/libbar.so.1.0", o / "libbar.so")
    link(root, "/usr/lib/x86_64-linux-gnu/libbar.so.1", "/opt/real/libbar.so.1.0")
    put(root, "/usr/lib/x86_64-linux-gnu/libfoo.so.1.2", o / "libfoo-v2.so")
    link(root, "/usr/lib/x86_64-linux-gnu/libfoo.so.1", "libfoo.so.1.2")
    return "/app", {}


def _wrong_machine_skipped(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    app, _ = _ld_library_path(root, o)
    bad = bytearray((o / "libbar.so").read_bytes())
    bad[18:20] = (183).to_bytes(2, "little")  # e_machine = EM_AARCH64
    (root / "bad").mkdir()
    (root / "bad/libbar.so.1").write_bytes(bytes(bad))
    return app, {"LD_LIBRARY_PATH": "/bad:/custom:/other"}


GLIBC_SCENARIOS: dict[str, Callable[[Path, Path], tuple[str, dict[str, str]]]] = {
    "rpath-chain": _rpath_chain,
    "runpath-not-transitive": _runpath_not_transitive,
    "runpath-then-default": _runpath_then_default,
    "ld-library-path": _ld_library_path,
    "cache-new": _cache,
    "cache-old": lambda r, o: _cache(r, o, "old"),
    "cache-compat": lambda r, o: _cache(r, o, "compat"),
    "conf-without-cache": _conf_without_cache,
    "symlinks-inside-root": _symlinks_inside_root,
    "wrong-machine-skipped": _wrong_machine_skipped,
}


@pytest.mark.parametrize("scenario", sorted(GLIBC_SCENARIOS))
def test_glibc_resolution_matches_the_real_loader(
    objs: Path, tmp_path: Path, scenario: str
) -> None:
    """gorc finds each library where glibc's ld.so --list does, or misses it too."""
    root = glibc_root(tmp_path)
    app, env = GLIBC_SCENARIOS[scenario](root, objs)
    report = resolve(root, app, env)
    assert report.loader is not None and report.loader.family is LibcFamily.GLIBC
    assert gorc_list(report) == real_loader_list(root, GLIBC_INTERP, app, env)


def test_search_steps_are_recorded(objs: Path, tmp_path: Path) -> None:
    """Each library says which search step found it."""
    root = glibc_root(tmp_path)
    _runpath_then_default(root, objs)
    steps = {lib.name: lib.step for lib in resolve(root, "/opt/app/bin/app").libraries}
    assert steps == {"libbar.so.1": SearchStep.RUNPATH, "libfoo.so.1": SearchStep.DEFAULT,
                     "libc.so.6": SearchStep.DEFAULT}


def test_missing_library_lists_where_it_looked(objs: Path, tmp_path: Path) -> None:
    """A library found nowhere carries the directories searched (for evidence)."""
    root = glibc_root(tmp_path)
    _runpath_not_transitive(root, objs)
    (missing,) = resolve(root, "/opt/app/bin/app").missing
    assert missing.name == "libfoo.so.1"
    assert missing.needed_by == "/opt/app/lib/libbar.so.1"
    assert "/lib/x86_64-linux-gnu" in missing.searched
    assert "/opt/app/lib" not in missing.searched  # RUNPATH is not transitive


def _musl_rpath(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    put(root, "/opt/app/bin/app", o / "musl-app-rpath")
    put(root, "/opt/app/lib/libbar.so.1", o / "musl-libbar.so")
    put(root, "/opt/app/lib/libfoo.so.1", o / "musl-libfoo.so")
    return "/opt/app/bin/app", {}


def _musl_path_file(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    put(root, "/app", o / "musl-app-rpath")
    put(root, "/opt/m/libbar.so.1", o / "musl-libbar.so")
    put(root, "/opt/n/libfoo.so.1", o / "musl-libfoo.so")
    (root / "etc").mkdir()
    (root / "etc/ld-musl-x86_64.path").write_text("/opt/m\n/opt/n:/lib\n")
    return "/app", {}


def _musl_default(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    put(root, "/app", o / "musl-app-rpath")
    put(root, "/usr/lib/libbar.so.1", o / "musl-libbar.so")
    put(root, "/lib/libfoo.so.1", o / "musl-libfoo.so")
    return "/app", {}


def _musl_missing(root: Path, o: Path) -> tuple[str, dict[str, str]]:
    put(root, "/app", o / "musl-app-rpath")
    put(root, "/usr/local/lib/libbar.so.1", o / "musl-libbar.so")
    return "/app", {}


MUSL_SCENARIOS: dict[str, Callable[[Path, Path], tuple[str, dict[str, str]]]] = {
    "rpath-inherited": _musl_rpath,
    "path-file": _musl_path_file,
    "default-path": _musl_default,
    "missing": _musl_missing,
}


@pytest.mark.parametrize("scenario", sorted(MUSL_SCENARIOS))
def test_musl_resolution_matches_the_real_loader(
    objs: Path, tmp_path: Path, scenario: str
) -> None:
    """gorc follows musl's order: LD_LIBRARY_PATH, inherited rpath, path file or default."""
    root = musl_root(tmp_path)
    app, env = MUSL_SCENARIOS[scenario](root, objs)
    report = resolve(root, app, env)
    assert report.loader is not None and report.loader.family is LibcFamily.MUSL
    real = real_loader_list(root, MUSL_INTERP, app, env)
    assert gorc_list(report) == real


def test_missing_version_names_the_highest_defined(objs: Path, tmp_path: Path) -> None:
    """A program built against FOO_2.0 fails on a libfoo that stops at FOO_1.0."""
    root = glibc_root(tmp_path)
    put(root, "/app", objs / "app-foo2")
    put(root, "/usr/lib/x86_64-linux-gnu/libfoo.so.1", objs / "libfoo-v1.so")
    (version,) = resolve(root, "/app").missing_versions
    assert (version.version, version.library, version.highest) == (
        "FOO_2.0", "libfoo.so.1", "FOO_1.0")
    assert version.path == "/usr/lib/x86_64-linux-gnu/libfoo.so.1"
    assert "version `FOO_2.0' not found" in run_in_root(root, ["/app"], {})


def test_versions_satisfied(objs: Path, tmp_path: Path) -> None:
    """The same program with the newer libfoo resolves completely."""
    root = glibc_root(tmp_path)
    put(root, "/app", objs / "app-foo2")
    put(root, "/usr/lib/x86_64-linux-gnu/libfoo.so.1", objs / "libfoo-v2.so")
    assert resolve(root, "/app").ok


def test_glibc_loader_linked_to_musl_is_musl(tmp_path: Path) -> None:
    """alpine's gcompat style: glibc's interpreter path leads to musl's loader."""
    if not DEBIAN_MUSL.exists():
        skip_or_fail("needs Debian's musl")
    root = musl_root(tmp_path)
    link(root, GLIBC_INTERP, MUSL_INTERP)
    loader = find_loader(DirFileSystem(root), GLIBC_INTERP, "amd64")
    assert loader is not None and loader.family is LibcFamily.MUSL
    assert loader.path == "/usr/lib/x86_64-linux-musl/libc.so"


def test_missing_interpreter_gives_no_loader() -> None:
    """An interpreter path that leads nowhere in the image has no loader."""
    assert find_loader(MemoryFileSystem(), GLIBC_INTERP, "amd64") is None


def test_system_dirs_come_from_the_loader() -> None:
    """Debian's loader says its multiarch dirs; an unknown one falls back to upstream."""
    if not HOST_LOADER.exists():
        skip_or_fail("needs the host's glibc loader")
    dirs = glibc_system_dirs(HOST_LOADER.read_bytes(), "amd64")
    assert dirs[:2] == ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu")
    assert glibc_system_dirs(b"", "amd64") == ("/lib64", "/usr/lib64")
    assert glibc_system_dirs(b"", "386") == ("/lib", "/usr/lib")


@pytest.mark.parametrize("fmt", ["new", "old", "compat"])
def test_cache_formats_written_by_ldconfig(objs: Path, tmp_path: Path, fmt: str) -> None:
    """The parser reads what the real ldconfig writes, in every format it writes."""
    _cache(glibc_root(tmp_path), objs, fmt)
    cache = parse_ld_cache((tmp_path / "etc/ld.so.cache").read_bytes())
    assert cache.format == ("old" if fmt == "old" else "new")
    assert cache.lookup("libbar.so.1") == ("/opt/x/libbar.so.1",)
    assert cache.lookup("libfoo.so.1") == ("/opt/y/libfoo.so.1",)


@pytest.mark.parametrize("data", [
    b"", b"not a cache at all", b"glibc-ld.so.cache1.1" + b"\xff" * 40,
    b"ld.so-1.7.0\x00\x05\x00\x00\x00", b"glibc-ld.so.cache1.1\x01\x00\x00\x00" + bytes(24),
])
def test_damaged_cache_is_a_binary_error(data: bytes) -> None:
    """A damaged cache raises BinaryError, never an IndexError or struct.error."""
    with pytest.raises(BinaryError):
        parse_ld_cache(data)


def test_damaged_cache_does_not_stop_resolution(objs: Path, tmp_path: Path) -> None:
    """Like glibc, a cache that cannot be used is skipped (and noted), default dirs still work."""
    root = glibc_root(tmp_path)
    _symlinks_inside_root(root, objs)
    (root / "etc").mkdir()
    (root / "etc/ld.so.cache").write_bytes(b"glibc-ld.so.cache1.1 garbage")
    report = resolve(root, "/app")
    assert report.ok
    assert report.skipped[0][0] == "/etc/ld.so.cache"


def test_ld_so_conf_includes_are_relative_to_the_file() -> None:
    """``include`` globs expand inside the image, relative to the including file."""
    fs = MemoryFileSystem()
    fs.add("/etc/ld.so.conf", b"# comment\n/usr/local/lib\ninclude ld.so.conf.d/*.conf\n")
    fs.add("/etc/ld.so.conf.d/b.conf", b"/opt/b\n")
    fs.add("/etc/ld.so.conf.d/a.conf", b"/opt/a/\ninclude /etc/loop.conf\n")
    fs.add("/etc/loop.conf", b"/opt/loop\ninclude /etc/ld.so.conf\n")
    fs.add("/etc/ld.so.conf.d/skip.txt", b"/opt/skip\n")
    assert read_ld_so_conf(fs) == ("/usr/local/lib", "/opt/a", "/opt/loop", "/opt/b")


def test_musl_path_file_splits_on_colons_and_newlines() -> None:
    """The path file is colon or newline separated; absent means None."""
    fs = MemoryFileSystem()
    fs.add("/etc/ld-musl-x86_64.path", b"/a:/b\n/c\n\n")
    assert read_musl_path(fs, "x86_64") == ("/a", "/b", "/c")
    assert read_musl_path(fs, "aarch64") is None


@pytest.fixture(scope="module")
def real_caches(objs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """ld.so.cache files written by the real ldconfig, by format."""
    caches = {}
    for fmt in ("new", "old", "compat"):
        root = glibc_root(tmp_path_factory.mktemp(f"cache-{fmt}"))
        _cache(root, objs, fmt)
        caches[fmt] = (root / "etc/ld.so.cache").read_bytes()
    return caches


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_caches_raise_only_binary_error(real_caches: dict[str, bytes],
                                               data: st.DataObject) -> None:
    """Real caches with random bytes changed or cut off: a cache or a BinaryError only."""
    raw = bytearray(real_caches[data.draw(st.sampled_from(sorted(real_caches)))])
    for _ in range(data.draw(st.integers(0, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(BinaryError):
        parse_ld_cache(bytes(raw[:cut]), little_endian=data.draw(st.booleans()))
