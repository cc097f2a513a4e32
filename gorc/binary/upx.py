"""Detecting UPX-packed executables.

A UPX-packed program unpacks itself in memory: its real program headers,
dynamic section and Go build info are compressed, so gorc can only say that it
cannot see them. UPX writes the ``UPX!`` magic (its ``l_info``/``p_info``
headers) and a ``$Info: This file is packed with the UPX`` banner near the
start of the file; both are looked for in the first :data:`UPX_WINDOW` bytes.
"""

from __future__ import annotations

#: How many leading bytes of a file are searched for UPX's marks.
UPX_WINDOW = 4096

_MAGIC = b"UPX!"
_BANNER = b"This file is packed with the UPX"


def looks_packed(head: bytes) -> bool:
    """True when the first bytes of a file carry UPX's magic or banner."""
    window = head[:UPX_WINDOW]
    return _MAGIC in window or _BANNER in window
