"""Images built FROM scratch out of a root directory, on the real engine.

:func:`image_from_root` turns a root directory (plus extra files) into an image.
Its build context is a tar written by :mod:`tarfile`, so symlinks stay symlinks
and modes (``/tmp`` 1777) survive the classic builder's ``COPY``.
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
ROOT_IMAGE = "gorc-test-root"


def image_from_root(
    engine: DockerEngine,
    root: Path,
    tag: str,
    files: dict[str, Path] | None = None,
    entrypoint: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Build an image FROM scratch holding ``root`` plus ``files`` and return ``tag``.

    ``files`` maps a destination path in the image to a host file. The image has
    one layer for the root and one per extra file. The root's layer is built once
    as an image of its own (``gorc-test-root:KEY``) and reused, so a large root
    is sent to the engine once, not once per test image. ``tag`` is rebuilt only
    when the root, the files or the settings changed (a label records their hash).
    """
    extra = sorted((files or {}).items())
    base = _root_image(engine, root)
    dockerfile = _dockerfile(base, [dest for dest, _ in extra], entrypoint, env or {})
    key = hash_inputs([dockerfile, *_files_stamp(extra)])
    if not _built_with(engine, tag, key):
        _build(engine, tag, f"{dockerfile}LABEL {KEY_LABEL}={key}\n", None, extra)
    return tag


def _root_image(engine: DockerEngine, root: Path) -> str:
    """Return an image holding just ``root`` (``scratch`` for an empty root), built once."""
    if not any(root.iterdir()):
        return "scratch"
    key = hash_inputs(_root_stamp(root))
    tag = f"{ROOT_IMAGE}:{key}"
    if not _built_with(engine, tag, key):
        dockerfile = f"FROM scratch\nCOPY rootfs/ /\nLABEL {KEY_LABEL}={key}\n"
        _build(engine, tag, dockerfile, root, [])
    return tag


def _dockerfile(
    base: str, dests: list[str], entrypoint: list[str] | None, env: dict[str, str]
) -> str:
    """Return the Dockerfile text: the root's image, each extra file, then the config."""
    lines = [f"FROM {base}"]
    lines += [f"COPY {json.dumps([f'files/{i}', dest])}" for i, dest in enumerate(dests)]
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


def _build(
    engine: DockerEngine,
    tag: str,
    dockerfile: str,
    root: Path | None,
    files: list[tuple[str, Path]],
) -> None:
    """Spool a tar build context (Dockerfile, ``rootfs/``, ``files/N``) and build it."""
    with tempfile.TemporaryFile(dir=_scratch_dir()) as context:
        _write_context(context, root, files, dockerfile)
        context.seek(0)
        _build_from_tar(engine, context, tag)


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
    context: IO[bytes], root: Path | None, files: list[tuple[str, Path]], dockerfile: str
) -> None:
    """Write the build context tar: Dockerfile, ``rootfs/`` and ``files/N``."""
    with tarfile.open(fileobj=context, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        if root is not None:
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
