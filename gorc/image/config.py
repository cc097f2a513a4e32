"""The image config JSON: parsing it, summarising it, and mapping layers to instructions.

The config (OCI image spec, config.md; Docker's image JSON) is what the runtime
uses: ``config.Env`` (PATH), ``Entrypoint``, ``Cmd``, ``User``, ``WorkingDir``,
``Healthcheck``, plus ``os``, ``architecture`` and ``variant`` at the top level.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from gorc.errors import ImageSourceError
from gorc.model import ImageSummary

log = logging.getLogger(__name__)

# Bounds what gorc parses from a source: a real config is a few KiB.
MAX_CONFIG_SIZE = 8 * 1024 * 1024

_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_BUILD_ARGS = re.compile(r"^\|\d+(?: \S+=\S*)* ")
_KEYWORD = re.compile(
    r"^(?:RUN|COPY|ADD|ENV|ARG|CMD|ENTRYPOINT|USER|WORKDIR|LABEL|EXPOSE|VOLUME|SHELL|"
    r"HEALTHCHECK|STOPSIGNAL|ONBUILD|MAINTAINER)\b"
)


def parse_config(data: bytes, where: str) -> Mapping[str, Any]:
    """The config JSON as a mapping; raises ImageSourceError when it is not a JSON object."""
    if len(data) > MAX_CONFIG_SIZE:
        raise ImageSourceError(f"cannot read the image config of {where}: larger than 8 MiB")
    try:
        config = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ImageSourceError(
            f"cannot read the image config of {where}: not JSON ({err})"
        ) from err
    if not isinstance(config, dict):
        raise ImageSourceError(f"cannot read the image config of {where}: not a JSON object")
    return config


def diff_ids(config: Mapping[str, Any]) -> list[str]:
    """The config's ``rootfs.diff_ids`` (the digests of the uncompressed layers)."""
    rootfs = config.get("rootfs")
    ids = rootfs.get("diff_ids") if isinstance(rootfs, Mapping) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return []
    return list(ids)


def summarize(reference: str, digest: str | None, config: Mapping[str, Any]) -> ImageSummary:
    """The run-time view of an image: identity, platform and the process it starts."""
    run = config.get("config")
    if not isinstance(run, Mapping):
        run = {}  # scratch images built from nothing may have a null config
    health = run.get("Healthcheck")
    return ImageSummary(
        reference=reference,
        digest=digest,
        os=_string(config.get("os")),
        architecture=_string(config.get("architecture")),
        variant=_string(config.get("variant")),
        entrypoint=_strings(run.get("Entrypoint"), "Entrypoint"),
        cmd=_strings(run.get("Cmd"), "Cmd"),
        user=_string(run.get("User")),
        env=_env(run.get("Env")),
        working_dir=_string(run.get("WorkingDir")),
        healthcheck=_strings(health.get("Test"), "Healthcheck") if isinstance(health, Mapping)
        else None,
    )


def layer_commands(config: Mapping[str, Any]) -> dict[str, str]:
    """diff_id -> the Dockerfile instruction that made the layer, from ``history``.

    History entries with ``empty_layer`` made no layer and are skipped; when the
    remaining entries do not pair up with the diff_ids one to one (squashed or
    hand-made images), nothing is returned rather than a wrong pairing.
    """
    history = config.get("history")
    if not isinstance(history, list):
        return {}
    entries = [h for h in history if isinstance(h, Mapping) and not h.get("empty_layer")]
    ids = diff_ids(config)
    if len(entries) != len(ids):
        log.debug("history has %s layer entries for %s layers; not pairing", len(entries), len(ids))
        return {}
    commands = {}
    for diff_id, entry in zip(ids, entries, strict=True):
        created_by = entry.get("created_by")
        if isinstance(created_by, str) and created_by.strip():
            commands[diff_id] = instruction(created_by)
    return commands


def instruction(created_by: str) -> str:
    """A history ``created_by`` line as the Dockerfile instruction a user wrote.

    The classic builder records ``/bin/sh -c #(nop) COPY ...`` for metadata and
    copies, and for RUN the command itself (``/bin/sh -c CMD`` for the shell
    form), after ``|N ARG=V ...`` when build args were in scope; BuildKit,
    buildah and kaniko record the instruction itself (BuildKit adds ``# buildkit``).
    """
    text = created_by.strip().removesuffix("# buildkit").strip()
    if _NOP.match(text):
        return _NOP.sub("", text).strip()
    text = _BUILD_ARGS.sub("", text)
    if _KEYWORD.match(text):
        return text
    return "RUN " + text.removeprefix("/bin/sh -c ").strip()


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: object, field: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)  # some hand-made configs give a string; Docker wraps it the same way
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    log.warning("ignoring the image config's %s: not a list of strings", field)
    return None


def _env(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    pairs = []
    for item in value:
        if isinstance(item, str):
            key, _, val = item.partition("=")
            pairs.append((key, val))
    return tuple(pairs)
