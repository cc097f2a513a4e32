"""One pass over a stored layer blob: verify it, inflate it, keep the tar, index it.

Both digests are computed on the way: the stored bytes' (the manifest's layer
digest) and the uncompressed tar's (the config's diff_id). The tar is written
to the caller's file while the indexer reads it, so each byte is read once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from gorc.errors import LayerError
from gorc.image.decompress import HashingReader, inflate, short
from gorc.image.sources.base import LayerBlob
from gorc.image.tarindex import TarContents, scan


def read_blob(blob: LayerBlob, tar_path: Path) -> tuple[TarContents, str]:
    """Read ``blob`` once, writing its tar to ``tar_path``; its contents and verified diff_id.

    Raises LayerError on a digest, diff_id or size mismatch and on damaged data.
    """
    label = short(blob.digest)
    diff_hasher = hashlib.sha256()
    try:
        with blob.open() as raw, open(tar_path, "wb") as sink:
            reader = HashingReader(raw, blob.digest)
            try:
                contents = scan(_tee(inflate(reader, blob.digest), sink, diff_hasher), label)
            except LayerError as err:
                _blame_digest(reader, blob, err)
                raise
    except OSError as err:
        raise LayerError(f"cannot read layer {label}: {err.strerror or err}") from err

    _check_stored(reader, blob)
    diff_id = f"sha256:{diff_hasher.hexdigest()}"
    if blob.diff_id and blob.diff_id != diff_id:
        raise LayerError(f"layer {label}: digest mismatch: uncompressed content is "
                         f"{diff_id}, the image config says {blob.diff_id}")
    return contents, diff_id


def _tee(chunks: Iterable[bytes], sink: BinaryIO, hasher: hashlib._Hash) -> Iterator[bytes]:
    for chunk in chunks:
        sink.write(chunk)
        hasher.update(chunk)
        yield chunk


def _check_stored(reader: HashingReader, blob: LayerBlob) -> None:
    """The stored bytes must have the digest (and size) the manifest promised."""
    label = short(blob.digest)
    if ":" in blob.digest and reader.digest != blob.digest:
        raise LayerError(f"layer {label}: digest mismatch: stored content is {reader.digest}")
    if blob.size is not None and reader.count != blob.size:
        raise LayerError(f"layer {label}: size mismatch: {reader.count} bytes, "
                         f"the manifest says {blob.size}")


def _blame_digest(reader: HashingReader, blob: LayerBlob, err: LayerError) -> None:
    """A damaged stream whose digest is also wrong is reported as a digest mismatch.

    The mismatch names the real cause (a corrupt or substituted blob) better than
    whatever the inflater or tar reader tripped on.
    """
    try:
        reader.drain()
    except LayerError:
        return
    if ":" in blob.digest and reader.digest != blob.digest:
        raise LayerError(f"layer {short(blob.digest)}: digest mismatch: stored content is "
                         f"{reader.digest}") from err
