"""Representative results for the reporter tests and their golden files.

Each builder returns a fixed :class:`Result`; the golden files under ``golden/``
are their renderings. Findings are made with :func:`gorc.rules.finding` so they
carry the catalog's categories and severities, as the analyzers' do.
"""

from __future__ import annotations

from collections.abc import Callable

from gorc.model import (
    BinaryFormat,
    BinaryReport,
    GoBuildInfo,
    GoModule,
    ImageLocation,
    ImageSummary,
    Libc,
    LibcFamily,
    Linkage,
    Need,
    NeedKind,
    Provides,
    ProvidesSource,
    Result,
    SourceLocation,
    Unknown,
)
from gorc.rules import finding

IMAGE_REF = "registry.example.com/shop/api:1.4.2"
LAYER_APP = "sha256:" + "3f" * 32
LAYER_BASE = "sha256:" + "a1" * 32
DIGEST = "sha256:" + "9c" * 32
LOADER = "/lib64/ld-linux-x86-64.so.2"


def _api_build_info() -> GoBuildInfo:
    return GoBuildInfo(
        go_version="go1.19.8",
        path="example.com/shop/api/cmd/api",
        main=GoModule("example.com/shop/api", "(devel)"),
        deps=(
            GoModule("github.com/mattn/go-sqlite3", "v1.14.16",
                     "h1:yOQRA0RpS5PFz/oikGwBEqvAWhWg5ufRz4ETLjwpU1Y="),
            GoModule("golang.org/x/sys", "v0.5.0", "h1:abc=",
                     replace=GoModule("example.com/fork/sys", "v0.5.1", "h1:def=")),
        ),
        settings=(("-buildmode", "exe"), ("-compiler", "gc"), ("CGO_ENABLED", "1"),
                  ("GOARCH", "amd64"), ("GOOS", "linux"), ("GOAMD64", "v1")),
    )


def image_audit() -> Result:
    """``gorc inspect`` of an image: a cgo binary on a static base, several categories."""
    app = ImageLocation(IMAGE_REF, "/app/api", LAYER_APP,
                        dockerfile=SourceLocation("Dockerfile", 14, 1))
    findings = (
        finding("CCG201", f"/app/api needs the ELF interpreter {LOADER}, which the image "
                "lacks: the kernel answers 'no such file or directory'.", app,
                "Build with CGO_ENABLED=0, or use a base image with glibc "
                "(gcr.io/distroless/base-debian12).", interpreter=LOADER, binary="/app/api"),
        finding("CCG202", "libc.so.6 (needed by /app/api) cannot be found in the image.",
                ImageLocation(IMAGE_REF, "/app/api", LAYER_APP), library="libc.so.6"),
        finding("CCG204", "/usr/local/bin/healthcheck is aarch64 but the image is amd64.",
                ImageLocation(IMAGE_REF, "/usr/local/bin/healthcheck", LAYER_APP,
                              instruction="COPY --from=build /out/healthcheck /usr/local/bin/"),
                "Build it with GOARCH=amd64.", binary_arch="aarch64", image_arch="amd64"),
        finding("CCG106", "The program makes TLS connections (net/http) and the image has "
                "no CA bundle.", ImageLocation(IMAGE_REF, "/etc/ssl/certs"),
                "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/"),
        finding("CCG014", "Dependency github.com/mattn/go-sqlite3 uses cgo.",
                ImageLocation(IMAGE_REF, "/app/api", LAYER_APP),
                "Use modernc.org/sqlite (pure Go).", module="github.com/mattn/go-sqlite3"),
        finding("CCG035", "Final stage base: gcr.io/distroless/static-debian12.",
                SourceLocation("Dockerfile", 10, 1)),
    )
    return Result(
        findings=findings,
        image=ImageSummary(
            reference=IMAGE_REF, digest=DIGEST, os="linux", architecture="amd64",
            entrypoint=("/app/api",), cmd=("serve", "--port=8080"), user="65532",
            env=(("PATH", "/usr/local/bin:/usr/bin:/bin"), ("SSL_CERT_FILE", "")),
            working_dir="/app", healthcheck=("CMD", "/usr/local/bin/healthcheck")),
        binaries=(
            BinaryReport("/usr/local/bin/healthcheck", arch="aarch64", linkage=Linkage.STATIC,
                         go=GoBuildInfo("go1.19.8", path="example.com/shop/health"),
                         runnable=False, problems=("CCG204",), layer=LAYER_APP),
            BinaryReport("/app/api", entrypoint=True, arch="x86_64", linkage=Linkage.DYNAMIC,
                         interpreter=LOADER, needed=("libc.so.6",), go=_api_build_info(),
                         runnable=False, problems=("CCG202", "CCG201"), layer=LAYER_APP),
        ),
        needs=(
            Need(NeedKind.CGO, "github.com/mattn/go-sqlite3"),
            Need(NeedKind.CA_CERTIFICATES, "crypto/x509"),
        ),
        provides=Provides(
            source=ProvidesSource.IMAGE, shell=None, libc=Libc(),
            ca_certificates=(), zoneinfo=("/usr/share/zoneinfo",),
            users=("root", "nonroot", "nobody"), temp_dir=True),
        unknowns=(
            Unknown("/app/plugins/legacy.so", "cannot read ELF header: file is truncated",
                    ImageLocation(IMAGE_REF, "/app/plugins/legacy.so", LAYER_APP)),
        ),
    )


def source_analysis() -> Result:
    """``gorc analyze``: source and Dockerfile, capabilities from a base profile."""
    main_go = "cmd/worker/main.go"
    findings = (
        finding("CCG001", "exec.Command runs \"convert\" (ImageMagick).",
                SourceLocation(main_go, 42, 9), "Use a Go image library (golang.org/x/image)."),
        finding("CCG002", "exec.Command runs a shell: sh -c \"tar czf - /data | gzip\".",
                SourceLocation(main_go, 57, 12), "Use archive/tar and compress/gzip."),
        finding("CCG004", "The shell string runs tar and gzip.", SourceLocation(main_go, 57, 12)),
        finding("CCG100", "The code runs sh but the base image (scratch) has no shell.",
                SourceLocation(main_go, 57, 12)),
        finding("CCG101", "The code runs convert, absent from the base image (scratch).",
                SourceLocation(main_go, 42, 9)),
        finding("CCG033", "go build runs without CGO_ENABLED=0.", SourceLocation("Dockerfile", 8),
                "RUN CGO_ENABLED=0 go build -o /out/worker ./cmd/worker"),
        finding("CCG030", "The final stage is FROM scratch.", SourceLocation("Dockerfile", 12, 1)),
        finding("CCG005", "The program name comes from the flag -hook.",
                SourceLocation("internal/hooks/run.go", 18, 14)),
    )
    return Result(
        findings=findings,
        needs=(
            Need(NeedKind.PROGRAM, "convert", SourceLocation(main_go, 42, 9)),
            Need(NeedKind.SHELL, "sh", SourceLocation(main_go, 57, 12)),
            Need(NeedKind.PROGRAM, "tar", SourceLocation(main_go, 57, 12)),
            Need(NeedKind.PROGRAM, "gzip", SourceLocation(main_go, 57, 12)),
            Need(NeedKind.TEMP_DIR, "os.MkdirTemp", SourceLocation(main_go, 30, 2)),
            Need(NeedKind.ZONEINFO, "Europe/Paris", SourceLocation("internal/clock/tz.go", 7)),
        ),
        provides=Provides(source=ProvidesSource.PROFILE),
        unknowns=(Unknown("internal/gen/bad.go", "syntax error at line 3",
                          SourceLocation("internal/gen/bad.go", 3)),),
    )


def clean_pass() -> Result:
    """A static binary on distroless static: nothing to say beyond an info."""
    ref = "localhost:5000/tools/ok@" + DIGEST
    return Result(
        findings=(finding("CCG035", "Final stage base: gcr.io/distroless/static-debian12.",
                          SourceLocation("Dockerfile", 9, 1)),),
        image=ImageSummary(reference=ref, digest=DIGEST, os="linux", architecture="arm64",
                           variant="v8", entrypoint=("/ok",), user="nonroot",
                           env=(("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                 "/sbin:/bin"),)),
        binaries=(BinaryReport("/ok", entrypoint=True, arch="aarch64", linkage=Linkage.STATIC,
                               go=GoBuildInfo("go1.19.8", path="example.com/ok",
                                              main=GoModule("example.com/ok", "v1.0.0")),
                               runnable=True),),
        needs=(),
        provides=Provides(source=ProvidesSource.IMAGE, libc=Libc(),
                          ca_certificates=("/etc/ssl/certs/ca-certificates.crt",),
                          zoneinfo=("/usr/share/zoneinfo",),
                          users=("root", "nobody", "nonroot"), temp_dir=True),
    )


def strict_failure() -> Result:
    """``--strict``: only warnings, which fail the run."""
    ref = "app:latest"
    return Result(
        findings=(
            finding("CCG020", "/app is dynamically linked (interpreter /lib/ld-musl-x86_64.so.1).",
                    ImageLocation(ref, "/app", LAYER_BASE)),
            finding("CCG010", "CGO_ENABLED=1 is set in the image environment.",
                    ImageLocation(ref)),
        ),
        image=ImageSummary(reference=ref, os="linux", architecture="amd64",
                           entrypoint=None, cmd=("/bin/sh", "-c", "/app"),
                           env=(("CGO_ENABLED", "1"),)),
        binaries=(BinaryReport("/app", entrypoint=True, arch="x86_64", linkage=Linkage.DYNAMIC,
                               interpreter="/lib/ld-musl-x86_64.so.1",
                               needed=("libc.musl-x86_64.so.1",), runnable=True),
                  BinaryReport("/bin/sh", format=BinaryFormat.SCRIPT, runnable=None)),
        needs=None,
        provides=Provides(source=ProvidesSource.IMAGE, shell="/bin/sh",
                          libc=Libc(LibcFamily.MUSL, "1.2.4"), programs=("sh", "busybox")),
        strict=True,
    )


LONG_PATH = "/opt/" + "/".join(f"very-long-directory-name-{n:02d}" for n in range(8)) + "/app"


def odd_characters() -> Result:
    """No location, quotes, backslashes, brackets, unicode and a very long path."""
    ref = "ünïcödé/ïmage:v1"
    return Result(
        findings=(
            finding("CCG209", "The image has neither Entrypoint nor Cmd."),
            finding("CCG200", f"Entrypoint {LONG_PATH} not found in the image.",
                    ImageLocation(ref, LONG_PATH)),
            finding("CCG001", "exec.Command runs \"C:\\tools\\x.exe\" [bold]not markup[/] "
                    "<b>&amp;</b> 日本語 ✓", SourceLocation("src/ünï cöde.go", 3, 7),
                    "Quote \"carefully\": it's `fine`.", raw="tab\there"),
            finding("CCG202", "Same place, other message B.", ImageLocation(ref, "/x")),
            finding("CCG202", "Same place, other message A.", ImageLocation(ref, "/x")),
        ),
        image=ImageSummary(reference=ref),
    )


SAMPLES: dict[str, Callable[[], Result]] = {
    "image_audit": image_audit,
    "source_analysis": source_analysis,
    "clean_pass": clean_pass,
    "strict_failure": strict_failure,
    "odd_characters": odd_characters,
}

# The Dockerfile each run analysed (the CLI's --dockerfile), where there was one.
SAMPLE_DOCKERFILES: dict[str, str] = {
    "image_audit": "Dockerfile",
    "source_analysis": "Dockerfile",
}
