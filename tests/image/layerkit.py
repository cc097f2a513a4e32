"""Layer tars built in the test: files, dirs, links, whiteouts, and raw hostile headers."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import zstandard

from gorc.image.layers import LayerIndex, LayerStore
from gorc.image.sources.base import LayerBlob

#: One tar member: (name, kind, payload). kind: file, dir, symlink, hardlink, char, fifo;
#: payload is the content for a file and the target for links.
Member = tuple[str, str, bytes | str]

_TYPES = {
    "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}


def digest(data: bytes) -> str:
    """sha256 digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_tar(members: Sequence[Member], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed tar of ``members`` in the given order."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.type = _TYPES[kind]
            info.mode = 0o755 if kind in ("file", "dir") else 0o777
            data = None
            if kind == "file":
                raw = payload.encode() if isinstance(payload, str) else payload
                info.size = len(raw)
                data = io.BytesIO(raw)
            elif kind in ("symlink", "hardlink"):
                info.linkname = str(payload)
            archive.addfile(info, data)
    return out.getvalue()


def compress(tar: bytes, how: str) -> bytes:
    """``tar`` stored as ``how``: none, gzip or zstd."""
    if how == "gzip":
        # mtime 0: the same tar always gives the same blob (and digest)
        return gzip.compress(tar, compresslevel=1, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(tar)
    return tar


def blob(stored: bytes, tar: bytes | None = None, media_type: str = "",
         opener: Callable[[], BinaryIO] | None = None, **override: object) -> LayerBlob:
    """A LayerBlob over ``stored`` bytes; ``tar`` (uncompressed) gives the diff_id."""
    fields: dict[str, object] = {
        "digest": digest(stored),
        "media_type": media_type,
        "size": len(stored),
        "diff_id": digest(tar) if tar is not None else None,
        "opener": opener or (lambda: io.BytesIO(stored)),
    }
    fields.update(override)
    return LayerBlob(**fields)  # type: ignore[arg-type]


def load_layers(cache: Path, *layers: Sequence[Member], how: str = "gzip") -> list[LayerIndex]:
    """Each member list as a layer, loaded through a LayerStore on ``cache``."""
    store = LayerStore(cache)
    result = []
    for members in layers:
        tar = make_tar(members)
        result.append(store.load(blob(compress(tar, how), tar)))
    return result


def raw_header(name: bytes = b"f", size: bytes = b"%011o" % 0, typeflag: bytes = b"0",
               mode: bytes = b"0000644", fix_checksum: bool = True) -> bytes:
    """One hand-made ustar header block, for headers tarfile refuses to write."""
    block = bytearray(512)
    block[0:len(name)] = name
    block[100:100 + len(mode)] = mode
    block[108:115] = b"0000000"
    block[116:123] = b"0000000"
    block[124:124 + len(size)] = size
    block[136:147] = b"00000000000"
    block[156:157] = typeflag
    block[257:263] = b"ustar\0"
    block[263:265] = b"00"
    block[148:156] = b" " * 8
    if fix_checksum:
        block[148:155] = b"%06o\0" % sum(block)
    return bytes(block)
