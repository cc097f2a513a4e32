"""The facts and findings that flow between gorc's stages.

Sources produce facts (what the code needs, what the image provides, what the
Dockerfile intends), reconcile turns them into findings, reporters render a
:class:`Result`. Everything here is a frozen, slotted dataclass so that no
stage can change what another stage saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is; the JSON contract uses the values."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Order for sorting: errors first."""
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class Category(StrEnum):
    """Rule categories; the first seven are the predecessor's."""

    EXEC_COMMAND = "exec_command"
    CGO = "cgo"
    DYNAMIC_LINKING = "dynamic_linking"
    DOCKERFILE = "dockerfile"
    BASE_IMAGE = "base_image"
    MULTI_STAGE = "multi_stage"
    CORRELATION = "correlation"
    RUNTIME_FILES = "runtime_files"
    IMAGE = "image"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A place in a text file: Go source or a Dockerfile (1-based line and column)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


@dataclass(frozen=True, slots=True)
class ImageLocation:
    """A place in an image: a path in the squashed filesystem and the layer that wrote it.

    ``dockerfile`` optionally points at the Dockerfile line that made the layer;
    reporters that need a file location (SARIF) use it. ``instruction`` is the
    instruction that made the layer as the image history records it
    (``COPY app /app``), when the history says.
    """

    image: str
    path: str = ""
    layer: str | None = None
    dockerfile: SourceLocation | None = None
    instruction: str | None = None

    def __str__(self) -> str:
        where = f"{self.image}:{self.path}" if self.path else self.image
        return f"{where} (layer {self.layer[:19]})" if self.layer else where


Location = SourceLocation | ImageLocation


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found, with its evidence.

    ``evidence`` holds the raw facts behind the message (a missing path, the two
    architectures, a symbol version) so that machines need not parse ``message``.
    """

    rule_id: str
    category: Category
    severity: Severity
    message: str
    location: Location | None = None
    suggestion: str = ""
    evidence: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Unknown:
    """Something gorc could not analyse; recorded instead of crashing or skipping."""

    what: str
    reason: str
    location: Location | None = None


class NeedKind(StrEnum):
    """Kinds of run-time needs (the JSON contract uses the values)."""

    PROGRAM = "program"
    SHELL = "shell"
    CGO = "cgo"
    CA_CERTIFICATES = "ca_certificates"
    ZONEINFO = "zoneinfo"
    USER_DATABASE = "user_database"
    TEMP_DIR = "temp_dir"
    NAME_RESOLUTION = "name_resolution"
    PLUGIN = "plugin"


@dataclass(frozen=True, slots=True)
class Need:
    """Something the program needs at run time, and where that was seen."""

    kind: NeedKind
    name: str
    location: Location | None = None


class LibcFamily(StrEnum):
    """The C library an image or a binary is built around."""

    GLIBC = "glibc"
    MUSL = "musl"


@dataclass(frozen=True, slots=True)
class Libc:
    """A C library: its family and version, both unknown when absent."""

    family: LibcFamily | None = None
    version: str | None = None


class ProvidesSource(StrEnum):
    """Where capabilities came from: the real image or a knowledge-base profile."""

    IMAGE = "image"
    PROFILE = "profile"


@dataclass(frozen=True, slots=True)
class Provides:
    """What an image offers a program at run time (DESIGN.md, ``provides``)."""

    source: ProvidesSource
    shell: str | None = None
    libc: Libc = field(default_factory=Libc)
    programs: tuple[str, ...] = ()
    ca_certificates: tuple[str, ...] = ()
    zoneinfo: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    temp_dir: bool = False


@dataclass(frozen=True, slots=True)
class Stage:
    """One ``FROM`` of a Dockerfile: its base image, its name and where it starts."""

    base: str
    name: str | None = None
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class BuildFacts:
    """What the Dockerfile intends the image to be (DESIGN.md, ``BuildFacts``).

    ``cgo_enabled`` is the CGO_ENABLED the final ``go build`` ran with when the
    Dockerfile says (ENV, ARG or the RUN line), else None: Go's default then
    depends on whether the build image has a C compiler.
    """

    dockerfile: str
    stages: tuple[Stage, ...] = ()
    cgo_enabled: bool | None = None
    entrypoint: tuple[str, ...] | None = None
    entrypoint_shell_form: bool = False
    user: str | None = None

    @property
    def final_base(self) -> str | None:
        """The base image of the last stage, the one the image runs on."""
        return self.stages[-1].base if self.stages else None


@dataclass(frozen=True, slots=True)
class ImageSummary:
    """The identity and run-time configuration of an image (from its config JSON)."""

    reference: str
    digest: str | None = None
    os: str | None = None
    architecture: str | None = None
    variant: str | None = None
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    user: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str | None = None
    healthcheck: tuple[str, ...] | None = None

    def env_value(self, name: str) -> str | None:
        """The value of one variable of the config's Env, or None.

        A name listed twice takes its last value, as in the container: runc sets
        the entries in order, so the later one replaces the earlier (measured:
        Env ["PATH=/nope", "PATH=/bin"] finds /bin/app, the reverse does not).
        """
        for key, value in reversed(self.env):
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class GoModule:
    """A module line of Go build info (``mod`` or ``dep``), with its replacement."""

    path: str
    version: str = ""
    sum: str = ""
    replace: GoModule | None = None


@dataclass(frozen=True, slots=True)
class GoBuildInfo:
    """What ``go version -m`` prints: toolchain, main package and module, deps, settings."""

    go_version: str
    path: str = ""
    main: GoModule | None = None
    deps: tuple[GoModule, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()

    def setting(self, key: str) -> str | None:
        """The value of one build setting (``CGO_ENABLED``, ``-tags``...), or None."""
        for name, value in self.settings:
            if name == key:
                return value
        return None


class BinaryFormat(StrEnum):
    """What a program file is."""

    ELF = "elf"
    SCRIPT = "script"
    MISSING = "missing"
    OTHER = "other"


class Linkage(StrEnum):
    """Whether an ELF needs the dynamic loader."""

    STATIC = "static"
    DYNAMIC = "dynamic"


@dataclass(frozen=True, slots=True)
class BinaryReport:
    """One program in the image and whether it can start there."""

    path: str
    entrypoint: bool = False
    format: BinaryFormat = BinaryFormat.ELF
    arch: str | None = None
    linkage: Linkage | None = None
    interpreter: str | None = None
    needed: tuple[str, ...] = ()
    go: GoBuildInfo | None = None
    runnable: bool | None = None
    problems: tuple[str, ...] = ()
    layer: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """Everything one run found; reporters render it."""

    findings: tuple[Finding, ...] = ()
    image: ImageSummary | None = None
    binaries: tuple[BinaryReport, ...] = ()
    needs: tuple[Need, ...] | None = None
    provides: Provides | None = None
    unknowns: tuple[Unknown, ...] = ()
    strict: bool = False

    def count(self, severity: Severity) -> int:
        """How many findings have this severity."""
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def passed(self) -> bool:
        """No errors, and no warnings either under ``--strict``."""
        if self.count(Severity.ERROR):
            return False
        return not (self.strict and self.count(Severity.WARNING))
