"""Property-based fuzzing of the ELF and build-info readers on mutated real binaries.

Whatever the damage, only gorc's BinaryError (or a valid answer) may come out:
a damaged binary in an image must become a finding or an unknown, not a crash.
Examples are derandomized so that CI runs the same cases every time.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gorc.binary.buildinfo import read_buildinfo
from gorc.binary.discover import is_go_binary
from gorc.binary.elf import ElfInfo, read_elf, read_layout
from gorc.errors import BinaryError
from gorc.model import GoBuildInfo
from tests.binary import craft
from tests.support.probes import ProbeBuilder

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MODINFO = (
    "path\texample.com/x\nmod\texample.com/x\tv1.0.0\th1:x=\n"
    "dep\texample.com/y\tv0.1.0\n=>\t../y\t\t\nbuild\t-ldflags=\"-s \\x41\"\n"
)


@dataclass(frozen=True)
class Target:
    """A real binary and the byte ranges worth damaging in it."""

    data: bytes
    regions: tuple[tuple[int, int], ...]


def _regions(data: bytes) -> tuple[tuple[int, int], ...]:
    """ELF header, program headers, dynamic segment, version tables, build info, sections."""
    layout = read_layout(io.BytesIO(data))
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    regions = [(0, 64), (phoff, phoff + 56 * len(layout.segments)), (shoff, len(data))]
    for segment in layout.segments:
        if segment.type == 2:
            regions.append((segment.offset, segment.offset + segment.filesz))
    for name in (".gnu.version_r", ".gnu.version_d", ".dynstr", ".go.buildinfo"):
        section = layout.section(name)
        if section is not None:
            regions.append((section.offset, section.offset + min(section.size, 4096)))
    return tuple((start, end) for start, end in regions if end > start)


@pytest.fixture(scope="session")
def targets(probes: ProbeBuilder) -> tuple[Target, ...]:
    """A dynamic cgo binary, a static one, and a crafted pre-1.18 build-info ELF."""
    found = []
    for name, variant in (("cgo", "cgo-glibc"), ("hello", "stripped")):
        data = probes.build(name, variant).read_bytes()
        found.append(Target(data, _regions(data)))
    old = craft.go_elf_pointers("go1.16.3", MODINFO, 64, False, 21)
    found.append(Target(old, ((0, len(old)),)))
    return tuple(found)


def _check(data: bytes) -> None:
    """Each reader either answers or raises BinaryError; nothing else gets out."""
    for reader in (read_elf, read_buildinfo):
        try:
            result = reader(io.BytesIO(data))
        except BinaryError as err:
            assert str(err).startswith("cannot read")
            assert "\n" not in str(err)
        else:
            assert result is None or isinstance(result, ElfInfo | GoBuildInfo)
    assert is_go_binary(io.BytesIO(data)) in (True, False)


mutation = st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255))


@pytest.mark.go
@FUZZ
@given(which=st.integers(0, 2), region=st.integers(min_value=0),
       flips=st.lists(mutation, min_size=1, max_size=8))
def test_flipped_bytes(targets: tuple[Target, ...], which: int, region: int,
                       flips: list[tuple[int, int]]) -> None:
    target = targets[which]
    start, end = target.regions[region % len(target.regions)]
    data = bytearray(target.data)
    for position, value in flips:
        data[start + position % (end - start)] = value
    _check(bytes(data))


@pytest.mark.go
@FUZZ
@given(which=st.integers(0, 2), word=st.integers(min_value=0),
       value=st.sampled_from([0, 1, 0x7F, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 40, 2**64 - 1]))
def test_extreme_header_words(targets: tuple[Target, ...], which: int, word: int,
                              value: int) -> None:
    """Overwrite one 8-byte word of the headers with a boundary value (sizes, counts)."""
    target = targets[which]
    start, end = target.regions[word % len(target.regions)]
    data = bytearray(target.data)
    at = start + (word // len(target.regions)) % max(1, end - start - 8)
    data[at:at + 8] = (value & (2**64 - 1)).to_bytes(8, "little")
    _check(bytes(data))


@pytest.mark.go
@FUZZ
@given(which=st.integers(0, 2), cut=st.floats(min_value=0, max_value=1))
def test_truncated(targets: tuple[Target, ...], which: int, cut: float) -> None:
    data = targets[which].data
    _check(data[: int(len(data) * cut)])


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_after_the_magic(tail: bytes) -> None:
    _check(b"\x7fELF" + tail)


@FUZZ
@given(version=st.text(max_size=40), modinfo=st.text(max_size=300))
def test_arbitrary_modinfo_text(version: str, modinfo: str) -> None:
    _check(craft.go_elf_inline(version, modinfo + "\n"))
