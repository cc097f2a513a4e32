"""Image-controlled text made safe for a terminal or a CI log.

An image path, a manifest field or a script line may hold an ESC sequence (that
recolours the terminal or retitles its window) or a right-to-left override
(that reorders what the reader sees). Everything gorc prints for people goes
through :func:`safe`; JSON and SARIF escape such characters by themselves.
"""

from __future__ import annotations

# Control characters (C0 but newline, DEL, C1) and bidirectional overrides are
# shown escaped.
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_UNSAFE = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]
           if code != 0x0A}
_UNSAFE.update({code: f"\\u{code:04x}" for code in _BIDI})
_UNSAFE_IN_LINE = {**_UNSAFE, 0x0A: "\\x0a"}


def safe(text: str, *, one_line: bool = False) -> str:
    """``text`` with terminal control characters escaped (``\\x1b``).

    ``one_line`` escapes newlines too, for paths and locations.
    """
    return text.translate(_UNSAFE_IN_LINE if one_line else _UNSAFE)
