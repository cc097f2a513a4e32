"""Build gorc's bundled sample images as docker-archive files, without an engine.

The sample service (app/) is built twice: with cgo, as `go build` does by
default where a C compiler exists, and with CGO_ENABLED=0. Each binary goes
into a FROM-scratch-like image written directly in the `docker save` layout:

  out/broken.tar  scratch + cgo binary: the kernel cannot start it (CCG201)
  out/fixed.tar   scratch + static binary + passwd, zoneinfo, /tmp: it runs

Usage: python sample_images/build.py [OUT_DIR]
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PASSWD = (
    b"root:x:0:0:root:/root:/sbin/nologin\n"
    b"nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"
)
GROUP = b"root:x:0:\nnonroot:x:65532:\n"


def go_build(out: Path, cgo: bool) -> None:
    """Build app/ into ``out`` with or without cgo, offline."""
    env = dict(os.environ, CGO_ENABLED="1" if cgo else "0", GOFLAGS="-mod=mod", GOPROXY="off")
    env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "gorc-sample-gocache"))
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=HERE / "app", env=env, check=True)


def add_file(tar: tarfile.TarFile, path: str, data: bytes, mode: int = 0o644) -> None:
    """Add a regular file to a layer."""
    info = tarfile.TarInfo(path)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar: tarfile.TarFile, path: str, mode: int = 0o755) -> None:
    """Add a directory to a layer."""
    info = tarfile.TarInfo(path)
    info.type, info.mode = tarfile.DIRTYPE, mode
    tar.addfile(info)


def layer(binary: Path, extras: bool) -> bytes:
    """One uncompressed layer: the binary at /app, and the run-time files if asked."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_file(tar, "app", binary.read_bytes(), 0o755)
        if extras:
            add_dir(tar, "etc")
            add_file(tar, "etc/passwd", PASSWD)
            add_file(tar, "etc/group", GROUP)
            add_dir(tar, "tmp", 0o1777)
            zoneinfo = Path("/usr/share/zoneinfo/Europe/Paris")
            if zoneinfo.is_file():
                for part in ("usr", "usr/share", "usr/share/zoneinfo", "usr/share/zoneinfo/Europe"):
                    add_dir(tar, part)
                add_file(tar, "usr/share/zoneinfo/Europe/Paris", zoneinfo.read_bytes())
    return buf.getvalue()


def write_archive(out: Path, tag: str, layer_tar: bytes) -> None:
    """Write a classic `docker save` archive holding one image with one layer."""
    diff_id = "sha256:" + hashlib.sha256(layer_tar).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": ["/app"],
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "User": "65532",
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "COPY app /app # buildkit"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": [layer_name]}]
    with tarfile.open(out, "w") as tar:
        add_file(tar, config_name, config_bytes)
        add_file(tar, layer_name, layer_tar)
        add_file(tar, "manifest.json", json.dumps(manifest).encode())


def main() -> None:
    """Build both sample archives into OUT_DIR (default sample_images/out)."""
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, cgo, extras in (("broken", True, False), ("fixed", False, True)):
            binary = Path(tmp) / name
            go_build(binary, cgo)
            write_archive(out_dir / f"{name}.tar", f"gorc-sample:{name}", layer(binary, extras))
            print(f"built {out_dir / name}.tar")


if __name__ == "__main__":
    main()
