"""Concrete fixes for the ways a program fails to start: packages, build flags, bases."""

from __future__ import annotations

import re

from gorc.binary.elf import ElfInfo
from gorc.model import GoBuildInfo, LibcFamily, Linkage

#: Debian packages of common shared libraries, by soname (bookworm names).
DEBIAN_PACKAGES = {
    "libgpgme.so.11": "libgpgme11",
    "libseccomp.so.2": "libseccomp2",
    "libssl.so.3": "libssl3",
    "libcrypto.so.3": "libssl3",
    "libssl.so.1.1": "libssl1.1",
    "libcrypto.so.1.1": "libssl1.1",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libz.so.1": "zlib1g",
    "libdevmapper.so.1.02.1": "libdevmapper1.02.1",
    "libassuan.so.0": "libassuan0",
    "libgpg-error.so.0": "libgpg-error0",
    "libsqlite3.so.0": "libsqlite3-0",
    "libpcap.so.0.8": "libpcap0.8",
    "libbtrfs.so.0": "libbtrfs0",
    "libsystemd.so.0": "libsystemd0",
    "libselinux.so.1": "libselinux1",
    "libpcre2-8.so.0": "libpcre2-8-0",
    "libudev.so.1": "libudev1",
    "libcurl.so.4": "libcurl4",
    "libgomp.so.1": "libgomp1",
    "librdkafka.so.1": "librdkafka1",
    "libzstd.so.1": "libzstd1",
    "liblzma.so.5": "liblzma5",
    "libbz2.so.1.0": "libbz2-1.0",
    "libffi.so.8": "libffi8",
    "libexpat.so.1": "libexpat1",
    "libyaml-0.so.2": "libyaml-0-2",
    "libxml2.so.2": "libxml2",
    "libmagic.so.1": "libmagic1",
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",
}
#: The C library's own sonames: needing only these means cgo is on for net/os/user.
LIBC_SONAMES = frozenset({
    "libc.so.6", "libpthread.so.0", "libresolv.so.2", "libdl.so.2", "libc.so",
    "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1",
})
_GLIBC_PACKAGE = "libc6"


def debian_package(soname: str) -> str | None:
    """The Debian package that ships ``soname``, when known."""
    if soname in DEBIAN_PACKAGES:
        return DEBIAN_PACKAGES[soname]
    if soname.startswith(("libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so",
                          "libresolv.so", "ld-linux")):
        return _GLIBC_PACKAGE
    return None


def install_hint(soname: str, family: LibcFamily | None, minimal: bool = False) -> str:
    """How to add a missing library to the final image.

    A minimal image (no package manager) cannot install anything: the library
    must be copied from a stage where it is installed.
    """
    package = debian_package(soname)
    if minimal:
        where = f" (Debian package {package})" if package else ""
        return (f"COPY {soname}{where} and the libraries it needs from a stage where it is "
                "installed, or use a base image that ships it")
    if family is LibcFamily.MUSL:
        return f"install the Alpine package that provides {soname} (apk add ...)"
    if package is None:
        return f"install the package that provides {soname} in the final stage"
    return f"install {package} in the final stage (apt-get install -y {package})"


def cgo_only_for_libc(elf: ElfInfo, go: GoBuildInfo | None) -> bool:
    """True when a cgo Go binary links nothing but the C library itself.

    Then cgo only serves net and os/user, and ``-tags netgo,osusergo`` makes the
    binary static without giving anything up.
    """
    if go is None or go.setting("CGO_ENABLED") != "1":
        return False
    return all(name in LIBC_SONAMES for name in elf.needed)


def static_build_fix(elf: ElfInfo, go: GoBuildInfo | None) -> str:
    """The build change that makes a Go binary static."""
    if cgo_only_for_libc(elf, go):
        return ("build with -tags netgo,osusergo (cgo only serves net and os/user here) "
                "or CGO_ENABLED=0")
    if go is not None:
        return "build with CGO_ENABLED=0 for a static binary"
    return "link the program statically"


def describe_binary(elf: ElfInfo, go: GoBuildInfo | None) -> str:
    """A short description: "dynamically linked Go binary built with cgo (CGO_ENABLED=1)"."""
    linkage = "dynamically linked" if elf.linkage is Linkage.DYNAMIC else "statically linked"
    if go is None:
        return f"{linkage} ELF binary"
    if go.setting("CGO_ENABLED") == "1":
        return f"{linkage} Go binary built with cgo (CGO_ENABLED=1)"
    return f"{linkage} Go binary"


def libc_base_hint(family: LibcFamily | None) -> str:
    """A base image that brings the loader a binary of ``family`` needs."""
    if family is LibcFamily.MUSL:
        return "a musl base image (alpine)"
    return "a glibc base image (gcr.io/distroless/base-debian12, debian:bookworm-slim)"


def newer_libc_hint(version: str) -> str:
    """The fix for a missing symbol version such as GLIBC_2.38."""
    match = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)*)", version)
    if match is None:
        return (f"install a newer version of the library that defines {version}, or build "
                "against the library version of the runtime base")
    return (f"use a runtime base image with glibc {match.group(1)} or newer, or build on the "
            "same distribution release as the runtime base (e.g. golang:*-bookworm for "
            "debian:bookworm), or build with CGO_ENABLED=0")
