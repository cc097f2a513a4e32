"""Root filesystems for test images, and images built FROM scratch out of them.

:func:`image_from_root` turns a root directory (plus extra files) into an image
on the real engine. Its build context is a tar written by :mod:`tarfile`, so
symlinks stay symlinks and modes (``/tmp`` 1777) survive the classic builder's
``COPY``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tarfile
import tempfile
from pathlib import Path
from typing import IO

import docker.errors

from tests.support import InfraError, cache_dir, hash_inputs
from tests.support.engine import DockerEngine

log = logging.getLogger(__name__)

KEY_LABEL = "gorc.test.context-key"


def image_from_root(
    engine: DockerEngine,
    root: Path,
    tag: str,
    files: dict[str, Path] | None = None,
    entrypoint: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Build an image FROM scratch holding ``root`` plus ``files`` and return ``tag``.

    ``files`` maps a destination path in the image to a host file. The image is
    rebuilt only when the root, the files or the settings changed since ``tag``
    was last built (a label on the image records a hash of them).
    """
    extra = sorted((files or {}).items())
    dockerfile = _dockerfile(root, [dest for dest, _ in extra], entrypoint, env or {})
    key = hash_inputs([dockerfile, *_root_stamp(root), *_files_stamp(extra)])
    if _built_with(engine, tag, key):
        return tag
    with tempfile.TemporaryFile(dir=_scratch_dir()) as context:
        _write_context(context, root, extra, f"{dockerfile}LABEL {KEY_LABEL}={key}\n")
        context.seek(0)
        _build_from_tar(engine, context, tag)
    return tag


def _dockerfile(
    root: Path, dests: list[str], entrypoint: list[str] | None, env: dict[str, str]
) -> str:
    """Return the Dockerfile text: the root, then each extra file, then the config."""
    lines = ["FROM scratch"]
    if any(root.iterdir()):
        lines.append("COPY rootfs/ /")
    lines += [f"COPY files/{index} {json.dumps(dest)}" for index, dest in enumerate(dests)]
    lines += [f"ENV {name}={json.dumps(value)}" for name, value in sorted(env.items())]
    if entrypoint is not None:
        lines.append(f"ENTRYPOINT {json.dumps(entrypoint)}")
    return "\n".join(lines) + "\n"


def _root_stamp(root: Path) -> list[str]:
    """Describe every entry of ``root`` by path, mode, size and mtime (cheap to compute)."""
    stamp = [str(root.resolve())]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted([*dirnames, *filenames]):
            info = os.lstat(os.path.join(dirpath, name))
            stamp.append(f"{dirpath}/{name} {info.st_mode} {info.st_size} {info.st_mtime_ns}")
    return stamp


def _files_stamp(files: list[tuple[str, Path]]) -> list[str | bytes]:
    """Describe the extra files by destination and content."""
    stamp: list[str | bytes] = []
    for dest, source in files:
        stamp += [dest, source.read_bytes()]
    return stamp


def _built_with(engine: DockerEngine, tag: str, key: str) -> bool:
    """Tell whether ``tag`` exists and was built from the context with hash ``key``."""
    try:
        image = engine.client().images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    labels = image.attrs.get("Config", {}).get("Labels") or {}
    return bool(labels.get(KEY_LABEL) == key)


def _scratch_dir() -> str:
    """Return where to spool build contexts (the cache dir: /tmp may be small)."""
    path = cache_dir() / "tmp"
    path.mkdir(exist_ok=True)
    return str(path)


def _write_context(
    context: IO[bytes], root: Path, files: list[tuple[str, Path]], dockerfile: str
) -> None:
    """Write the build context tar: Dockerfile, ``rootfs/`` and ``files/N``."""
    with tarfile.open(fileobj=context, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        tar.add(root, arcname="rootfs")
        for index, (_, source) in enumerate(files):
            # The extra files are added by content, even when the host path is a symlink.
            real = source.resolve()
            info = tar.gettarinfo(str(real), arcname=f"files/{index}")
            with open(real, "rb") as handle:
                tar.addfile(info, handle)


def _build_from_tar(engine: DockerEngine, context: IO[bytes], tag: str) -> None:
    """Build the tar context with the classic builder, failing with the build log."""
    try:
        engine.client().images.build(
            fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True
        )
    except docker.errors.BuildError as err:
        tail = "".join(str(line.get("stream", line)) for line in list(err.build_log)[-15:])
        raise InfraError(f"cannot build {tag}: {err.msg}\n{tail}") from err
    except docker.errors.APIError as err:
        raise InfraError(f"cannot build {tag}: {err.explanation}") from err
    log.info("built image %s", tag)
