"""The time zone databases Go's ``time.LoadLocation`` would find in the image.

Go (time/zoneinfo.go, zoneinfo_unix.go) tries ``$ZONEINFO`` first, which may be a
directory or, unlike anywhere else, an *uncompressed* zip file (the layout of
``$GOROOT/lib/time/zoneinfo.zip``), then ``/usr/share/zoneinfo/``,
``/usr/share/lib/zoneinfo/`` and ``/usr/lib/locale/TZ/``. (The GOROOT zip is
the build machine's path and almost never in an image; it is not looked for.)
A source counts when it holds TZif data: ``UTC`` or ``Etc/UTC`` are looked at
first, then any zone file (a trimmed database holding only ``Europe/Paris``
still serves that zone; Go never reads a file for "UTC" itself).
"""

from __future__ import annotations

import logging
import zipfile

from gorc.errors import ImageSourceError
from gorc.image.fs import FileSystem, FileType
from gorc.image.inventory.record import Recorder
from gorc.model import ImageSummary

log = logging.getLogger(__name__)

ZONE_DIRS = ("/usr/share/zoneinfo", "/usr/share/lib/zoneinfo", "/usr/lib/locale/TZ")
_PROBES = ("UTC", "Etc/UTC")
_TZIF = b"TZif"
#: General purpose bit 0 of a zip entry: the entry is encrypted (APPNOTE.TXT 4.4.4).
_ZIP_ENCRYPTED = 0x1
#: How many directory entries to look at for a zone file before giving up.
_SCAN_LIMIT = 256


def collect_zoneinfo(fs: FileSystem, summary: ImageSummary, rec: Recorder) -> tuple[str, ...]:
    """Zone sources Go would load from, in its order."""
    found: list[str] = []
    env = summary.env_value("ZONEINFO")
    if env:
        rec.note(f"ZONEINFO={env}: Go reads it as a directory or an uncompressed zip file")
        if _source_ok(fs, env, rec):
            found.append(env)
    found += [d for d in ZONE_DIRS if _dir_ok(fs, d, rec)]
    return tuple(found)


def _source_ok(fs: FileSystem, path: str, rec: Recorder) -> bool:
    # Go takes a name ending in ".zip" as a zip file (loadTzinfoFromDirOrZip).
    if path.endswith(".zip"):
        return fs.is_file(path) and _zip_ok(fs, path, rec)
    return _dir_ok(fs, path, rec)


def _dir_ok(fs: FileSystem, directory: str, rec: Recorder) -> bool:
    base = directory.rstrip("/")
    probes = [f"{base}/{name}" for name in _PROBES]
    return any(_is_tzif(fs, path, rec) for path in [*probes, *_some_files(fs, base)])


def _some_files(fs: FileSystem, directory: str) -> list[str]:
    """Up to :data:`_SCAN_LIMIT` regular files under ``directory``, breadth first."""
    found: list[str] = []
    pending = [directory]
    seen = 0
    while pending and seen < _SCAN_LIMIT:
        current = pending.pop(0)
        for name in fs.listdir(current):
            seen += 1
            path = f"{current}/{name}"
            info = fs.stat(path)
            if info is not None and info.type is FileType.DIR:
                pending.append(path)
            elif info is not None and info.type is FileType.FILE:
                found.append(path)
            if seen >= _SCAN_LIMIT:
                break
    return found


def _is_tzif(fs: FileSystem, path: str, rec: Recorder) -> bool:
    if not fs.is_file(path):
        return False
    try:
        return fs.read(path, len(_TZIF)) == _TZIF
    except ImageSourceError as err:
        rec.unknown(path, f"cannot read zone data: {err}")
        return False


def _zip_ok(fs: FileSystem, path: str, rec: Recorder) -> bool:
    try:
        with fs.open(path) as stream, zipfile.ZipFile(stream) as archive:
            for name in _PROBES:
                try:
                    info = archive.getinfo(name)
                except KeyError:
                    continue
                if info.compress_type != zipfile.ZIP_STORED:
                    rec.note(f"{path}: {name} is compressed; Go reads only stored zip entries")
                    continue
                if info.flag_bits & _ZIP_ENCRYPTED:
                    # zipfile refuses it (RuntimeError); Go would read ciphertext, not TZif
                    rec.note(f"{path}: {name} is encrypted; Go cannot read it as zone data")
                    continue
                with archive.open(info) as entry:
                    if entry.read(len(_TZIF)) == _TZIF:
                        return True
    # zipfile reports damage in many ways: BadZipFile, and for crafted headers a
    # negative seek (ValueError), an unsupported feature (NotImplementedError), or
    # encryption flagged in a local header only (RuntimeError)
    except (ImageSourceError, zipfile.BadZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as err:
        rec.unknown(path, f"cannot read zone data zip: {err}")
    return False
