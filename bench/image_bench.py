"""Image-side benchmark: gorc's layer reading against the floor of ``tar -xzf``.

Usage::

    python bench/image_bench.py [--size-mb 250] [--layers 4] [--keep]

Builds (once, cached under the test cache dir) a docker-archive of about
``--size-mb`` MB of real files from the host's /usr, in gzip layers, then in
one run measures:

- floor: ``tar -xzf`` of every layer blob into one temp dir;
- cold: gorc with an empty layer cache (docker-archive source, LayerStore.load
  of every layer, squash, walk of the whole tree), in a fresh subprocess;
- warm: the same with the cache filled;
- end to end: ``gorc inspect docker-archive:...`` cold and warm, when the CLI
  has the command;

with each subprocess's peak RSS (its own ``ru_maxrss``). Results are printed
and written to bench/results/image-<size>.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: Small files first (headers, docs, data), then libraries and programs: a realistic mix.
SOURCES = ["/usr/include", "/usr/share", "/usr/lib", "/usr/bin"]
#: Files bigger than this are skipped so that the size comes from many files.
MAX_FILE = 16 * 1024 * 1024
_ARCHIVE_VERSION = 2


def cache_root() -> Path:
    """Where built archives are kept between runs (the test cache)."""
    base = os.environ.get("GORC_TEST_CACHE") or str(REPO / ".gorc-test-cache")
    return Path(base) / "bench"


# -- building the archive ----------------------------------------------------------


def collect_files(size_bytes: int) -> list[str]:
    """Paths (relative to /) of regular files and symlinks until ``size_bytes`` is reached."""
    chosen: list[str] = []
    total = 0
    for top in SOURCES:
        for directory, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(directory, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if st.st_size > MAX_FILE or not os.access(path, os.R_OK):
                    continue
                chosen.append(path.lstrip("/"))
                total += st.st_size if not os.path.islink(path) else 0
                if total >= size_bytes:
                    return chosen
    return chosen


def reuse_or_reset(root: Path) -> tuple[Path, list[Path]] | None:
    """A bench archive already built under ``root`` (archive, blobs in layer order), or
    None after clearing ``root`` for a fresh build."""
    archive = root / "image.tar"
    if archive.is_file():
        blobs = sorted((root / "blobs").iterdir(), key=lambda p: int(p.name.split("-")[0]))
        return archive, blobs
    shutil.rmtree(root, ignore_errors=True)
    (root / "blobs").mkdir(parents=True)
    return None


def build_archive(size_mb: int, layers: int) -> tuple[Path, list[Path]]:
    """The docker-archive and its layer blobs, built once per (size, layers)."""
    key = hashlib.sha256(f"{_ARCHIVE_VERSION}:{size_mb}:{layers}".encode()).hexdigest()[:12]
    root = cache_root() / f"image-{size_mb}mb-{layers}l-{key}"
    archive = root / "image.tar"
    cached = reuse_or_reset(root)
    if cached is not None:
        return cached
    files = collect_files(size_mb * 1024 * 1024)
    print(f"building a {size_mb} MB archive from {len(files)} host files...", file=sys.stderr)
    per_layer = (len(files) + layers - 1) // layers
    blobs, diff_ids = [], []
    for number in range(layers):
        part = files[number * per_layer:(number + 1) * per_layer]
        blob, diff_id = _make_layer(part, root / "blobs" / f"{number}-layer.tar.gz")
        blobs.append(blob)
        diff_ids.append(diff_id)
    _write_archive(archive, blobs, diff_ids)
    return archive, blobs


def _make_layer(files: list[str], out: Path) -> tuple[Path, str]:
    listing = out.with_suffix(".list")
    listing.write_text("\n".join(files) + "\n")
    tar_path = out.with_suffix("")
    subprocess.run(["tar", "-C", "/", "--no-recursion", "-cf", str(tar_path),
                    "-T", str(listing)], check=True, stderr=subprocess.DEVNULL)
    diff_id = "sha256:" + _sha256(tar_path)
    with open(out, "wb") as sink:
        subprocess.run(["gzip", "-6", "-n", "-c", str(tar_path)], stdout=sink, check=True)
    tar_path.unlink()
    listing.unlink()
    return out, diff_id


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def _write_archive(archive: Path, blobs: list[Path], diff_ids: list[str],
                   entrypoint: str = "/usr/bin/env") -> None:
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Entrypoint": [entrypoint]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_bytes = json.dumps(config).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    names = [f"blobs/sha256/{_sha256(blob)}" for blob in blobs]
    manifest = [{"Config": f"blobs/sha256/{config_hex}", "RepoTags": ["bench:latest"],
                 "Layers": names}]
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w") as out:
        _add_bytes(out, f"blobs/sha256/{config_hex}", config_bytes)
        _add_bytes(out, "manifest.json", json.dumps(manifest).encode())
        for blob, name in zip(blobs, names, strict=True):
            out.add(str(blob), arcname=name)
    partial.rename(archive)


def _add_bytes(out: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))


# -- measuring -----------------------------------------------------------------------


def floor(blobs: list[Path]) -> float:
    """Seconds for ``tar -xzf`` of every layer into one temp dir."""
    with tempfile.TemporaryDirectory(prefix="gorc-bench-floor-") as target:
        start = time.perf_counter()
        for blob in blobs:
            subprocess.run(["tar", "-xzf", str(blob), "-C", target], check=True)
        return time.perf_counter() - start


def stream_floor(blobs: list[Path]) -> float:
    """Seconds for ``tar -xzOf`` of every layer to /dev/null: inflate and read, no writes."""
    start = time.perf_counter()
    for blob in blobs:
        subprocess.run(["tar", "-xzOf", str(blob)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def child(archive: Path, cache: Path) -> dict[str, Any]:
    """Run in the subprocess: read the archive through gorc and report time and RSS."""
    from gorc.image.layers import LayerStore
    from gorc.image.sources.docker_archive import DockerArchiveSource
    from gorc.image.squash import squash

    start = time.perf_counter()
    with DockerArchiveSource(archive) as source:
        image = source.open()
        store = LayerStore(cache)
        indexes = [store.load(blob) for blob in image.layers]
    fs = squash(indexes, image.reference)
    entries = sum(1 for _ in fs.walk("/"))
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_rss_mb": rss / 1024, "entries": entries}


def run_child(archive: Path, cache: Path) -> dict[str, Any]:
    """:func:`child` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(archive), "--cache", str(cache)],
        check=True, capture_output=True, text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


_CLI_WRAPPER = """\
import atexit, resource, runpy, sys
def report():
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stderr.write(f"\\ngorc-bench-rss-kb={rss}\\n")
atexit.register(report)
sys.argv = ["gorc", *sys.argv[1:]]
runpy.run_module("gorc", run_name="__main__")
"""


def run_cli(archive: Path, cache: Path) -> dict[str, Any] | None:
    """``gorc inspect`` end to end, timed from outside; None when the CLI lacks it."""
    help_text = subprocess.run([sys.executable, "-m", "gorc", "--help"],
                               capture_output=True, text=True, cwd=REPO)
    if "inspect" not in help_text.stdout:
        return None
    command = [sys.executable, "-c", _CLI_WRAPPER, "inspect", f"docker-archive:{archive}",
               "-o", "json"]
    env = dict(os.environ, GORC_CACHE_DIR=str(cache))
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
    seconds = time.perf_counter() - start
    marker = done.stderr.rpartition("gorc-bench-rss-kb=")[2].strip()
    peak = int(marker) / 1024 if marker.isdigit() else None
    return {"seconds": seconds, "exit_code": done.returncode, "peak_rss_mb": peak}


def main() -> None:
    """Build or reuse the archive, measure, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=250)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.cache)))
        return

    archive, blobs = build_archive(args.size_mb, args.layers)
    for blob in blobs:  # same page-cache state for every contender
        _sha256(blob)
    stored_mb = sum(b.stat().st_size for b in blobs) / 1e6
    results: dict[str, Any] = {"size_mb": args.size_mb, "layers": len(blobs),
                               "stored_mb": stored_mb}
    with tempfile.TemporaryDirectory(prefix="gorc-bench-cache-") as cache_text:
        cache = Path(cache_text)
        results["floor_seconds"] = floor(blobs)
        results["stream_floor_seconds"] = stream_floor(blobs)
        results["cold"] = run_child(archive, cache / "api")
        results["warm"] = run_child(archive, cache / "api")
        results["cache_mb"] = sum(
            p.stat().st_size for p in (cache / "api").rglob("*") if p.is_file()) / 1e6
        cli_cold = run_cli(archive, cache / "cli")
        if cli_cold is not None:
            results["cli_cold"] = cli_cold
            results["cli_warm"] = run_cli(archive, cache / "cli")
    report(results)


def report(results: dict[str, Any]) -> None:
    """Print the figures beside their baseline and save them as JSON."""
    floor_s = results["floor_seconds"]
    cold = results["cold"]
    print(f"image: ~{results['size_mb']} MB of /usr files in {results['layers']} gzip layers "
          f"({results['stored_mb']:.1f} MB stored), {cold['entries']} entries; "
          f"layer cache {results['cache_mb']:.1f} MB")
    print(f"floor  tar -xzf every layer            {floor_s:7.2f} s")
    stream_s = results["stream_floor_seconds"]
    print(f"       (tar -xzOf to /dev/null, no writes {stream_s:7.2f} s)")
    for name, label in (("cold", "gorc cold (load+squash+walk)"),
                        ("warm", "gorc warm (cache filled)   ")):
        row = results[name]
        print(f"{name:6} {label}      {row['seconds']:7.2f} s  "
              f"{row['seconds'] / floor_s:5.2f}x floor  "
              f"({row['seconds'] / stream_s:4.2f}x no-write)  "
              f"peak RSS {row['peak_rss_mb']:.0f} MB")
    for name in ("cli_cold", "cli_warm"):
        row = results.get(name)
        if row:
            rss = f"{row['peak_rss_mb']:.0f} MB" if row["peak_rss_mb"] else "n/a"
            print(f"{name:8} gorc inspect (exit {row['exit_code']})   {row['seconds']:7.2f} s  "
                  f"{row['seconds'] / floor_s:5.2f}x floor  peak RSS {rss}")
    if "cli_cold" not in results:
        print("gorc inspect: not measured (the CLI has no inspect command yet)")
    out = REPO / "bench" / "results" / f"image-{results['size_mb']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
