"""Reconcile what programs need with what the image provides, into findings.

Needs come from the source (later) or from the Go binaries themselves
(:mod:`gorc.binary.needs`); capabilities from the image inventory. A need read
from a binary is a function the linker kept, which the program *may* call: so
those findings are warnings at most, never errors, for the entrypoint's
programs, and info for other Go binaries in the image, which ``docker run``
does not start (they may be tools run by hand, or never). A need with a source
location is certain enough for the rule's default severity.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from gorc.binary.interpreter import interpreter_family
from gorc.binary.needs import UNKNOWN_PROGRAM, build_tags, is_cgo_lookup
from gorc.image.inventory import Inventory, UserResolution
from gorc.image.inventory.certs import CERT_DIRS, CERT_FILES
from gorc.image.inventory.zoneinfo import ZONE_DIRS
from gorc.model import (
    BinaryReport,
    Finding,
    ImageLocation,
    ImageSummary,
    LibcFamily,
    Need,
    NeedKind,
    Provides,
    Severity,
)
from gorc.rules import finding

log = logging.getLogger(__name__)

_MAYBE = "(linked in, so the program may call it; the binary cannot tell whether it does)"


@dataclass(frozen=True, slots=True)
class _Context:
    """Everything a check may look at for one need."""

    need: Need
    provides: Provides
    inventory: Inventory | None
    summary: ImageSummary
    report: BinaryReport | None

    @property
    def who(self) -> str:
        """The program, as messages name it."""
        loc = self.need.location
        return loc.path if isinstance(loc, ImageLocation) and loc.path else "the program"


_Check = Callable[[_Context], Finding | None]


def reconcile(needs: Iterable[Need], provides: Provides, inventory: Inventory | None,
              summary: ImageSummary, binaries: Sequence[BinaryReport] = ()
              ) -> tuple[Finding, ...]:
    """Findings for every need the image does not meet.

    ``binaries`` (the image's binary reports) tell which needs belong to an
    entrypoint program, and give its build info and interpreter. A program that
    cannot start at all (``runnable`` False) reads nothing: the verdict's finding
    says why, and its needs are judged once it starts.
    """
    by_path = {b.path: b for b in binaries}
    findings: list[Finding] = []
    for need in needs:
        check = _CHECKS.get(need.kind)
        path = need.location.path if isinstance(need.location, ImageLocation) else ""
        report = by_path.get(path)
        if check is None or (report is not None and report.runnable is False):
            continue
        result = check(_Context(need, provides, inventory, summary, report))
        if result is not None:
            findings.append(_graded(result, need, report))
    return tuple(dict.fromkeys(findings))


def _graded(result: Finding, need: Need, report: BinaryReport | None) -> Finding:
    """The finding at the severity its evidence supports (see the module docstring)."""
    if not isinstance(need.location, ImageLocation):
        return result
    cap = Severity.WARNING if report is None or report.entrypoint else Severity.INFO
    return result if result.severity.rank >= cap.rank else replace(result, severity=cap)


def _ca(ctx: _Context) -> Finding | None:
    if ctx.provides.ca_certificates:
        return None
    override = [f"${v}={ctx.summary.env_value(v)}" for v in ("SSL_CERT_FILE", "SSL_CERT_DIR")
                if ctx.summary.env_value(v)]
    places = ", ".join(override) if override else ", ".join((*CERT_FILES, *CERT_DIRS))
    return finding(
        "CCG106", f"{ctx.who} links {ctx.need.name} {_MAYBE}, and the image has no CA "
        f"certificates where Go looks ({places}): TLS clients would fail with 'x509: "
        "certificate signed by unknown authority'", ctx.need.location,
        "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/"
        "ca-certificates.crt (install ca-certificates in the build stage), or set SSL_CERT_FILE",
        function=ctx.need.name, looked_in=places)


def _zoneinfo(ctx: _Context) -> Finding | None:
    if ctx.provides.zoneinfo:
        return None
    env = ctx.summary.env_value("ZONEINFO")
    places = ", ".join(((f"$ZONEINFO={env}",) if env else ()) + ZONE_DIRS)
    return finding(
        "CCG107", f"{ctx.who} links {ctx.need.name} {_MAYBE}, and the image has no zone data "
        f"({places}) and the binary does not embed time/tzdata: loading a named zone would "
        "fail with 'unknown time zone'", ctx.need.location,
        'import _ "time/tzdata" in package main (or go build -tags timetzdata), or COPY '
        "/usr/share/zoneinfo from the build stage",
        function=ctx.need.name, looked_in=places)


def _users(ctx: _Context) -> Finding | None:
    inv = ctx.inventory
    if inv is None:
        if ctx.provides.users:
            return None
        ok, why = False, "the image has no /etc/passwd entries"
    else:
        ok, why = _user_ok(ctx.need.name, inv)
    if ok:
        return None
    return finding(
        "CCG108", f"{ctx.who} links {ctx.need.name} {_MAYBE}, and {why}: the lookup would "
        "fail with 'user: unknown userid' (or 'user: Current requires cgo or $USER set')",
        ctx.need.location,
        "COPY a minimal /etc/passwd and /etc/group with the user the image runs as "
        "(e.g. 'nonroot:x:65532:65532::/home/nonroot:/sbin/nologin')",
        function=ctx.need.name, path="/etc/passwd")


def _user_ok(name: str, inv: Inventory) -> tuple[bool, str]:
    """Whether the user lookup the proving function stands for succeeds, and why not."""
    user = inv.config_user
    who = f"uid {user.uid}" if user.uid is not None else "the image's user"
    if not inv.users:
        none = "the image has no /etc/passwd"
        if name == "os/user.Current" and user.current_works:
            return True, ""
        return False, none
    if name == "os/user.Current" and not user.current_works:
        return False, f"/etc/passwd has no entry for {who} and $USER is not set"
    if is_cgo_lookup(name) and "getpwuid" in name and user.name is None:
        return False, f"/etc/passwd has no entry for {who}, which libc would look up"
    return True, ""


def _temp_dir(ctx: _Context) -> Finding | None:
    if ctx.provides.temp_dir:
        return None
    tmp = ctx.inventory.tmp if ctx.inventory else None
    path = tmp.path if tmp else "/tmp"
    if tmp is None or not tmp.exists:
        state = "does not exist"
    elif not tmp.is_dir:
        state = "is not a directory"
    else:
        state = f"is not writable by the image's user (mode {oct(tmp.mode or 0)})"
    return finding(
        "CCG109", f"{ctx.who} links {ctx.need.name} {_MAYBE}, and its temp dir {path} "
        f"($TMPDIR, else /tmp) {state}: creating temporary files would fail",
        ctx.need.location,
        "create it in the build stage (mkdir -m 1777 /tmp) and COPY --from=build /tmp /tmp, "
        "or set TMPDIR to a writable volume",
        function=ctx.need.name, path=path)


def _program(ctx: _Context) -> Finding | None:
    # A named program (from the source) is checked in the image itself, by name
    # (judge_program: CCG101/CCG206); here only the binary's anonymous need is.
    if ctx.provides.shell is not None or ctx.need.name != UNKNOWN_PROGRAM:
        return None
    what = "a program (which one cannot be read from the binary)"
    count = len(ctx.provides.programs)
    return finding(
        "CCG102", f"{ctx.who} links os/exec or os.StartProcess {_MAYBE} to run {what}, and "
        f"the image is minimal: no shell and {count} program(s) on PATH, so it would likely "
        "fail with 'executable file not found in $PATH'", ctx.need.location,
        "do the work in Go, or install the program in the final stage; run gorc with --source "
        "to name the programs", program=ctx.need.name, programs_on_path=str(count))


def _resolver(ctx: _Context) -> Finding | None:
    inv = ctx.inventory
    if inv is None or inv.nsswitch is None or inv.nsswitch.conf_exists:
        return None
    forced = _libc_resolver_forced(ctx)
    if forced is None:
        return None
    return finding(
        "CCG111", f"{ctx.who} resolves names through {forced} and the image has no "
        "/etc/nsswitch.conf: glibc then uses 'hosts: dns [!UNAVAIL=return] files', so "
        "/etc/hosts (localhost, --add-host entries) is read only when no DNS server answers",
        ctx.need.location,
        "COPY an /etc/nsswitch.conf with 'hosts: files dns', or build with -tags netgo",
        function=ctx.need.name, path="/etc/nsswitch.conf")


def _libc_resolver_forced(ctx: _Context) -> str | None:
    """What makes the lookup follow glibc's defaults, or None when Go's own order applies.

    Go 1.16+ (net/conf.go hostLookupOrder) uses its own resolver with 'files dns'
    when nsswitch.conf is absent, even in a cgo build, unless the cgo resolver is
    forced (the netcgo tag, GODEBUG=netdns=cgo). Go 1.15 and older mimicked
    glibc's default order themselves. musl has no NSS and reads /etc/hosts first.
    """
    report = ctx.report
    glibc = report is not None and interpreter_family(report.interpreter) is LibcFamily.GLIBC
    if is_cgo_lookup(ctx.need.name) and glibc:
        godebug = " ".join(filter(None, (ctx.summary.env_value("GODEBUG"),
                                         report.go.setting("DefaultGODEBUG")
                                         if report and report.go else None)))
        if "netcgo" in build_tags(report.go if report else None):
            return "libc's getaddrinfo (built with -tags netcgo)"
        if re.search(r"netdns=(\w+\+)?cgo", godebug):
            return "libc's getaddrinfo (GODEBUG netdns=cgo)"
    if report is not None and report.go is not None and _go_before_116(report.go.go_version):
        return f"Go's resolver ({report.go.go_version} follows glibc's default order)"
    return None


def _go_before_116(version: str) -> bool:
    match = re.match(r"go1\.(\d+)", version)
    return match is not None and int(match.group(1)) < 16


_CHECKS: dict[NeedKind, _Check] = {
    NeedKind.CA_CERTIFICATES: _ca,
    NeedKind.ZONEINFO: _zoneinfo,
    NeedKind.USER_DATABASE: _users,
    NeedKind.TEMP_DIR: _temp_dir,
    NeedKind.PROGRAM: _program,
    NeedKind.NAME_RESOLUTION: _resolver,
}


def reconcile_user(inventory: Inventory, summary: ImageSummary) -> tuple[Finding, ...]:
    """CCG214 when the runtime cannot map the config's USER to ids and will not start."""
    check = inventory.config_user
    if check.runtime_starts:
        return ()
    missing_group = check.resolution is UserResolution.UNKNOWN_GROUP
    what, table = ("group", "/etc/group") if missing_group else ("user", "/etc/passwd")
    name = (check.spec or "").partition(":")[2] if missing_group else check.name
    return (finding(
        "CCG214", f"USER {check.spec}: the image's {table} has no {what} {name!r}, so the "
        f"runtime refuses to start the container ('unable to find {what} {name}: no "
        f"matching entries in {table.rsplit('/', 1)[1]} file')",
        ImageLocation(summary.reference, table),
        f"USER a numeric uid:gid (e.g. 65532:65532), or COPY an {table} that lists {name!r}",
        user=check.spec or "", missing=f"{what} {name}"),)

