"""Reconcile: needs against an inventory built by hand, one rule at a time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gorc.binary.needs import UNKNOWN_PROGRAM
from gorc.image.inventory import (
    Inventory,
    NsswitchInfo,
    ShellInfo,
    ShellKind,
    TempDirInfo,
    UserCheck,
    UserEntry,
    UserResolution,
)
from gorc.model import (
    BinaryReport,
    Finding,
    GoBuildInfo,
    ImageLocation,
    ImageSummary,
    Linkage,
    Need,
    NeedKind,
    Severity,
    SourceLocation,
)
from gorc.reconcile import reconcile

K = NeedKind
AT = ImageLocation("img", "/app", "sha256:" + "cd" * 32)
ROOT = UserEntry("root", 0, 0, home="/root")
NO_SHELL = ShellInfo("/bin/sh", ShellKind.MISSING)
GLIBC = "/lib64/ld-linux-x86-64.so.2"
GOOD_TMP = TempDirInfo("/tmp", exists=True, is_dir=True, mode=0o1777, sticky=True,
                       world_writable=True, user_writable=True)
ROOT_USER = UserCheck(None, UserResolution.DEFAULT_ROOT, 0, 0, "root", "/root", True)


def _inventory(**kw: object) -> Inventory:
    """A complete image (every capability there) unless ``kw`` takes some away."""
    base = Inventory(shell=NO_SHELL, ca_files=("/etc/ssl/certs/ca-certificates.crt",),
                     zoneinfo=("/usr/share/zoneinfo",), users=(ROOT,), config_user=ROOT_USER,
                     tmp=GOOD_TMP, nsswitch=NsswitchInfo(conf_exists=True, hosts=("files",)))
    return replace(base, **kw)  # type: ignore[arg-type]


def _report(entrypoint: bool = True, runnable: bool | None = True, interpreter: str | None = None,
            settings: tuple[tuple[str, str], ...] = (), go: str = "go1.19.8") -> BinaryReport:
    return BinaryReport("/app", entrypoint, arch="amd64",
                        linkage=Linkage.DYNAMIC if interpreter else Linkage.STATIC,
                        interpreter=interpreter, go=GoBuildInfo(go, settings=settings),
                        runnable=runnable)


def _run(kind: NeedKind, name: str, inventory: Inventory, summary: ImageSummary | None = None,
         report: BinaryReport | None = None,
         location: ImageLocation | SourceLocation = AT) -> list[Finding]:
    summary = summary or ImageSummary("img")
    need = Need(kind, name, location)
    return list(reconcile([need], inventory.provides(), inventory, summary,
                          [report or _report()]))


def _ids(findings: list[Finding]) -> list[str]:
    return [f.rule_id for f in findings]


def test_ca_bundle_absent() -> None:
    (found,) = _run(K.CA_CERTIFICATES, "crypto/x509.loadSystemRoots", _inventory(ca_files=()))

    assert found.rule_id == "CCG106"
    assert found.severity is Severity.WARNING
    assert found.location == AT
    assert "crypto/x509.loadSystemRoots" in found.message
    assert "/etc/ssl/certs/ca-certificates.crt" in found.message
    assert "may call it" in found.message
    assert "COPY --from=build /etc/ssl/certs/ca-certificates.crt" in found.suggestion
    assert dict(found.evidence)["function"] == "crypto/x509.loadSystemRoots"


def test_ca_bundle_present_or_overridden() -> None:
    assert _run(K.CA_CERTIFICATES, "crypto/x509.loadSystemRoots", _inventory()) == []
    summary = ImageSummary("img", env=(("SSL_CERT_FILE", "/certs/missing.pem"),))
    (found,) = _run(K.CA_CERTIFICATES, "crypto/x509.loadSystemRoots",
                    _inventory(ca_files=()), summary)
    assert "$SSL_CERT_FILE=/certs/missing.pem" in found.message


def test_zoneinfo_absent_and_present() -> None:
    (found,) = _run(K.ZONEINFO, "time.LoadLocation", _inventory(zoneinfo=()))
    assert found.rule_id == "CCG107"
    assert "/usr/share/zoneinfo" in found.message
    assert 'import _ "time/tzdata"' in found.suggestion

    assert _run(K.ZONEINFO, "time.LoadLocation", _inventory()) == []


def test_user_current_without_passwd() -> None:
    nobody = UserCheck(None, UserResolution.DEFAULT_ROOT, 0, 0, None, "/", False)
    (found,) = _run(K.USER_DATABASE, "os/user.Current", _inventory(users=(), config_user=nobody))
    assert found.rule_id == "CCG108"
    assert "no /etc/passwd" in found.message
    assert "passwd" in found.suggestion


def test_user_current_with_user_env_works_without_passwd() -> None:
    with_env = UserCheck(None, UserResolution.DEFAULT_ROOT, 0, 0, None, "/", True)
    inventory = _inventory(users=(), config_user=with_env)

    assert _run(K.USER_DATABASE, "os/user.Current", inventory) == []
    # A lookup by name or id cannot use $USER.
    assert _ids(_run(K.USER_DATABASE, "os/user.Lookup", inventory)) == ["CCG108"]


def test_user_numeric_uid_without_entry() -> None:
    unlisted = UserCheck("1000", UserResolution.NUMERIC_UNLISTED, 1000, 0, None, "/", False)
    (found,) = _run(K.USER_DATABASE, "os/user.Current", _inventory(config_user=unlisted))
    assert "no entry for uid 1000" in found.message

    # $USER helps pure Go, not libc.
    with_env = replace(unlisted, current_works=True)
    assert _run(K.USER_DATABASE, "os/user.Current", _inventory(config_user=with_env)) == []
    cgo = _run(K.USER_DATABASE, "os/user._Cfunc_mygetpwuid_r", _inventory(config_user=with_env))
    assert _ids(cgo) == ["CCG108"]


def test_temp_dir_missing_and_read_only() -> None:
    (missing,) = _run(K.TEMP_DIR, "os.MkdirTemp", _inventory(tmp=TempDirInfo("/tmp")))
    assert missing.rule_id == "CCG109"
    assert "does not exist" in missing.message
    assert "mkdir -m 1777 /tmp" in missing.suggestion

    read_only = replace(GOOD_TMP, mode=0o755, world_writable=False, user_writable=False)
    (found,) = _run(K.TEMP_DIR, "os.CreateTemp", _inventory(tmp=read_only))
    assert "not writable" in found.message and "0o755" in found.message
    assert _run(K.TEMP_DIR, "os.CreateTemp", _inventory()) == []


def test_program_on_a_minimal_image() -> None:
    (found,) = _run(K.PROGRAM, UNKNOWN_PROGRAM, _inventory())
    assert found.rule_id == "CCG102"
    assert found.severity is Severity.WARNING
    assert "cannot be read from the binary" in found.message

    shell = ShellInfo("/bin/sh", ShellKind.BUSYBOX, "/bin/busybox", ("/bin/sh",), True)
    assert _run(K.PROGRAM, UNKNOWN_PROGRAM, _inventory(shell=shell)) == []
    assert _run(K.PROGRAM, "curl", _inventory()) == []  # named: judged by judge_program


NO_NSSWITCH = NsswitchInfo(conf_exists=False)


@pytest.mark.parametrize(("name", "report", "env", "expected"), [
    # Go 1.16+ uses its own 'files dns' order without nsswitch.conf, even with cgo.
    ("net._C2func_getaddrinfo", _report(interpreter=GLIBC), (), []),
    ("net.(*Resolver).goLookupHostOrder", _report(), (), []),
    # Forcing libc's resolver brings glibc's 'dns [!UNAVAIL=return] files'.
    ("net._C2func_getaddrinfo", _report(interpreter=GLIBC, settings=(("-tags", "netcgo"),)),
     (), ["CCG111"]),
    ("net._C2func_getaddrinfo", _report(interpreter=GLIBC), (("GODEBUG", "netdns=cgo+1"),),
     ["CCG111"]),
    # glibc's loader on ppc64le and s390x is ld64.so.*, not ld-linux*.
    ("net._C2func_getaddrinfo", _report(interpreter="/lib64/ld64.so.2",
                                        settings=(("-tags", "netcgo"),)), (), ["CCG111"]),
    # musl has no NSS; a forced cgo lookup there reads /etc/hosts first.
    ("net._C2func_getaddrinfo", _report(interpreter="/lib/ld-musl-x86_64.so.1",
                                        settings=(("-tags", "netcgo"),)), (), []),
    # Go before 1.16 mimicked glibc's default itself.
    ("net.(*Resolver).goLookupHostOrder", _report(go="go1.15.15"), (), ["CCG111"]),
])
def test_name_resolution_without_nsswitch(name: str, report: BinaryReport,
                                          env: tuple[tuple[str, str], ...],
                                          expected: list[str]) -> None:
    summary = ImageSummary("img", env=env)
    found = _run(K.NAME_RESOLUTION, name, _inventory(nsswitch=NO_NSSWITCH), summary, report)
    assert _ids(found) == expected
    if found:
        assert "dns [!UNAVAIL=return] files" in found[0].message
        assert "-tags netgo" in found[0].suggestion


def test_name_resolution_with_nsswitch() -> None:
    report = _report(interpreter=GLIBC, settings=(("-tags", "netcgo"),))
    assert _run(K.NAME_RESOLUTION, "net._C2func_getaddrinfo", _inventory(), report=report) == []


def test_severity_follows_the_evidence() -> None:
    bare = _inventory(ca_files=())
    name = "crypto/x509.loadSystemRoots"

    (tool,) = _run(K.CA_CERTIFICATES, name, bare, report=_report(entrypoint=False))
    assert tool.severity is Severity.INFO
    (source,) = _run(K.CA_CERTIFICATES, name, bare, location=SourceLocation("main.go", 12))
    assert source.severity is Severity.ERROR  # the rule's default: a call in the source
    assert _run(K.CA_CERTIFICATES, name, bare, report=_report(runnable=False)) == []


def test_needs_without_a_check_give_no_finding() -> None:
    inventory = _inventory(ca_files=(), zoneinfo=())
    assert _run(K.CGO, GLIBC, inventory) == []
    assert _run(K.PLUGIN, "plugin.Open", inventory) == []


def test_no_inventory_uses_provides_only() -> None:
    bare = _inventory(users=(), ca_files=())
    need = Need(K.USER_DATABASE, "os/user.Current", AT)
    found = reconcile([need], bare.provides(), None, ImageSummary("img"))
    assert _ids(list(found)) == ["CCG108"]
