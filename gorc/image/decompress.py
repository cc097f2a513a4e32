"""One pass over a stored layer blob: hash it, detect its compression, inflate it.

The compression is read from the blob's first bytes, not from its media type:
``docker save`` gives no media type and some registries label layers wrongly.
A media type that names something gorc cannot read (bzip2, encrypted layers, a
non-layer artifact) is still refused up front.

Memory stays bounded whatever the blob holds: input is read in 1 MiB chunks and
the inflaters are asked for at most 1 MiB of output at a time (gzip through
``max_length``, zstd by feeding small input slices), so a decompression bomb
costs time, never memory.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from enum import StrEnum
from typing import BinaryIO, cast

from gorc.errors import LayerError

log = logging.getLogger(__name__)

#: Size of every read from the stored blob and of the inflated chunks handed on.
CHUNK = 1024 * 1024

#: zstd gives no output bound per call; a 4 KiB slice inflates to at most
#: 128 MiB (a raw block of 128 KiB from a 4-byte RLE block header, RFC 8878 3.1.1.2).
_ZSTD_SLICE = 4096

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_OTHER_MAGICS = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}

_LAYER_TYPE_PREFIXES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.foreign.diff.tar",
)
_LAYER_TYPE_SUFFIXES = ("", "+gzip", "+zstd", ".gzip", ".zstd")


class Compression(StrEnum):
    """How a layer blob is stored."""

    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


def short(digest: str) -> str:
    """A digest cut for messages: ``sha256:ab12cd34ef56``."""
    return digest[:19] + "..." if len(digest) > 19 else digest


def check_media_type(media_type: str, digest: str) -> None:
    """Refuse a layer whose media type names something that is not a (compressed) tar.

    An empty media type (classic ``docker save``) is accepted: the content decides.
    """
    if media_type and not is_layer_media_type(media_type):
        raise LayerError(f"cannot read layer {short(digest)}: unsupported media type "
                         f"{media_type}")


def is_layer_media_type(media_type: str) -> bool:
    """True for the OCI and Docker layer types gorc reads: a tar, plain, gzip or zstd."""
    return any(media_type.startswith(prefix) and media_type[len(prefix):] in _LAYER_TYPE_SUFFIXES
               for prefix in _LAYER_TYPE_PREFIXES)


class HashingReader:
    """Reads a stored blob in chunks, hashing and counting every byte it passes on."""

    def __init__(self, stream: BinaryIO, digest: str) -> None:
        self._stream = stream
        algorithm = digest.partition(":")[0] if ":" in digest else "sha256"
        try:
            self.hasher = hashlib.new(algorithm)
        except ValueError as err:
            raise LayerError(f"cannot read layer {short(digest)}: unknown digest algorithm "
                             f"{algorithm}") from err
        self.algorithm = algorithm
        self.count = 0
        self._label = short(digest)

    def read(self, size: int = CHUNK) -> bytes:
        """Up to ``size`` bytes; b"" at the end."""
        try:
            data = self._stream.read(size)
        except OSError as err:
            raise LayerError(f"cannot read layer {self._label}: {err}") from err
        self.hasher.update(data)
        self.count += len(data)
        return data

    def drain(self) -> None:
        """Read (and hash) whatever is left after the compressed stream."""
        while self.read():
            pass

    @property
    def digest(self) -> str:
        """The digest of everything read so far, ``algorithm:hex``."""
        return f"{self.algorithm}:{self.hasher.hexdigest()}"


def detect(head: bytes, digest: str) -> Compression:
    """The compression of a blob starting with ``head``; LayerError for bzip2, xz."""
    if head.startswith(GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(ZSTD_MAGIC) or _is_skippable_frame(head):
        return Compression.ZSTD
    for magic, name in _OTHER_MAGICS.items():
        if head.startswith(magic):
            raise LayerError(f"cannot read layer {short(digest)}: {name} compression "
                             "is not a layer format")
    return Compression.NONE


def _is_skippable_frame(head: bytes) -> bool:
    """A zstd skippable frame: magic 0x184D2A50 to 0x184D2A5F, little-endian (RFC 8878 3.1.2)."""
    return len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50


def inflate(reader: HashingReader, digest: str) -> Iterator[bytes]:
    """The uncompressed bytes of the blob, in chunks of at most :data:`CHUNK`.

    Reads ``reader`` to its very end so that its digest covers the whole blob.
    """
    head = reader.read(CHUNK)
    kind = detect(head, digest)
    log.debug("layer %s: %s", short(digest), kind)
    if kind is Compression.GZIP:
        yield from _gunzip(reader, head, digest)
    elif kind is Compression.ZSTD:
        yield from _unzstd(reader, head, digest)
    else:
        while head:
            yield head
            head = reader.read(CHUNK)


def _gunzip(reader: HashingReader, data: bytes, digest: str) -> Iterator[bytes]:
    """Inflate gzip members one after the other (RFC 1952 2.2 allows several)."""
    # isal and zstandard are imported only when a layer is really inflated: a warm
    # run (every layer cached) never pays for them.
    from isal import isal_zlib

    gzip_error = isal_error()
    inflater = isal_zlib.decompressobj(wbits=31)
    try:
        while data:
            out = inflater.decompress(data, CHUNK)
            if out:
                yield out
            data = inflater.unconsumed_tail
            if inflater.eof:
                data = inflater.unused_data + data
                if not data:
                    data = reader.read(CHUNK)
                if not data or not _next_gzip_member(data, digest):
                    break
                inflater = isal_zlib.decompressobj(wbits=31)
            elif not data:
                data = reader.read(CHUNK)
    except gzip_error as err:
        raise LayerError(f"cannot read layer {short(digest)}: corrupt gzip stream: "
                         f"{err}") from err
    if not inflater.eof:
        raise LayerError(f"cannot read layer {short(digest)}: unexpected end of gzip stream")
    _check_trailing(reader, digest, "gzip")


def isal_error() -> type[Exception]:
    """The error isal raises for corrupt deflate data (not an OSError, unlike gzip's)."""
    from isal import igzip_lib

    # isal's stubs declare its error as an instance, not a class.
    return cast(type[Exception], igzip_lib.IsalError)


def _next_gzip_member(data: bytes, digest: str) -> bool:
    """True when another gzip member follows; zero padding ends the stream quietly."""
    if data.startswith(GZIP_MAGIC) or (len(data) == 1 and data == GZIP_MAGIC[:1]):
        return True
    if data.strip(b"\0"):
        raise LayerError(f"cannot read layer {short(digest)}: garbage after gzip stream")
    return False


def _check_trailing(reader: HashingReader, digest: str, what: str) -> None:
    """Read what follows the compressed stream: zero padding is fine, anything else is not."""
    while data := reader.read(CHUNK):
        if data.strip(b"\0"):
            raise LayerError(f"cannot read layer {short(digest)}: garbage after {what} stream")


def _slices(reader: HashingReader, data: bytes) -> Iterator[memoryview]:
    """The blob from ``data`` on, in slices of :data:`_ZSTD_SLICE` bytes."""
    while data:
        view = memoryview(data)
        for start in range(0, len(data), _ZSTD_SLICE):
            yield view[start:start + _ZSTD_SLICE]
        data = reader.read(CHUNK)


def _unzstd(reader: HashingReader, data: bytes, digest: str) -> Iterator[bytes]:
    """Inflate zstd frames one after the other (RFC 8878 3: frames are concatenated)."""
    import zstandard

    inflater = zstandard.ZstdDecompressor().decompressobj(write_size=CHUNK)
    started = False
    pending: list[bytes] = []
    size = 0
    try:
        for piece in _slices(reader, data):
            rest: bytes | memoryview = piece
            while rest:
                if inflater.eof:
                    inflater = zstandard.ZstdDecompressor().decompressobj(write_size=CHUNK)
                started = True
                out = inflater.decompress(rest)
                rest = inflater.unused_data if inflater.eof else b""
                pending.append(out)
                size += len(out)
            if size >= CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
    except zstandard.ZstdError as err:
        raise LayerError(f"cannot read layer {short(digest)}: corrupt zstd stream: "
                         f"{err}") from err
    if size:
        yield b"".join(pending)
    if started and not inflater.eof:
        raise LayerError(f"cannot read layer {short(digest)}: unexpected end of zstd stream")
