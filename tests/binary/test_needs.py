"""Run-time needs read from real Go binaries: the probes, built several ways, and a few
programs written here for needs no probe has (temp files, plugins, embedded zone data)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from gorc.binary.needs import UNKNOWN_PROGRAM, is_cgo_lookup, read_binary_needs
from gorc.image.fs import MemoryFileSystem
from gorc.model import ImageLocation, NeedKind
from tests.support import MissingToolError, cache_dir, in_ci
from tests.support.probes import ProbeBuilder

pytestmark = pytest.mark.go

K = NeedKind
LAYER = "sha256:" + "ab" * 32

#: Programs for needs the probes do not cover, built like probes (cached by content).
EXTRA_PROGRAMS = {
    "tmpdir": 'import ("fmt"; "os")\nfunc main() { d, err := os.MkdirTemp("", "x"); '
              "fmt.Println(d, err) }",
    "tzembed": 'import ("fmt"; "time"; _ "time/tzdata")\nfunc main() { '
               'fmt.Println(time.LoadLocation("Europe/Paris")) }',
    "plugin": 'import ("fmt"; "plugin")\nfunc main() { fmt.Println(plugin.Open("/p.so")) }',
}


@pytest.fixture(scope="module")
def extra(probes: ProbeBuilder) -> ProbeBuilder:
    """A probe builder over the programs of :data:`EXTRA_PROGRAMS`."""
    root = cache_dir() / "needs-programs"
    for name, body in EXTRA_PROGRAMS.items():
        source = root / name
        source.mkdir(parents=True, exist_ok=True)
        if not (source / "main.go").is_file() or (source / "main.go").read_text() != _go(body):
            (source / "main.go").write_text(_go(body))
            (source / "go.mod").write_text(f"module gorc.test/needs/{name}\n\ngo 1.19\n")
    return ProbeBuilder(probes_dir=root)


def _go(body: str) -> str:
    return f"package main\n\n{body}\n"


def _needs(binary: Path) -> dict[NeedKind, str]:
    fs = MemoryFileSystem()
    fs.add("/app", binary.read_bytes(), 0o755, layer=LAYER)
    found = read_binary_needs(fs, "/app", "img")
    assert found.unknowns == ()
    assert all(n.location == ImageLocation("img", "/app", LAYER) for n in found.needs)
    assert len({n.kind for n in found.needs}) == len(found.needs)
    return {n.kind: n.name for n in found.needs}


GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2"
MUSL_LOADER = "/lib/ld-musl-x86_64.so.1"
GO_RESOLVER = "net.(*Resolver).goLookupHostOrder"

CASES = [
    ("hello", "static", (), {}),
    ("hello", "stripped", (), {}),
    ("hello", "cgo-glibc", (), {}),  # cgo on, but no cgo package: static, no needs
    ("tls", "static", (), {K.CA_CERTIFICATES: "crypto/x509.loadSystemRoots"}),
    ("tls", "stripped", (), {K.CA_CERTIFICATES: "crypto/x509.loadSystemRoots"}),
    ("tls", "cgo-glibc", (), {K.CA_CERTIFICATES: "crypto/x509.loadSystemRoots",
                              K.CGO: GLIBC_LOADER}),
    ("tz", "static", (), {K.ZONEINFO: "time.LoadLocation"}),
    ("tz", "stripped", (), {K.ZONEINFO: "time.LoadLocation"}),
    ("tz", "static", ("timetzdata",), {}),
    ("user", "static", (), {K.USER_DATABASE: "os/user.Current"}),
    ("user", "stripped", (), {K.USER_DATABASE: "os/user.Current"}),
    ("user", "cgo-glibc", (), {K.USER_DATABASE: "os/user._Cfunc_mygetpwuid_r",
                               K.CGO: GLIBC_LOADER}),
    ("user", "cgo-musl", (), {K.USER_DATABASE: "os/user._Cfunc_mygetpwuid_r",
                              K.CGO: MUSL_LOADER}),
    ("user", "cgo-glibc", ("osusergo",), {K.USER_DATABASE: "os/user.Current"}),
    ("exec", "static", (), {K.PROGRAM: UNKNOWN_PROGRAM}),
    ("exec", "stripped", (), {K.PROGRAM: UNKNOWN_PROGRAM}),
    ("net", "static", (), {K.NAME_RESOLUTION: GO_RESOLVER}),
    ("net", "stripped", (), {K.NAME_RESOLUTION: GO_RESOLVER}),
    ("net", "cgo-glibc", (), {K.NAME_RESOLUTION: "net._C2func_getaddrinfo",
                              K.CGO: GLIBC_LOADER}),
    ("net", "cgo-glibc", ("netgo",), {K.NAME_RESOLUTION: GO_RESOLVER}),
    ("net", "arm64", (), {K.NAME_RESOLUTION: GO_RESOLVER}),
]


@pytest.mark.parametrize(("name", "variant", "tags", "expected"), [
    pytest.param(*case, id="-".join((case[0], case[1], *case[2]))) for case in CASES
])
def test_probe_needs(probes: ProbeBuilder, name: str, variant: str, tags: tuple[str, ...],
                     expected: dict[NeedKind, str]) -> None:
    assert _needs(probes.build(name, variant, tags=tags)) == expected


@pytest.mark.parametrize(("name", "variant", "expected"), [
    ("tmpdir", "static", {K.TEMP_DIR: "os.MkdirTemp"}),
    ("tzembed", "static", {}),
    ("plugin", "cgo-glibc", {K.PLUGIN: "plugin.Open", K.CGO: GLIBC_LOADER}),
])
def test_needs_no_probe_has(extra: ProbeBuilder, name: str, variant: str,
                            expected: dict[NeedKind, str]) -> None:
    try:
        binary = extra.build(name, variant)
    except MissingToolError as err:
        if in_ci():
            pytest.fail(f"test infrastructure unavailable in CI: {err}", pytrace=False)
        pytest.skip(str(err))
    assert _needs(binary) == expected


def test_damaged_pclntab_without_sections_still_finds_needs(probes: ProbeBuilder) -> None:
    """The byte search finds the names and says the list may be incomplete."""
    data = bytearray(probes.build("tls", "stripped").read_bytes())
    struct.pack_into("<Q", data, 0x28, 0)  # e_shoff: no section headers
    struct.pack_into("<HH", data, 0x3C, 0, 0)
    magic = data.index(struct.pack("<I", 0xFFFFFFF0) + b"\0\0")
    data[magic + 8:magic + 16] = b"\xff" * 8  # nfunc out of bounds: header refused
    fs = MemoryFileSystem()
    fs.add("/app", bytes(data), 0o755)

    found = read_binary_needs(fs, "/app", "img")

    assert [(n.kind, n.name) for n in found.needs] == [
        (K.CA_CERTIFICATES, "crypto/x509.loadSystemRoots")]
    (unknown,) = found.unknowns
    assert "may be incomplete" in unknown.reason
    assert "no pclntab found" in unknown.reason


def test_unreadable_binary_is_an_unknown_not_an_error() -> None:
    fs = MemoryFileSystem()
    fs.add("/app", b"\x7fELF\x02\x01\x01" + b"\0" * 9, 0o755)

    found = read_binary_needs(fs, "/app", "img")

    assert found.needs == ()
    (unknown,) = found.unknowns
    assert unknown.reason.startswith("cannot read the run-time needs of /app: cannot read")
    assert isinstance(unknown.location, ImageLocation)


def test_missing_binary_is_an_unknown() -> None:
    found = read_binary_needs(MemoryFileSystem(), "/app", "img")

    assert found.needs == ()
    assert "/app" in found.unknowns[0].reason


def test_cgo_lookup_names() -> None:
    assert is_cgo_lookup("net._C2func_getaddrinfo")
    assert is_cgo_lookup("os/user._Cfunc_mygetpwuid_r")
    assert not is_cgo_lookup("os/user.Current")
    assert not is_cgo_lookup("net.cgoLookupHost")  # a stub in pure-Go builds
