"""Run-time needs read from a Go binary: the functions linked in, build info, linkage.

Go's linker drops every function no path from ``main`` or an ``init`` reaches,
so a standard-library function in the pclntab (:mod:`gorc.binary.gofuncs`) is
a real possibility of use, not a proof that it runs: ``crypto/x509``'s system
root loader is linked into any TLS client, whether or not it ever dials out.
Reconcile therefore reports binary-derived needs as warnings.

Each need's ``name`` is the function that proves it (for ``program`` needs
the program cannot be read from the binary: ``unknown``). The functions and
what they mean come from the standard library's sources (Go 1.16 to 1.22):
crypto/x509 root_unix.go, time zoneinfo_read.go and tzdata, os/user
lookup_unix.go and cgo_lookup_unix.go, os/exec, os tempfile.go, net conf.go
and cgo_unix.go, plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from gorc.binary.buildinfo import read_buildinfo
from gorc.binary.elf import ElfInfo, read_elf
from gorc.binary.elflayout import read_layout
from gorc.binary.gofuncs import GoFunctions, read_go_functions
from gorc.errors import GorcError
from gorc.image.fs import FileSystem
from gorc.model import GoBuildInfo, ImageLocation, Need, NeedKind, Unknown

log = logging.getLogger(__name__)

#: ``name`` of a program need read from a binary: which program is not recorded there.
UNKNOWN_PROGRAM = "unknown"

CA_FUNCS = ("crypto/x509.loadSystemRoots", "crypto/x509.initSystemRoots")
# time.initLocal is linked into nearly every program (it reads TZ and
# /etc/localtime for time.Local and falls back to UTC silently), so only the
# exported loader counts.
ZONE_FUNCS = ("time.LoadLocation",)
#: Present when zone data is embedded (import _ "time/tzdata" or -tags timetzdata).
TZDATA_FUNCS = ("time/tzdata.init.0", "time/tzdata.init")
USER_CURRENT = "os/user.Current"
USER_LOOKUPS = ("os/user.Lookup", "os/user.LookupId", "os/user.LookupGroup",
                "os/user.LookupGroupId", "os/user.(*User).GroupIds")
#: cgo builds of os/user ask libc; getpwuid_r serves Current and LookupId.
USER_CGO_FUNCS = ("os/user._Cfunc_mygetpwuid_r", "os/user._Cfunc_mygetpwnam_r",
                  "os/user._Cfunc_mygetgrgid_r", "os/user._Cfunc_mygetgrnam_r")
EXEC_FUNCS = ("os/exec.(*Cmd).Start", "os.StartProcess", "syscall.forkExec", "syscall.Exec")
TEMP_FUNCS = ("os.MkdirTemp", "os.CreateTemp", "os.TempDir", "io/ioutil.TempFile",
              "io/ioutil.TempDir")
#: The libc resolver (getaddrinfo through cgo); cgoLookupHost alone may be a stub.
RESOLVER_CGO_FUNCS = ("net._C2func_getaddrinfo", "net._Cfunc_getaddrinfo")
RESOLVER_GO_FUNCS = ("net.(*Resolver).goLookupHostOrder", "net.(*Resolver).goLookupIPCNAMEOrder",
                     "net.(*Resolver).goLookupIP", "net.(*conf).hostLookupOrder")
PLUGIN_FUNCS = ("plugin.Open", "plugin.open")

#: Every name the needs depend on: searched byte-wise when the pclntab is unreadable.
WANTED = (*CA_FUNCS, *ZONE_FUNCS, *TZDATA_FUNCS, USER_CURRENT, *USER_LOOKUPS, *USER_CGO_FUNCS,
          *EXEC_FUNCS, *TEMP_FUNCS, *RESOLVER_CGO_FUNCS, *RESOLVER_GO_FUNCS, *PLUGIN_FUNCS)


@dataclass(frozen=True, slots=True)
class BinaryNeeds:
    """The needs of one Go binary and what could not be read to find them."""

    path: str
    needs: tuple[Need, ...]
    unknowns: tuple[Unknown, ...] = ()


def is_cgo_lookup(name: str) -> bool:
    """True when a need's proving function is a cgo call into libc (``_Cfunc_``, ``_C2func_``)."""
    return "._Cfunc_" in name or "._C2func_" in name


def binary_needs(fs: FileSystem, path: str, elf: ElfInfo, buildinfo: GoBuildInfo | None,
                 funcs: GoFunctions, image_name: str = "") -> tuple[Need, ...]:
    """The run-time needs of the Go binary at ``path``, each located at that binary."""
    info = fs.stat(path)
    where = ImageLocation(image_name, path, info.layer if info else None)
    found = [
        (NeedKind.CA_CERTIFICATES, funcs.first(CA_FUNCS)),
        (NeedKind.ZONEINFO, _zone_need(funcs, buildinfo)),
        (NeedKind.USER_DATABASE, _user_need(funcs)),
        (NeedKind.PROGRAM, UNKNOWN_PROGRAM if funcs.first(EXEC_FUNCS) else None),
        (NeedKind.TEMP_DIR, funcs.first(TEMP_FUNCS)),
        (NeedKind.NAME_RESOLUTION,
         funcs.first(RESOLVER_CGO_FUNCS) or funcs.first(RESOLVER_GO_FUNCS)),
        (NeedKind.PLUGIN, funcs.first(PLUGIN_FUNCS)),
        (NeedKind.CGO, _cgo_need(elf, buildinfo)),
    ]
    return tuple(Need(kind, name, where) for kind, name in found if name)


def _zone_need(funcs: GoFunctions, buildinfo: GoBuildInfo | None) -> str | None:
    loader = funcs.first(ZONE_FUNCS)
    if loader is None or funcs.first(TZDATA_FUNCS) or "timetzdata" in build_tags(buildinfo):
        return None
    return loader


def _user_need(funcs: GoFunctions) -> str | None:
    """The function that proves a user lookup: the libc call in a cgo build, else the API."""
    api = funcs.first(USER_LOOKUPS) or funcs.first((USER_CURRENT,))
    if api is None:
        return None
    return funcs.first(USER_CGO_FUNCS) or api


def _cgo_need(elf: ElfInfo, buildinfo: GoBuildInfo | None) -> str | None:
    """The ELF interpreter when cgo was on and the binary really is dynamic."""
    cgo = buildinfo is not None and buildinfo.setting("CGO_ENABLED") == "1"
    return elf.interpreter if cgo and elf.interpreter else None


def build_tags(buildinfo: GoBuildInfo | None) -> tuple[str, ...]:
    """The ``-tags`` a binary was built with (build info's comma-separated list)."""
    raw = (buildinfo.setting("-tags") if buildinfo else None) or ""
    return tuple(t.strip() for t in raw.split(",") if t.strip())


def read_binary_needs(fs: FileSystem, path: str, image_name: str = "",
                      buildinfo: GoBuildInfo | None = None) -> BinaryNeeds:
    """Read one binary's ELF, build info and function names, and return its needs.

    Bounded: headers, the build-info window and the pclntab name table only. A
    binary that cannot be read gives no needs and an Unknown saying why; a
    name table read by byte search gives an Unknown too (its needs may be partial).
    """
    info = fs.stat(path)
    where = ImageLocation(image_name, path, info.layer if info else None)
    try:
        with fs.open(path) as stream:
            layout = read_layout(stream)
            elf = read_elf(stream, layout)
            if buildinfo is None:
                buildinfo = read_buildinfo(stream, layout)
            funcs = read_go_functions(stream, layout, WANTED)
    except GorcError as err:
        reason = f"cannot read the run-time needs of {path}: {err}"
        return BinaryNeeds(path, (), (Unknown(path, reason, where),))
    needs = binary_needs(fs, path, elf, buildinfo, funcs, image_name)
    unknowns: Iterable[Unknown] = ()
    if not funcs.complete:
        unknowns = (Unknown(path, f"Go function names of {path} not listed ({funcs.problem}); "
                            "needs were found by searching the binary for known names and may "
                            "be incomplete", where),)
    return BinaryNeeds(path, needs, tuple(unknowns))
