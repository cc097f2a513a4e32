"""Benchmark: gorc's ELF + Go build-info reading against readelf + ``go version -m``.

    python bench/binary_bench.py [DIR_OR_FILE ...] [--repeat N]

For every ELF file found (default: the cached probe builds, the Debian Go
binaries and /usr/bin), times gorc's ``read_elf`` + ``read_buildinfo`` against
``readelf -ldV`` + ``go version -m`` run as a user would (one process per file
and tool), in the same run, and prints both with their ratio. Then times the
largest Go binary found (50 MB or more when one exists) on its own; the aim
is under 20 ms for gorc there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gorc.binary.buildinfo import read_buildinfo  # noqa: E402
from gorc.binary.discover import is_go_binary  # noqa: E402
from gorc.binary.elf import read_elf  # noqa: E402
from gorc.errors import BinaryError  # noqa: E402

DEBIAN_GO = ["/usr/bin/skopeo", "/usr/sbin/dockerd", "/usr/bin/docker-registry",
             "/usr/bin/containerd"]
BIG = 50 * 1024 * 1024


def default_inputs() -> list[Path]:
    """The probe builds in the test cache, the Debian Go binaries and /usr/bin."""
    cache = Path(os.environ.get("GORC_TEST_CACHE") or REPO / ".gorc-test-cache")
    return [cache / "probes", cache / "binary-tests", *map(Path, DEBIAN_GO), Path("/usr/bin")]


def elf_files(inputs: Iterable[Path]) -> list[Path]:
    """Every distinct regular ELF file in ``inputs`` (files, or directories walked)."""
    seen: dict[Path, Path] = {}
    for path in _walk(inputs):
        real = path.resolve()
        if real in seen or not real.is_file():
            continue
        with open(real, "rb") as stream:
            if stream.read(4) == b"\x7fELF":
                seen[real] = path
    return sorted(seen)


def _walk(inputs: Iterable[Path]) -> Iterator[Path]:
    for top in inputs:
        if top.is_file():
            yield top
        elif top.is_dir():
            for root, _dirs, names in os.walk(top):
                yield from (Path(root) / name for name in names)


def _is_go(path: Path) -> bool:
    with open(path, "rb") as stream:
        return is_go_binary(stream)


def gorc_once(path: Path) -> None:
    """What gorc does per binary: the ELF facts and the Go build info."""
    with open(path, "rb") as stream:
        try:
            read_elf(stream)
            read_buildinfo(stream)
        except BinaryError:
            pass


def tools_once(path: Path, readelf: str, go: str) -> None:
    """What a user would run per binary."""
    subprocess.run([readelf, "-ldV", "--wide", str(path)], capture_output=True, check=False)
    subprocess.run([go, "version", "-m", str(path)], capture_output=True, check=False)


def compare_folder(files: list[Path], readelf: str, go: str) -> tuple[float, float]:
    """Total seconds for gorc and for the tools over ``files`` (page cache warmed first)."""
    for path in files:
        gorc_once(path)
    start = time.perf_counter()
    for path in files:
        gorc_once(path)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    for path in files:
        tools_once(path, readelf, go)
    theirs = time.perf_counter() - start
    return ours, theirs


def compare_single(path: Path, readelf: str, go: str, repeat: int) -> tuple[float, float]:
    """Median seconds for one binary: gorc, then the tools (after one warm-up each)."""
    gorc_once(path)
    tools_once(path, readelf, go)
    ours, theirs = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        gorc_once(path)
        ours.append(time.perf_counter() - start)
    for _ in range(max(3, repeat // 5)):
        start = time.perf_counter()
        tools_once(path, readelf, go)
        theirs.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(theirs)


def _row(label: str, ours: float, theirs: float) -> str:
    ratio = theirs / ours if ours else float("inf")
    return f"{label:<44} {ours * 1000:>10.1f} ms {theirs * 1000:>12.1f} ms {ratio:>8.1f}x"


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", type=Path, help="directories or files")
    parser.add_argument("--repeat", type=int, default=20, help="runs for the single binary")
    args = parser.parse_args(argv)
    readelf, go = shutil.which("readelf"), shutil.which("go")
    if readelf is None or go is None:
        print("binary_bench: needs readelf (binutils) and go on PATH", file=sys.stderr)
        return 2
    files = elf_files(args.inputs or default_inputs())
    if not files:
        print("binary_bench: no ELF files found", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in files)
    print(f"{'':<44} {'gorc':>13} {'readelf+go -m':>15} {'ratio':>9}")
    ours, theirs = compare_folder(files, readelf, go)
    print(_row(f"{len(files)} ELF files, {size / 2**20:.0f} MiB", ours, theirs))
    go_files = [p for p in files if _is_go(p)] or files
    biggest = max(go_files, key=lambda p: p.stat().st_size)
    ours, theirs = compare_single(biggest, readelf, go, args.repeat)
    kind = "Go binary" if _is_go(biggest) else "binary"
    label = f"{biggest.name} ({kind}, {biggest.stat().st_size / 2**20:.0f} MiB, median)"
    print(_row(label, ours, theirs))
    if biggest.stat().st_size >= BIG:
        verdict = "met" if ours < 0.020 else "missed"
        print(f"aim: under 20 ms for a 50 MB+ Go binary: {verdict} ({ours * 1000:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
