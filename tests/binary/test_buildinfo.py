"""read_buildinfo against ``go version -m`` on real and crafted Go binaries."""

from __future__ import annotations

import glob
import io
from pathlib import Path

import pytest

from gorc.binary.buildinfo import parse_modinfo, read_buildinfo, unquote
from gorc.errors import BinaryError
from gorc.model import GoBuildInfo, GoModule
from tests.binary import craft
from tests.binary.test_elf import PROBE_BUILDS, strip_section_headers
from tests.binary.truth import GoVersionFacts, go_version_m, hello_for, with_dependency
from tests.support.probes import ProbeBuilder

CROSS = ["386", "ppc64", "s390x", "mips", "mipsle", "riscv64"]  # built for test_elf too
DEBIAN_GO = [
    "/usr/bin/skopeo", "/usr/sbin/dockerd", "/usr/bin/docker-registry", "/usr/bin/containerd",
    "/usr/bin/docker", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/runc",
    *sorted(glob.glob("/usr/lib/go-1.*/bin/*")), *sorted(glob.glob("/usr/lib/go-1.*/pkg/tool/*/*")),
]
MODINFO = (
    "path\texample.com/x/cmd/x\n"
    "mod\texample.com/x\tv0.1.0\th1:main=\n"
    "dep\tgolang.org/y\tv1.0.0\th1:abc=\n"
    "=>\t../y\t\t\n"
    "dep\tgolang.org/z\tv2.0.0+incompatible\n"
    "build\t-ldflags=\"-s -w -X \\\"main.v=1 2\\\"\"\n"
    "build\t-tags=netgo\n"
    "build\tCGO_ENABLED=0\n"
)


def _read(path: Path) -> GoBuildInfo | None:
    with open(path, "rb") as stream:
        return read_buildinfo(stream)


def _module_columns(module: GoModule) -> list[str]:
    # go version -m prints no sum for a replaced module (debug.BuildInfo.String).
    return [module.path, module.version] + ([] if module.replace else [module.sum])


def assert_matches_go(info: GoBuildInfo | None, facts: GoVersionFacts | None) -> None:
    """Every part of go version -m's output equals gorc's reading."""
    assert facts is not None
    assert info is not None
    assert info.go_version == facts.go_version
    assert info.path == facts.path
    if facts.mod is None:
        assert info.main is None
    else:
        assert info.main is not None
        assert _module_columns(info.main) == facts.mod
    assert [_module_columns(d) for d in info.deps] == facts.deps
    replaces = {i: d.replace for i, d in enumerate(info.deps) if d.replace}
    if info.main is not None and info.main.replace:
        replaces[-1] = info.main.replace
    assert {i: [r.path, r.version, r.sum] for i, r in replaces.items()} == facts.replaces
    assert list(info.settings) == facts.settings


@pytest.mark.go
@pytest.mark.parametrize(("name", "variant"), PROBE_BUILDS)
def test_probe_matches_go_version(probes: ProbeBuilder, name: str, variant: str) -> None:
    path = probes.build(name, variant)
    info = _read(path)
    assert_matches_go(info, go_version_m(path))
    assert info is not None
    assert info.setting("CGO_ENABLED") == ("1" if variant.startswith("cgo") else "0")


@pytest.mark.go
@pytest.mark.slow
@pytest.mark.parametrize("goarch", CROSS)
def test_cross_arch_matches_go_version(goarch: str) -> None:
    path = hello_for(goarch)
    assert_matches_go(_read(path), go_version_m(path))


@pytest.mark.go
def test_dependency_replacement_and_quoted_flags() -> None:
    path = with_dependency()
    info = _read(path)
    assert_matches_go(info, go_version_m(path))
    assert info is not None
    greet = info.deps[0]
    assert (greet.path, greet.version) == ("example.com/greet", "v1.2.3")
    assert greet.replace == GoModule("../greet", "(devel)")
    assert info.setting("-ldflags") == "-s -X 'main.note=a b\"c' -X 'main.tab=x\ty'"
    assert info.setting("-tags") == "netgo,osusergo"


@pytest.mark.go
@pytest.mark.parametrize("path", DEBIAN_GO)
def test_debian_go_binary_matches_go_version(path: str) -> None:
    if not Path(path).is_file():
        pytest.skip(f"{path} is not on this machine")
    facts = go_version_m(Path(path))
    if facts is None:
        pytest.skip(f"{path} is not a Go program")
    assert_matches_go(_read(Path(path)), facts)


@pytest.mark.parametrize("path", ["/bin/ls", "/lib/x86_64-linux-gnu/libc.so.6"])
def test_not_go(path: str) -> None:
    if not Path(path).is_file():
        pytest.skip(f"{path} is not on this machine")
    assert _read(Path(path)) is None


@pytest.mark.go
@pytest.mark.parametrize("source", ["probe", "mips", "386"])
def test_stripped_section_headers(probes: ProbeBuilder, source: str) -> None:
    path = probes.build("hello", "stripped") if source == "probe" else hello_for(source)
    data = path.read_bytes()
    bare = read_buildinfo(io.BytesIO(strip_section_headers(data)))
    assert bare is not None
    assert bare == read_buildinfo(io.BytesIO(data))


POINTER_LAYOUTS = [(64, True, 62), (32, True, 3), (64, False, 21), (32, False, 8)]


@pytest.mark.parametrize(("elf_class", "little", "machine"), POINTER_LAYOUTS)
@pytest.mark.parametrize("sections", [True, False])
def test_pre_118_pointer_format(elf_class: int, little: bool, machine: int,
                                sections: bool) -> None:
    data = craft.go_elf_pointers("go1.16.3", MODINFO, elf_class, little, machine, sections)
    info = read_buildinfo(io.BytesIO(data))
    assert info == parse_modinfo("go1.16.3", MODINFO)
    assert info is not None
    assert info.deps[0].replace == GoModule("../y")
    assert info.setting("-ldflags") == '-s -w -X "main.v=1 2"'


@pytest.mark.go
@pytest.mark.parametrize(("elf_class", "little", "machine"), POINTER_LAYOUTS)
def test_pre_118_pointer_format_agrees_with_go(tmp_path: Path, elf_class: int, little: bool,
                                               machine: int) -> None:
    path = tmp_path / "old"
    path.write_bytes(craft.go_elf_pointers("go1.16.3", MODINFO, elf_class, little, machine))
    path.chmod(0o755)
    assert_matches_go(_read(path), go_version_m(path))


def test_inline_without_sections() -> None:
    data = craft.go_elf_inline("go1.21.5", MODINFO, with_sections=False)
    assert read_buildinfo(io.BytesIO(data)) == parse_modinfo("go1.21.5", MODINFO)


def test_no_modinfo() -> None:
    info = read_buildinfo(io.BytesIO(craft.go_elf_inline("go1.20", "")))
    assert info == GoBuildInfo("go1.20")


def test_empty_version_is_not_go() -> None:
    assert read_buildinfo(io.BytesIO(craft.go_elf_inline("", MODINFO))) is None


def test_bad_pointer_size() -> None:
    data = bytearray(craft.go_elf_pointers("go1.16", MODINFO, 64, True, 62))
    at = data.find(craft.MAGIC)
    data[at + 14] = 3
    with pytest.raises(BinaryError, match="pointer size 3"):
        read_buildinfo(io.BytesIO(bytes(data)))


def test_dangling_pointer() -> None:
    data = bytearray(craft.go_elf_pointers("go1.16", MODINFO, 64, True, 62))
    at = data.find(craft.MAGIC)
    data[at + 16:at + 24] = (0x7777_0000).to_bytes(8, "little")
    with pytest.raises(BinaryError, match="not in the file"):
        read_buildinfo(io.BytesIO(bytes(data)))


def test_inline_length_past_the_blob() -> None:
    data = bytearray(craft.go_elf_inline("go1.20", MODINFO))
    at = data.find(craft.MAGIC)
    data[at + 32:at + 35] = b"\xff\xff\x7f"
    with pytest.raises(BinaryError, match="runs past"):
        read_buildinfo(io.BytesIO(bytes(data)))


def test_module_info_longer_than_the_magic_window() -> None:
    # ~800 dependencies: the inline strings run past the 64 KiB searched for the magic
    deps = "".join(f"dep\tgithub.com/org/module{i:04d}\tv1.2.3\th1:{'A' * 43}=\n"
                   for i in range(800))
    modinfo = MODINFO + deps
    data = craft.go_elf_inline("go1.22.1", modinfo)
    assert len(modinfo) > 64 * 1024
    assert read_buildinfo(io.BytesIO(data)) == parse_modinfo("go1.22.1", modinfo)


def test_non_elf_is_an_error() -> None:
    with pytest.raises(BinaryError):
        read_buildinfo(io.BytesIO(b"#!/bin/sh\n"))


@pytest.mark.parametrize(("line", "why"), [
    ("mod\tonly-path", "columns"),
    ("dep\ta\tb\tc\td", "columns"),
    ("=>\t../y\t\t", "replacement without a module"),
    ("build\tnoequals", "without '='"),
    ('build\t"k=v', "unterminated"),
    ('build\tk="a"b', "after a quoted value"),
    ("build\t=v", "empty"),
    ("dep\ta\tv1\n=>\t../y\t", "3 columns"),
    ("mod\ta\tv1\n=>\t../y\t\t\n=>\t../z\t\t", "replacement without a module"),
])
def test_malformed_lines(line: str, why: str) -> None:
    with pytest.raises(BinaryError, match=why):
        parse_modinfo("go1.20", line + "\n")


def test_quoted_key_and_unknown_lines() -> None:
    info = parse_modinfo("go1.20", 'build\t"a b=c"=d e\nbuild\t`k\\n`=`v`\nfuture\tline\n\n')
    assert info.settings == (("a b=c", "d e"), ("k\\n", "v"))


def test_line_order_as_go_reads_it() -> None:
    # A "=>" line replaces the latest module even after other lines (runtime/debug
    # keeps it); a later "mod" line wins; text after the last newline is ignored.
    text = "dep\ta\tv1\th1:a=\nbuild\tX=1\n=>\t../a\t\t\nmod\tm\tv0\t\nmod\tn\tv2\t\ndep\tb\tv3"
    info = parse_modinfo("go1.20", text)
    assert info.main == GoModule("n", "v2")
    assert info.deps == (GoModule("a", "v1", "h1:a=", GoModule("../a")),)
    assert info.settings == (("X", "1"),)


@pytest.mark.parametrize(("literal", "value", "used"), [
    ('"plain"', "plain", 7),
    ('"a\\"b\\\\c"rest', 'a"b\\c', 9),
    ('"\\n\\t\\r\\a\\b\\f\\v"', "\n\t\r\a\b\f\v", 16),
    ('"\\x41\\101"', "AA", 10),
    ('"\\xc3\\xa9"', "é", 10),
    ('"\\u00e9\\U0001F600"', "é\U0001F600", 18),
    ("`raw \\n`", "raw \\n", 8),
])
def test_unquote(literal: str, value: str, used: int) -> None:
    assert unquote(literal) == (value, used)


@pytest.mark.parametrize("literal", ['"\\q"', '"\\x4"', '"\\uD800"', '"\\400"', '"open', "`open",
                                     'bare', '"new\nline"'])
def test_unquote_rejects(literal: str) -> None:
    with pytest.raises(BinaryError):
        unquote(literal)
