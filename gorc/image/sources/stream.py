"""A layer blob streamed over HTTP, as a plain binary stream.

The layer reader expects a file-like object whose failures are gorc errors;
an HTTP body can fail half-way (a reset connection, a read timeout), so this
wrapper turns those into a :class:`LayerError` naming the blob.
"""

from __future__ import annotations

import io

import requests
import urllib3.exceptions

from gorc.errors import LayerError
from gorc.image.decompress import short

#: What reading a streamed HTTP body raises when the connection fails half-way.
STREAM_ERRORS = (urllib3.exceptions.HTTPError, requests.RequestException, OSError)


class ResponseStream(io.RawIOBase):
    """The body of a streamed response, read as it arrives (never held whole)."""

    def __init__(self, response: requests.Response, digest: str) -> None:
        super().__init__()
        self._response, self._digest = response, digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._response.raw.read(len(buffer), decode_content=True)
        except STREAM_ERRORS as err:
            raise LayerError(f"cannot read layer {short(self._digest)}: {err}") from err
        count = len(data)
        memoryview(buffer)[:count] = data
        return count

    def close(self) -> None:
        self._response.close()
        super().close()
