"""Building an image with the engine first (``--build DIR``), through the docker SDK."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gorc.errors import ImageSourceError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """What to build: a context dir, a Dockerfile (a path from the working
    directory, else inside the context), build args and an optional tag."""

    context: Path
    dockerfile: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    tag: str | None = None


def build_image(client: Any, request: BuildRequest) -> str:
    """Build ``request`` with the engine and return the image id.

    The build output is logged at debug level; a failing step raises an
    ImageSourceError that names the step and quotes the engine's message.
    """
    import docker.errors

    from gorc.image.sources.stream import STREAM_ERRORS

    if not request.context.is_dir():
        raise ImageSourceError(f"cannot build from {request.context}: not a directory")
    try:
        events = client.api.build(
            path=str(request.context), dockerfile=_dockerfile(request), tag=request.tag,
            buildargs=dict(request.build_args), rm=True, decode=True,
        )
        return _follow(events, request)
    except docker.errors.DockerException as err:
        # an APIError's str() is the HTTP request and status; the engine's own
        # words ("dockerfile parse error line 1: ...") are its explanation
        reason = getattr(err, "explanation", None) or str(err)
        raise ImageSourceError(f"cannot build from {request.context}: {reason}") from err
    except STREAM_ERRORS as err:  # the engine went away in the middle of the build
        raise ImageSourceError(f"cannot build from {request.context}: {err}") from err


def _dockerfile(request: BuildRequest) -> str | None:
    """An absolute path when the Dockerfile exists from the working directory.

    The SDK takes a path inside the context, or an absolute one that it sends
    along with the context when it lies outside.
    """
    if request.dockerfile is None:
        return None
    given = Path(request.dockerfile)
    if given.exists():  # as the docker CLI's -f: from the working directory first
        return str(given.resolve())
    return request.dockerfile


def _follow(events: Any, request: BuildRequest) -> str:
    step, image_id = "", None
    for event in events:
        text = event.get("stream")
        if isinstance(text, str):
            log.debug("build: %s", text.rstrip())
            if text.startswith("Step "):
                step = text.split(" : ", 1)[-1].strip()
        aux = event.get("aux")
        if isinstance(aux, Mapping) and isinstance(aux.get("ID"), str):
            image_id = str(aux["ID"])
        message = engine_error(event)
        if message is not None:
            where = f" at step {step!r}" if step else ""
            raise ImageSourceError(f"cannot build from {request.context}{where}: {message}")
    if image_id is None:
        raise ImageSourceError(f"cannot build from {request.context}: the engine gave no image id")
    return image_id


def engine_error(event: Mapping[str, Any]) -> str | None:
    """The engine's message when an event of a build or pull stream reports an error."""
    if "error" not in event:
        return None
    detail = event.get("errorDetail")
    message = detail.get("message") if isinstance(detail, Mapping) else None
    return str(message or event["error"])
