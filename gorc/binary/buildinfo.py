"""Reading the build information the Go linker embeds in every Go program.

The format follows Go's ``debug/buildinfo`` and ``runtime/debug`` packages (what
``go version -m`` prints), read here in pure Python with bounded reads:

* the blob lives in the ELF section ``.go.buildinfo`` or, when section headers
  are stripped, at the start of the first writable, non-executable PT_LOAD;
* it starts with the 14-byte magic ``\\xff Go buildinf:`` at a 16-byte aligned
  offset within the first 64 KiB, followed by the pointer size (byte 14) and
  flags (byte 15: bit 0 big-endian, bit 1 inline strings) in a 32-byte header;
* Go 1.18 and later store two uvarint-prefixed strings inline after the header
  (the Go version and the module info); older linkers store two pointers to
  Go string headers (data pointer, length) that are read through the PT_LOAD
  virtual addresses, in the target's pointer size and byte order;
* the module info is framed by two 16-byte sentinels and holds tab-separated
  lines ``path``, ``mod``, ``dep``, ``=>`` (replacing the module of the line
  before) and ``build KEY=VALUE``, with Go-quoted keys and values.
"""

from __future__ import annotations

import logging
import struct
from typing import BinaryIO

from gorc.binary.elflayout import (
    GO_BUILDINFO_WINDOW,
    SHT_NOBITS,
    ElfLayout,
    find_buildinfo_magic,
    guarded,
    read_at,
    read_layout,
)
from gorc.errors import BinaryError
from gorc.model import GoBuildInfo, GoModule

log = logging.getLogger(__name__)

_HEADER_SIZE = 32
_FLAG_BIG_ENDIAN = 1
_FLAG_INLINE = 2
_SENTINEL = 16

#: A Go string in build info is never near this long; longer means damage.
_MAX_STRING = 16 * 1024 * 1024


def read_buildinfo(stream: BinaryIO, layout: ElfLayout | None = None) -> GoBuildInfo | None:
    """The Go build info of an ELF program, or None when it is not a Go program.

    ``layout`` may be passed when the caller already read it with
    :func:`~gorc.binary.elflayout.read_layout`. Raises BinaryError when the file is
    not a readable ELF or its build info is damaged.
    """
    return guarded("Go build info", lambda: _read(stream, layout))


def _read(stream: BinaryIO, layout: ElfLayout | None) -> GoBuildInfo | None:
    if layout is None:
        layout = read_layout(stream)
    raw = _read_raw(stream, layout)
    if raw is None:
        return None
    version, modinfo = raw
    return parse_modinfo(version, modinfo)


def _read_raw(stream: BinaryIO, layout: ElfLayout) -> tuple[str, str] | None:
    """The Go version and the unframed module info, or None without build info."""
    start = _data_start(layout)
    if start is None:
        return None
    window = read_at(stream, start, GO_BUILDINFO_WINDOW, layout.file_size)
    at = find_buildinfo_magic(window)
    if at < 0 or len(window) - at < _HEADER_SIZE:
        return None
    header = window[at:]
    ptr_size, flags = header[14], header[15]
    if flags & _FLAG_INLINE:
        version, after = _uvarint_string(stream, layout, start + at + _HEADER_SIZE)
        modinfo, _ = _uvarint_string(stream, layout, after)
    else:
        reader = _PointerReader(stream, layout, ptr_size, bool(flags & _FLAG_BIG_ENDIAN))
        version = reader.string_at(reader.pointer(header, 16))
        modinfo = reader.string_at(reader.pointer(header, 16 + ptr_size))
    if not version:
        return None  # as debug/buildinfo: no version string means no Go build info
    return _text(version), _text(_unframe(modinfo))


def _data_start(layout: ElfLayout) -> int | None:
    section = layout.section(".go.buildinfo")
    if section is not None and section.type != SHT_NOBITS:  # NOBITS holds no bytes
        return section.offset
    segment = layout.first_data_load()
    return None if segment is None else segment.offset


def _uvarint_string(stream: BinaryIO, layout: ElfLayout, offset: int) -> tuple[bytes, int]:
    """A uvarint length and that many bytes at file ``offset`` (encoding/binary.Uvarint),
    and the offset after them.

    Read from the file, not from the window the magic was found in: a program
    with many dependencies has module info longer than that window.
    """
    length = shift = 0
    for i, byte in enumerate(read_at(stream, offset, 10, layout.file_size)):
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if length > _MAX_STRING:
                raise BinaryError("cannot read Go build info: a string is too long")
            data = read_at(stream, offset + i + 1, length, layout.file_size)
            if len(data) < length:
                raise BinaryError("cannot read Go build info: a string runs past the end "
                                  "of the file")
            return data, offset + i + 1 + length
    raise BinaryError("cannot read Go build info: bad string length")


def _unframe(modinfo: bytes) -> bytes:
    """Drop the 16-byte sentinels around the module info (runtime/debug's framing)."""
    if len(modinfo) >= 2 * _SENTINEL + 1 and modinfo[-_SENTINEL - 1] == ord("\n"):
        return modinfo[_SENTINEL:-_SENTINEL]
    return b""


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


class _PointerReader:
    """Reads Go string headers of the pre-1.18 format through the PT_LOAD map."""

    def __init__(self, stream: BinaryIO, layout: ElfLayout, ptr_size: int, big: bool) -> None:
        if ptr_size not in (4, 8):
            raise BinaryError(f"cannot read Go build info: pointer size {ptr_size}")
        self.stream = stream
        self.layout = layout
        self.ptr_size = ptr_size
        self.fmt = (">" if big else "<") + ("I" if ptr_size == 4 else "Q")

    def pointer(self, data: bytes, offset: int) -> int:
        """The pointer-sized word at ``offset`` of ``data``."""
        value: int = struct.unpack_from(self.fmt, data, offset)[0]
        return value

    def read(self, vaddr: int, size: int) -> bytes:
        """``size`` bytes at virtual address ``vaddr`` (offset_of checked they are there)."""
        offset = self.layout.offset_of(vaddr, size)
        if offset is None:
            raise BinaryError(f"cannot read Go build info: address {vaddr:#x} is not in the file")
        return read_at(self.stream, offset, size, self.layout.file_size)

    def string_at(self, vaddr: int) -> bytes:
        """The bytes of the Go string whose header (data, len) is at ``vaddr``."""
        header = self.read(vaddr, 2 * self.ptr_size)
        data, length = self.pointer(header, 0), self.pointer(header, self.ptr_size)
        if length > _MAX_STRING:
            raise BinaryError("cannot read Go build info: a string is too long")
        return self.read(data, length) if length else b""


def parse_modinfo(go_version: str, modinfo: str) -> GoBuildInfo:
    """Parse module info lines (runtime/debug.ParseBuildInfo's syntax) into GoBuildInfo.

    As Go does, text after the last newline is ignored and a ``=>`` line
    replaces the module of the latest ``mod`` or ``dep`` line.
    """
    path = ""
    modules: list[GoModule] = []  # the main module (when a "mod" line came) and deps
    has_main = False
    settings: list[tuple[str, str]] = []
    replaceable: int | None = None  # index in modules that a "=>" line may replace
    for number, line in enumerate(modinfo.split("\n")[:-1], 1):
        word, _, rest = line.partition("\t")
        if word == "path":
            path = rest
        elif word in ("mod", "dep"):
            module = _module(rest, number)
            if word == "dep":
                modules.append(module)
                replaceable = len(modules) - 1
                continue
            modules[:has_main] = [module]  # a later "mod" line overrides, as in Go
            has_main, replaceable = True, 0
        elif word == "=>":
            if replaceable is None:
                raise _line_error(number, "replacement without a module")
            modules[replaceable] = _replaced(modules[replaceable], _replacement(rest, number))
            replaceable = None
        elif word == "build":
            settings.append(_setting(rest, number))
    main = modules[0] if has_main else None
    return GoBuildInfo(go_version, path, main, tuple(modules[has_main:]), tuple(settings))


def _replacement(rest: str, number: int) -> GoModule:
    columns = rest.split("\t")
    if len(columns) != 3:
        raise _line_error(number, f"expected 3 columns for a replacement, got {len(columns)}")
    return GoModule(columns[0], columns[1], columns[2])


def _line_error(number: int, why: str) -> BinaryError:
    return BinaryError(f"cannot read Go build info: line {number}: {why}")


def _module(rest: str, number: int) -> GoModule:
    columns = rest.split("\t")
    if len(columns) not in (2, 3):
        raise _line_error(number, f"expected 2 or 3 columns, got {len(columns)}")
    return GoModule(columns[0], columns[1], columns[2] if len(columns) == 3 else "")


def _replaced(module: GoModule, replacement: GoModule) -> GoModule:
    return GoModule(module.path, module.version, module.sum, replacement)


def _setting(rest: str, number: int) -> tuple[str, str]:
    """One ``build`` line: KEY=VALUE, either side possibly Go-quoted."""
    if rest.startswith("="):
        raise _line_error(number, "empty build setting key")
    if rest.startswith(('"', "`")):
        key, consumed = unquote(rest)
        rest = rest[consumed:]
        if not rest.startswith("="):
            raise _line_error(number, "quoted key without '='")
        raw_value = rest[1:]
    else:
        key, eq, raw_value = rest.partition("=")
        if not eq:
            raise _line_error(number, "build setting without '='")
    if raw_value.startswith(('"', "`")):
        value, consumed = unquote(raw_value)
        if consumed != len(raw_value):
            raise _line_error(number, "text after a quoted value")
        return key, value
    return key, raw_value


_SIMPLE_ESCAPES = {
    "a": 0x07, "b": 0x08, "f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B,
    "\\": 0x5C, '"': 0x22,
}
_DIGITS = {8: "01234567", 16: "0123456789abcdefABCDEF"}
_ESCAPE_DIGITS = {"x": (2, 16), "u": (4, 16), "U": (8, 16)}


def unquote(text: str) -> tuple[str, int]:
    """The Go string literal at the start of ``text`` and how many characters it took.

    Follows strconv.QuotedPrefix/Unquote for the literals ``go version -m`` writes:
    double-quoted with escapes (``\\n``, ``\\t``, ``\\"``, ``\\xHH``, ``\\ooo``,
    ``\\uHHHH``, ``\\UHHHHHHHH``...) or back-quoted raw strings. ``\\x`` and octal
    escapes give bytes, which may form UTF-8 together.
    """
    if text.startswith("`"):
        end = text.find("`", 1)
        if end < 0:
            raise BinaryError("cannot read Go build info: unterminated raw string")
        return text[1:end].replace("\r", ""), end + 1
    if not text.startswith('"'):
        raise BinaryError("cannot read Go build info: not a quoted string")
    out = bytearray()
    i = 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return out.decode("utf-8", "replace"), i + 1
        if char == "\n":
            break
        if char != "\\":
            out += char.encode("utf-8", "replace")
            i += 1
            continue
        i = _escape(text, i + 1, out)
    raise BinaryError("cannot read Go build info: unterminated quoted string")


def _escape(text: str, i: int, out: bytearray) -> int:
    """Decode the escape whose letter is at ``text[i]`` into ``out``; the next index."""
    letter = text[i:i + 1]
    if letter in _SIMPLE_ESCAPES:
        out.append(_SIMPLE_ESCAPES[letter])
        return i + 1
    if letter and letter in "01234567":
        digits, base, start, limit = 3, 8, i, 0xFF
    elif letter in _ESCAPE_DIGITS and letter:
        digits, base = _ESCAPE_DIGITS[letter]
        start, limit = i + 1, 0xFF if letter == "x" else 0x10FFFF
    else:
        raise BinaryError(f"cannot read Go build info: bad escape \\{letter}")
    chunk = text[start:start + digits]
    valid = len(chunk) == digits and all(c in _DIGITS[base] for c in chunk)
    value = int(chunk, base) if valid else -1
    if not 0 <= value <= limit or (0xD800 <= value <= 0xDFFF and letter in "uU"):
        raise BinaryError(f"cannot read Go build info: bad escape \\{letter}{chunk}")
    if letter in "uU":
        out += chr(value).encode("utf-8")
    else:
        out.append(value)  # \\xHH and \\ooo are single bytes
    return start + digits
