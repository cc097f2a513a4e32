"""The rule catalog: every rule gorc can emit, with the help a user needs to act.

Ids keep the predecessor's (go-runtime-compat) numbers and meanings so that its
users can map their pipeline configs: CCG001-019 Go source, CCG020-029 linking,
CCG030-049 Dockerfile, CCG100-119 correlation of needs with capabilities,
CCG200-219 image and binary inspection.
"""

from __future__ import annotations

from dataclasses import dataclass

from gorc.model import Category, Finding, Location, Severity


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: id, category, default severity, a one-line title and a help text."""

    id: str
    category: Category
    severity: Severity
    title: str
    help: str


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
_EXEC, _CGO, _LINK = Category.EXEC_COMMAND, Category.CGO, Category.DYNAMIC_LINKING
_DF, _MS, _COR = Category.DOCKERFILE, Category.MULTI_STAGE, Category.CORRELATION
_RT, _IMG, _BIN = Category.RUNTIME_FILES, Category.IMAGE, Category.BINARY

_RULES = (
    Rule("CCG001", _EXEC, _W, "External program executed",
         "The code starts another program (os/exec Command, CommandContext, LookPath,\n"
         "os.StartProcess, syscall.Exec). The program must exist in the image and be on\n"
         "its PATH, or the call fails at run time with 'executable file not found in $PATH'.\n"
         "Fix: do the work in Go, or install the program in the final stage.\n"
         "Example: exec.Command(\"git\", \"rev-parse\") -> read .git with go-git."),
    Rule("CCG002", _EXEC, _W, "Shell executed",
         "The code runs a shell (sh, bash, ash...). Minimal images (scratch, distroless,\n"
         "chainguard static) have none, so the call fails with 'executable file not found'.\n"
         "Fix: run the program directly with its arguments instead of through 'sh -c'.\n"
         "Example: exec.Command(\"sh\", \"-c\", \"ls /data\") -> os.ReadDir(\"/data\")."),
    Rule("CCG003", _EXEC, _W, "Common system program with a pure-Go alternative",
         "The code runs a common system program (curl, wget, tar, gzip, git, openssl...)\n"
         "for which the Go standard library or a well-kept module does the same job.\n"
         "Fix: use the Go alternative and drop the run-time dependency.\n"
         "Example: exec.Command(\"curl\", url) -> http.Get(url)."),
    Rule("CCG004", _EXEC, _W, "Program used inside a shell string",
         "A shell command string ('sh -c \"curl ... | jq\"') runs further programs; each\n"
         "must exist in the image besides the shell itself.\n"
         "Fix: replace the pipeline with Go code, or install every program it names."),
    Rule("CCG005", _EXEC, _I, "Command not resolvable statically",
         "The program name comes from a variable, a flag or the environment and cannot be\n"
         "known before run time, so gorc cannot check that the image has it.\n"
         "Fix: make the set of programs explicit, or check the image with the value used\n"
         "in production."),
    Rule("CCG006", _RT, _I, "CA certificates read at run time",
         "A TLS client (net/http to https, crypto/tls, x509.SystemCertPool) loads the\n"
         "system roots from /etc/ssl/certs/ca-certificates.crt and the other places Go\n"
         "knows, or from SSL_CERT_FILE/SSL_CERT_DIR. Without them every handshake fails\n"
         "with 'x509: certificate signed by unknown authority'.\n"
         "Fix: COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/."),
    Rule("CCG007", _RT, _I, "Time zone data read at run time",
         "time.LoadLocation and the TZ variable read /usr/share/zoneinfo (or $ZONEINFO).\n"
         "Without it LoadLocation returns 'unknown time zone'.\n"
         "Fix: import _ \"time/tzdata\" or build with -tags timetzdata, or copy zoneinfo."),
    Rule("CCG008", _RT, _I, "User database read at run time",
         "os/user reads /etc/passwd and /etc/group (or asks libc NSS in a cgo build).\n"
         "Without them user.Current fails for the image's USER.\n"
         "Fix: copy a minimal /etc/passwd and /etc/group, or build with -tags osusergo and\n"
         "ship the files."),
    Rule("CCG009", _RT, _I, "Temporary directory used",
         "os.TempDir, os.CreateTemp and os.MkdirTemp use $TMPDIR or /tmp; scratch has no\n"
         "/tmp, and a read-only root has no writable one.\n"
         "Fix: create /tmp with mode 1777 in the image, or set TMPDIR to a writable volume."),
    Rule("CCG010", _CGO, _W, "CGO_ENABLED=1 in the image environment",
         "The build environment enables cgo, so the Go toolchain links against the C\n"
         "library of the build image and the binary needs the same libc at run time.\n"
         "Fix: ENV CGO_ENABLED=0 in the build stage unless cgo is really needed."),
    Rule("CCG011", _CGO, _W, "import \"C\"",
         "The package uses cgo: the binary links the build image's C library and its\n"
         "dynamic loader, which scratch and static distroless images do not have.\n"
         "Fix: use a pure-Go replacement, or run on a base with the same libc family."),
    Rule("CCG012", _CGO, _W, "cgo in a package of the module",
         "A package of the module uses cgo, so the whole binary is dynamically linked\n"
         "unless cgo is disabled or the link is forced static.\n"
         "Fix: isolate it behind a build tag, or choose a base image with a libc."),
    Rule("CCG013", _CGO, _W, "C sources in a package",
         "The package ships .c/.cc/.s files that the go command compiles with cgo.\n"
         "Fix: as for CCG012."),
    Rule("CCG014", _CGO, _W, "Dependency uses cgo",
         "A module the program depends on is a known cgo module (mattn/go-sqlite3,\n"
         "confluent-kafka-go, gopacket/pcap...). It needs its C library at run time.\n"
         "Fix: use a pure-Go alternative (modernc.org/sqlite, segmentio/kafka-go), or a\n"
         "base image with the library and the same libc."),
    Rule("CCG015", _CGO, _W, "Plugin loaded at run time",
         "plugin.Open needs cgo, the C library's dlopen and the plugin file in the image.\n"
         "Fix: link the code in, or ship a libc and the plugin."),
    Rule("CCG016", _RT, _I, "Name resolution through the C library",
         "With cgo on and no netgo tag, Go may resolve names through libc NSS, which reads\n"
         "/etc/nsswitch.conf and loads libnss_* modules.\n"
         "Fix: build with -tags netgo (or CGO_ENABLED=0), and ship /etc/nsswitch.conf."),
    Rule("CCG020", _LINK, _W, "Dynamically linked binary",
         "The binary has an ELF interpreter (PT_INTERP) and needed libraries: it starts\n"
         "only where that loader and those libraries exist.\n"
         "Fix: CGO_ENABLED=0 go build, or -ldflags '-linkmode external -extldflags -static'."),
    Rule("CCG021", _LINK, _E, "Missing shared library",
         "A library the binary needs (DT_NEEDED) is not in the base image: the loader\n"
         "stops with 'error while loading shared libraries' (exit 127).\n"
         "Fix: install the library's package in the final stage, or link statically."),
    Rule("CCG022", _LINK, _W, "glibc dependency",
         "The binary is linked against glibc and needs glibc's loader and a libc.so.6 at\n"
         "least as new as the versions it asks for. It breaks on musl (alpine), scratch\n"
         "and static distroless, and after a builder upgrade on an older runtime base.\n"
         "Fix: CGO_ENABLED=0, or build and run on the same distribution release."),
    Rule("CCG030", _DF, _I, "scratch base image",
         "The final stage is FROM scratch: no loader, no libc, no shell, no CA\n"
         "certificates, no zoneinfo, no /etc/passwd, no /tmp.\n"
         "Fix: a static binary and COPY of every file the program reads."),
    Rule("CCG031", _DF, _I, "distroless base image",
         "distroless images have no shell and no package manager; 'static' has no libc,\n"
         "'base' and 'cc' have glibc.\n"
         "Fix: pick static for CGO_ENABLED=0 binaries, base or cc for cgo binaries."),
    Rule("CCG032", _DF, _W, "alpine base image (musl)",
         "alpine uses musl, not glibc: a cgo binary built on Debian or Ubuntu does not\n"
         "start there ('no such file or directory', or relocation errors with gcompat).\n"
         "Fix: build on golang:alpine for alpine, or CGO_ENABLED=0."),
    Rule("CCG033", _DF, _W, "go build without CGO_ENABLED=0",
         "go build enables cgo by default when a C compiler is present (golang:* images\n"
         "have gcc), and net and os/user then link the C library dynamically.\n"
         "Fix: RUN CGO_ENABLED=0 go build ..."),
    Rule("CCG034", _DF, _W, "Shell-form ENTRYPOINT, CMD or HEALTHCHECK",
         "The shell form runs '/bin/sh -c ...': it needs a shell in the final image.\n"
         "Fix: the exec form: ENTRYPOINT [\"/app\"]."),
    Rule("CCG035", _DF, _I, "Final stage base image",
         "The base image of the final stage decides what the program finds at run time.\n"
         "This finding records which base it is."),
    Rule("CCG040", _MS, _I, "Multi-stage build",
         "The program is built in one stage and copied into another: only what is copied\n"
         "into the final stage exists at run time (certificates and zoneinfo too)."),
    Rule("CCG041", _MS, _W, "Build stage cgo setting does not match the runtime stage",
         "The build stage links against one libc (or enables cgo) while the final stage\n"
         "has another libc or none.\n"
         "Fix: CGO_ENABLED=0 in the build stage, or the same libc family in both stages."),
    Rule("CCG100", _COR, _E, "Shell needed but the image has none",
         "The code runs a shell and the final image has no such shell.\n"
         "Fix: remove the shell from the code path, or use a base with /bin/sh."),
    Rule("CCG101", _COR, _E, "Program needed but absent from the image",
         "The code executes a program that is not on the image's PATH.\n"
         "Fix: do it in Go, or install the program in the final stage."),
    Rule("CCG102", _COR, _W, "Program executed on a minimal image",
         "The program can start other programs (os/exec is linked into the binary, or the\n"
         "source runs one) and the image is minimal: no shell and few programs. Which\n"
         "program it runs cannot be read from the binary or from a base-image profile.\n"
         "Fix: check that every program the code runs is in the image (gorc inspect with\n"
         "--source names them), or do the work in Go."),
    Rule("CCG103", _COR, _E, "cgo binary on an image without a C library",
         "The program uses cgo (or is dynamically linked) and the final image has no libc\n"
         "and no dynamic loader: the kernel answers 'no such file or directory'.\n"
         "Fix: CGO_ENABLED=0, or a base with a libc (distroless/base, debian-slim)."),
    Rule("CCG104", _COR, _E, "glibc cgo binary on a musl image",
         "The binary was linked against glibc and the image has musl (alpine).\n"
         "Fix: build in golang:alpine, or CGO_ENABLED=0, or run on a glibc base."),
    Rule("CCG105", _COR, _E, "Dynamic library missing",
         "A shared library the program needs is absent from the final image.\n"
         "Fix: install the library's package in the final stage, or link statically."),
    Rule("CCG106", _COR, _E, "CA certificates needed but absent",
         "The program makes TLS connections and the image has no CA bundle where Go looks.\n"
         "Fix: copy /etc/ssl/certs/ca-certificates.crt into the image, or set SSL_CERT_FILE."),
    Rule("CCG107", _COR, _E, "Time zone data needed but absent",
         "The program loads time zones and the image has no zoneinfo.\n"
         "Fix: import _ \"time/tzdata\", or copy /usr/share/zoneinfo."),
    Rule("CCG108", _COR, _W, "User database needed but absent",
         "The program looks up users and the image has no /etc/passwd or /etc/group.\n"
         "Fix: copy minimal passwd/group files into the image."),
    Rule("CCG109", _COR, _W, "Temporary directory needed but absent",
         "The program creates temporary files and the image has no /tmp and no TMPDIR.\n"
         "Fix: create /tmp with mode 1777, or set TMPDIR."),
    Rule("CCG110", _COR, _I, "Minimal image: the binary must be static",
         "The base image has no C library; the binary must be statically linked.\n"
         "Fix: CGO_ENABLED=0 go build."),
    Rule("CCG111", _COR, _W, "Name resolution configuration absent",
         "The program resolves names through the C library's NSS (the cgo resolver forced\n"
         "with -tags netcgo or GODEBUG=netdns=cgo, or a Go older than 1.16) and the image\n"
         "has no /etc/nsswitch.conf: glibc then uses its built-in order, which can ask DNS\n"
         "before /etc/hosts. Go's own resolver assumes 'files dns' in that case.\n"
         "Fix: ship /etc/nsswitch.conf with 'hosts: files dns', or build with -tags netgo."),
    Rule("CCG112", _COR, _W, "The Dockerfile and the real image disagree",
         "What the Dockerfile's base image should provide differs from what the built\n"
         "image really has (a libc, a shell, certificates). gorc trusts the image.\n"
         "Fix: check that the image was built from this Dockerfile and this base tag."),
    Rule("CCG200", _IMG, _E, "Entrypoint program not found in the image",
         "The program named by ENTRYPOINT/CMD does not exist in the image (or not on its\n"
         "PATH): the runtime fails with 'exec: \"app\": executable file not found'.\n"
         "Fix: COPY the binary to the path the entrypoint names, or fix the path."),
    Rule("CCG201", _IMG, _E, "ELF interpreter absent: the kernel cannot start the binary",
         "The binary names a dynamic loader (PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2)\n"
         "that the image lacks; the kernel answers 'exec /app: no such file or directory'\n"
         "although /app exists.\n"
         "Fix: CGO_ENABLED=0 go build (static), or a base image with that libc."),
    Rule("CCG202", _IMG, _E, "Needed shared library cannot be resolved in the image",
         "The loader's search (rpath, LD_LIBRARY_PATH, runpath, ld.so.cache/ld.so.conf or\n"
         "the musl path file, default directories) finds no file for a DT_NEEDED entry:\n"
         "'error while loading shared libraries: libX.so.N: cannot open shared object file'.\n"
         "Fix: install the library's package in the final stage, or link statically."),
    Rule("CCG203", _IMG, _E, "Needed symbol version not defined by the image's library",
         "The binary asks for a symbol version (e.g. GLIBC_2.38) that the image's library\n"
         "does not define: 'version `GLIBC_2.38' not found'. It was built against a newer\n"
         "library than the runtime image has.\n"
         "Fix: build on the same release as the runtime base, or upgrade the base image."),
    Rule("CCG204", _IMG, _E, "Binary architecture differs from the image",
         "The ELF machine does not match the image's architecture: 'exec format error'.\n"
         "Fix: build with GOARCH matching the image, or docker build --platform."),
    Rule("CCG205", _IMG, _E, "Shell form without /bin/sh",
         "ENTRYPOINT, CMD or HEALTHCHECK uses the shell form, which the runtime runs as\n"
         "'/bin/sh -c ...', and the image has no /bin/sh.\n"
         "Fix: the exec form: ENTRYPOINT [\"/app\"], HEALTHCHECK CMD [\"/app\", \"-health\"]."),
    Rule("CCG206", _IMG, _E, "Executed program cannot start in the image",
         "A program the code executes is in the image, but it cannot start there itself\n"
         "(missing loader or library, wrong architecture).\n"
         "Fix: install it with its dependencies from the base's package manager."),
    Rule("CCG207", _BIN, _W, "Binary could not be analysed",
         "The file looks like a program but could not be read (malformed ELF, truncated\n"
         "file). gorc records it as unknown rather than guessing.\n"
         "Fix: check that the file is complete; rebuild it."),
    Rule("CCG208", _BIN, _W, "Packed binary hides its build info",
         "The binary is packed (UPX): its Go build info, linkage and needed libraries are\n"
         "hidden until it unpacks itself at run time, and packers break on some kernels.\n"
         "Fix: ship the unpacked binary; use -ldflags '-s -w' to make it smaller."),
    Rule("CCG209", _IMG, _I, "Image has no entrypoint or command",
         "The image config has neither Entrypoint nor Cmd; 'docker run' without a command\n"
         "fails with 'no command specified'.\n"
         "Fix: ENTRYPOINT [\"/app\"]."),
    Rule("CCG210", _IMG, _E, "Script interpreter not found",
         "The entrypoint is a script whose '#!' line names an interpreter the image lacks:\n"
         "'exec /entrypoint.sh: no such file or directory'.\n"
         "Fix: install the interpreter, or replace the script with the binary it runs."),
    Rule("CCG211", _IMG, _E, "glibc binary served by the musl loader",
         "The binary asks for glibc's loader path, and in the image that path is musl's\n"
         "loader (gcompat, libc6-compat). glibc-only symbols then fail with\n"
         "'Error relocating /app: symbol not found'.\n"
         "Fix: build on golang:alpine (musl), or CGO_ENABLED=0."),
    Rule("CCG212", _IMG, _E, "Entrypoint is not a format the kernel can start",
         "The entrypoint is neither an ELF binary nor a '#!' script (for example a\n"
         "Windows or macOS binary): 'exec format error'.\n"
         "Fix: build with GOOS=linux."),
    Rule("CCG213", _IMG, _E, "Entrypoint is not executable",
         "The entrypoint file has no execute bit: 'permission denied'.\n"
         "Fix: chmod +x in the build stage, or COPY --chmod=0755."),
    Rule("CCG214", _IMG, _E, "USER not found in the image",
         "The config's USER names a user (or group) that /etc/passwd (or /etc/group) of\n"
         "the image does not list: the runtime cannot map it to ids and refuses to start\n"
         "the container ('unable to find user app: no matching entries in passwd file').\n"
         "A numeric uid[:gid] needs no entry.\n"
         "Fix: USER 65532:65532, or COPY an /etc/passwd (and /etc/group) that lists it."),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def get_rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError when there is none."""
    return RULES[rule_id.upper()]


def finding(
    rule_id: str,
    message: str,
    location: Location | None = None,
    suggestion: str = "",
    severity: Severity | None = None,
    **evidence: str,
) -> Finding:
    """A finding for ``rule_id`` with the rule's category and default severity."""
    rule = get_rule(rule_id)
    return Finding(
        rule_id=rule.id,
        category=rule.category,
        severity=severity or rule.severity,
        message=message,
        location=location,
        suggestion=suggestion,
        evidence=tuple(sorted(evidence.items())),
    )
