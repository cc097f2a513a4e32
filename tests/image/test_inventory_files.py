"""CA certificates, zone data and name-service files as Go would find them."""

from __future__ import annotations

import io
import zipfile

import pytest

from gorc.image.fs import MemoryFileSystem
from tests.image.inventory_kit import PEM, TZIF, inventory


def test_debian_bundle_and_cert_dir() -> None:
    fs = MemoryFileSystem()
    fs.add("/etc/ssl/certs/ca-certificates.crt", PEM * 3)
    fs.add_symlink("/etc/ssl/certs/1234abcd.0", "ca-certificates.crt")
    inv = inventory(fs)
    assert inv.ca_files == ("/etc/ssl/certs/ca-certificates.crt",)
    assert inv.ca_dirs == ("/etc/ssl/certs",)
    assert inv.provides().ca_certificates == (
        "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs",
    )


def test_no_certificates() -> None:
    inv = inventory(MemoryFileSystem())
    assert (inv.ca_files, inv.ca_dirs) == ((), ())


def test_empty_first_bundle_shadows_later_ones() -> None:
    fs = MemoryFileSystem()
    fs.add("/etc/ssl/certs/ca-certificates.crt", b"")
    fs.add("/etc/ssl/cert.pem", PEM)
    inv = inventory(fs)
    assert inv.ca_files == ()
    assert any("Go stops at it" in note for note in inv.notes)
    assert inv.ca_dirs == ()


def test_later_bundle_when_the_first_is_absent() -> None:
    fs = MemoryFileSystem()
    fs.add("/etc/ssl/cert.pem", PEM)
    assert inventory(fs).ca_files == ("/etc/ssl/cert.pem",)


def test_ssl_cert_file_overrides_the_list() -> None:
    fs = MemoryFileSystem()
    fs.add("/etc/ssl/cert.pem", PEM)
    fs.add("/certs/roots.pem", PEM)
    inv = inventory(fs, env={"PATH": "/bin", "SSL_CERT_FILE": "/certs/roots.pem"})
    assert inv.ca_files == ("/certs/roots.pem",)


def test_ssl_cert_file_missing_is_noted() -> None:
    fs = MemoryFileSystem()
    fs.add("/etc/ssl/cert.pem", PEM)
    inv = inventory(fs, env={"SSL_CERT_FILE": "/nope.pem"})
    assert inv.ca_files == ()
    assert any("SSL_CERT_FILE=/nope.pem" in note for note in inv.notes)


def test_ssl_cert_dir_is_colon_separated() -> None:
    fs = MemoryFileSystem()
    fs.add("/a/one.pem", PEM)
    fs.add("/b/readme.txt", b"no certs here")
    fs.add("/c/two.crt", PEM)
    fs.add("/etc/ssl/certs/x.pem", PEM)
    inv = inventory(fs, env={"SSL_CERT_DIR": "/a:/b::/c:/missing"})
    assert inv.ca_dirs == ("/a", "/c")


def test_cert_dir_with_only_same_dir_links_does_not_count() -> None:
    fs = MemoryFileSystem()
    fs.add("/usr/share/ca/real.crt", PEM)
    fs.add_dir("/etc/ssl/certs")
    fs.add_symlink("/etc/ssl/certs/abcd.0", "other.pem")  # hash link, skipped by Go
    fs.add_symlink("/etc/pki/tls/certs/real.pem", "/usr/share/ca/real.crt")
    inv = inventory(fs)
    assert inv.ca_dirs == ("/etc/pki/tls/certs",)


def test_zoneinfo_dir_needs_tzif_utc() -> None:
    fs = MemoryFileSystem()
    fs.add("/usr/share/zoneinfo/Etc/UTC", TZIF)
    fs.add("/usr/share/lib/zoneinfo/UTC", b"not tzif")
    assert inventory(fs).zoneinfo == ("/usr/share/zoneinfo",)


def test_trimmed_zoneinfo_without_utc_counts() -> None:
    # Go answers "UTC" itself; a database holding only Europe/Paris serves that zone.
    fs = MemoryFileSystem()
    fs.add("/usr/share/zoneinfo/Europe/Paris", TZIF)
    fs.add("/usr/share/lib/zoneinfo/README", b"no zones here")
    assert inventory(fs).zoneinfo == ("/usr/share/zoneinfo",)


def test_zoneinfo_env_dir_comes_first() -> None:
    fs = MemoryFileSystem()
    fs.add("/zones/UTC", TZIF)
    fs.add("/usr/share/zoneinfo/UTC", TZIF)
    inv = inventory(fs, env={"ZONEINFO": "/zones"})
    assert inv.zoneinfo == ("/zones", "/usr/share/zoneinfo")
    assert any("zip" in note for note in inv.notes)


def _zip(compression: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("UTC", TZIF)
    return buffer.getvalue()


def test_zoneinfo_env_zip_must_be_stored() -> None:
    fs = MemoryFileSystem()
    fs.add("/z/stored.zip", _zip(zipfile.ZIP_STORED))
    fs.add("/z/deflated.zip", _zip(zipfile.ZIP_DEFLATED))
    fs.add("/z/broken.zip", b"PK not a zip")
    assert inventory(fs, env={"ZONEINFO": "/z/stored.zip"}).zoneinfo == ("/z/stored.zip",)
    deflated = inventory(fs, env={"ZONEINFO": "/z/deflated.zip"})
    assert deflated.zoneinfo == ()
    assert any("compressed" in note for note in deflated.notes)
    broken = inventory(fs, env={"ZONEINFO": "/z/broken.zip"})
    assert broken.zoneinfo == ()
    assert any(u.what == "/z/broken.zip" for u in broken.unknowns)


def test_zoneinfo_env_zip_encrypted_entry() -> None:
    data = bytearray(_zip(zipfile.ZIP_STORED))
    data[6] |= 1  # general purpose bit 0 (encrypted), in the local header...
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1  # ...and in the central directory
    fs = MemoryFileSystem()
    fs.add("/z/encrypted.zip", bytes(data))
    encrypted = inventory(fs, env={"ZONEINFO": "/z/encrypted.zip"})
    assert encrypted.zoneinfo == ()
    assert any("encrypted" in note for note in encrypted.notes)


def _damaged_zip(field: str) -> bytes:
    data = bytearray(_zip(zipfile.ZIP_STORED))
    if field == "strong-encryption":  # zipfile: NotImplementedError
        data[data.index(b"PK\x01\x02") + 8] |= 0x40
    else:  # a central directory size past the file's start, zipfile: negative seek
        end = data.index(b"PK\x05\x06")
        data[end + 12:end + 16] = (0x7FFFFF).to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize("field", ["strong-encryption", "directory-size"])
def test_zoneinfo_env_zip_damaged_headers(field: str) -> None:
    fs = MemoryFileSystem()
    fs.add("/z/bad.zip", _damaged_zip(field))
    bad = inventory(fs, env={"ZONEINFO": "/z/bad.zip"})
    assert bad.zoneinfo == ()
    assert any(u.what == "/z/bad.zip" for u in bad.unknowns)


def test_nsswitch_hosts_line() -> None:
    fs = MemoryFileSystem()
    fs.add("/etc/nsswitch.conf",
           b"# comment\npasswd: files\nhosts:  files [NOTFOUND=return] dns # x\n")
    fs.add("/etc/hosts", b"127.0.0.1 localhost\n")
    ns = inventory(fs).nsswitch
    assert ns is not None
    assert ns.conf_exists and ns.hosts == ("files", "dns")
    assert ns.etc_hosts and not ns.resolv_conf
    assert "/etc/resolv.conf" in ns.runtime_provided


def test_no_nsswitch() -> None:
    ns = inventory(MemoryFileSystem()).nsswitch
    assert ns is not None
    assert not ns.conf_exists and ns.hosts is None
    assert not ns.etc_hosts and not ns.resolv_conf
