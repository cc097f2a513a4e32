"""The CA certificates Go's crypto/x509 would load from the image.

Go (crypto/x509/root_unix.go, root_linux.go) reads the *first* readable file of
its list (or only ``$SSL_CERT_FILE`` when set) and stops there, even if that
file holds no certificate; then it reads every file of every directory of its
list (or of the colon-separated ``$SSL_CERT_DIR``), skipping symlinks that point
inside the same directory (the OpenSSL hash links). A file counts here when it
is non-empty and holds ``BEGIN CERTIFICATE``; a directory when one of its files
does.
"""

from __future__ import annotations

import logging
import posixpath

from gorc.errors import ImageSourceError
from gorc.image.fs import FileSystem, FileType
from gorc.image.inventory.record import Recorder
from gorc.image.inventory.scan import find_markers
from gorc.model import ImageSummary

log = logging.getLogger(__name__)

#: Go's certFiles for Linux, in its order.
CERT_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
)

#: Go's certDirectories for Linux, in its order.
CERT_DIRS = ("/etc/ssl/certs", "/etc/pki/tls/certs", "/system/etc/security/cacerts")

_PEM = b"BEGIN CERTIFICATE"
#: A certificate bundle is a few hundred KiB; a directory is sampled, not read whole.
_CERT_LIMIT = 8 * 1024 * 1024
_DIR_SAMPLE = 1000


def collect_ca(
    fs: FileSystem, summary: ImageSummary, rec: Recorder
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(CA files, CA dirs) Go would load certificates from."""
    return _ca_file(fs, summary, rec), _ca_dirs(fs, summary, rec)


def _ca_file(fs: FileSystem, summary: ImageSummary, rec: Recorder) -> tuple[str, ...]:
    override = summary.env_value("SSL_CERT_FILE")
    files = (override,) if override else CERT_FILES
    for path in files:
        info = fs.stat(path)
        if info is None or info.type is not FileType.FILE:
            continue
        if _holds_certs(fs, path, rec):
            return (path,)
        later = [p for p in files[files.index(path) + 1:] if fs.exists(p)]
        if later:
            rec.note(f"{path} holds no certificate, and Go stops at it: {', '.join(later)} unused")
        return ()
    if override:
        rec.note(f"SSL_CERT_FILE={override} does not exist in the image")
    return ()


def _ca_dirs(fs: FileSystem, summary: ImageSummary, rec: Recorder) -> tuple[str, ...]:
    override = summary.env_value("SSL_CERT_DIR")
    dirs = tuple(d for d in override.split(":") if d) if override else CERT_DIRS
    return tuple(d for d in dirs if fs.is_dir(d) and _dir_holds_certs(fs, d, rec))


def _dir_holds_certs(fs: FileSystem, directory: str, rec: Recorder) -> bool:
    real = fs.resolve(directory) or directory
    for name in fs.listdir(directory)[:_DIR_SAMPLE]:
        entry = fs.lstat(posixpath.join(real, name))
        if entry is None:
            continue
        # readUniqueDirectoryEntries: a link without a slash points into the same dir.
        if entry.type is FileType.SYMLINK and "/" not in entry.linkname:
            continue
        path = posixpath.join(directory, name)
        if fs.is_file(path) and _holds_certs(fs, path, rec):
            return True
    return False


def _holds_certs(fs: FileSystem, path: str, rec: Recorder) -> bool:
    try:
        return bool(find_markers(fs, path, (_PEM,), limit=_CERT_LIMIT))
    except ImageSourceError as err:
        rec.unknown(path, f"cannot read CA certificates: {err}")
        return False
