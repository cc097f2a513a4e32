"""The kernel's and the loader's checks on one ELF program in the image.

Order follows execve(2) and binfmt_elf: the machine must match ("exec format
error"), PT_INTERP must open ("no such file or directory"), then the loader
maps each DT_NEEDED library and checks the symbol versions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gorc.binary import advice
from gorc.binary.buildinfo import read_buildinfo
from gorc.binary.elf import ElfInfo, ElfType, read_elf, read_layout
from gorc.binary.judgement import Judgement, subject
from gorc.binary.ldconfig import LD_SO_CACHE
from gorc.binary.loader import (
    Loader,
    LoadReport,
    MissingLibrary,
    MissingVersion,
    binary_family,
    find_loader,
    resolve_libraries,
    version_key,
)
from gorc.binary.symbols import unresolved_symbols
from gorc.errors import GorcError
from gorc.model import (
    BinaryFormat,
    BinaryReport,
    Finding,
    GoBuildInfo,
    ImageLocation,
    LibcFamily,
    Severity,
    Unknown,
)
from gorc.rules import finding

if TYPE_CHECKING:
    from gorc.binary.judge import Judge
    from gorc.image.fs import FileSystem

#: (binary, image) pairs a 64-bit kernel can usually still run.
_COMPAT_ARCHES = frozenset({("386", "amd64"), ("arm", "arm64")})


class ElfCheck:
    """The kernel's and the loader's checks on one ELF file."""

    def __init__(self, judge: Judge, path: str, entrypoint: bool) -> None:
        self.judge = judge
        self.path = path
        self.entrypoint = entrypoint
        self.what = subject(path, entrypoint)
        self.findings: list[Finding] = []
        self.unknowns: list[Unknown] = []
        self.elf: ElfInfo | None = None
        self.go: GoBuildInfo | None = None

    def run(self) -> Judgement:
        """Read the ELF, run the checks in the kernel's order, and build the report."""
        try:
            with self.judge.fs.open(self.path) as stream:
                layout = read_layout(stream)
                self.elf = read_elf(stream, layout)
                self.go = read_buildinfo(stream, layout)
        except GorcError as err:
            return self.judge.unreadable(self.path, self.entrypoint, str(err))
        runnable = self._check(self.elf)
        return Judgement(self._report(self.elf, runnable), tuple(self.findings),
                         tuple(self.unknowns))

    def _report(self, elf: ElfInfo, runnable: bool | None) -> BinaryReport:
        errors = tuple(dict.fromkeys(f.rule_id for f in self.findings))
        return BinaryReport(
            path=self.path, entrypoint=self.entrypoint, format=BinaryFormat.ELF,
            arch=elf.arch, linkage=elf.linkage, interpreter=elf.interpreter,
            needed=elf.needed, go=self.go, runnable=runnable, problems=errors,
            layer=self.judge.location(self.path).layer)

    def _add(self, rule_id: str, message: str, suggestion: str,
             severity: Severity | None = None, **evidence: str) -> None:
        self.findings.append(finding(rule_id, message, self.judge.location(self.path),
                                     suggestion, severity, path=self.path, **evidence))

    def _check(self, elf: ElfInfo) -> bool | None:
        if elf.upx:
            self._add("CCG208", f"{self.what} is packed with UPX: its build info, linkage and "
                      "libraries are hidden until it unpacks itself",
                      "ship the unpacked binary; -ldflags '-s -w' makes it smaller")
            return None
        # binfmt_elf maps any ET_DYN and jumps to its entry: a shared object with one
        # (glibc's ld.so in ENTRYPOINT ["/lib64/ld-linux-x86-64.so.2", "/app"]) runs.
        if elf.elf_type is ElfType.OTHER or (elf.elf_type is ElfType.SHARED and not elf.entry):
            self._add("CCG212", f"{self.what} is an ELF {elf.elf_type} object, not a program "
                      "the kernel can start", "point the entrypoint at an executable")
            return False
        if not self._arch_ok(elf):
            return False
        if elf.interpreter is None:
            return True
        return self._check_dynamic(elf, elf.interpreter)

    def _arch_ok(self, elf: ElfInfo) -> bool:
        image_arch = self.judge.image_arch
        if image_arch is None or elf.arch == image_arch:
            return True
        fix = (f"build with GOARCH={image_arch}" if self.go is not None
               else f"install the {image_arch} build of the program")
        evidence = {"binary_arch": elf.arch or str(elf.machine), "image_arch": image_arch}
        if (elf.arch, image_arch) in _COMPAT_ARCHES:
            # The kernel runs these through its 32-bit compat layer (IA32_EMULATION,
            # COMPAT on arm64), which not every host or cloud kernel enables.
            self._add("CCG204", f"{self.what} is built for {elf.arch} in a {image_arch} image: "
                      "it starts only where the kernel has 32-bit compat support",
                      fix, Severity.WARNING, **evidence)
            return True
        self._add("CCG204", f"{self.what} is built for {elf.arch or f'machine {elf.machine}'} "
                  f"but the image is {image_arch}: 'exec format error'",
                  f"{fix}, or build the image with --platform linux/{elf.arch}", None,
                  **evidence)
        return False

    def _find_loader(self, elf: ElfInfo, interp: str) -> Loader | None:
        """The loader the kernel would map, or None (with a finding) when it cannot."""
        loader = find_loader(self.judge.fs, interp, elf.arch)
        family = binary_family(elf)
        fix = (f"{advice.static_build_fix(elf, self.go)}, or use "
               f"{advice.libc_base_hint(family)}")
        if loader is None:
            self._add("CCG201", f"{self.what} cannot start: its ELF interpreter {interp} is not "
                      f"in the image (the kernel answers 'no such file or directory'); it is a "
                      f"{advice.describe_binary(elf, self.go)}", fix, interpreter=interp)
            return None
        refusal = None if loader.elf else _not_an_elf(self.judge.fs, loader.path, elf.elf_class)
        if refusal:
            self._add("CCG201", f"{self.what} cannot start: its ELF interpreter {interp} is "
                      f"not an ELF file (the kernel answers '{refusal}')", fix,
                      interpreter=interp, loader=loader.path)
            return None
        if loader.elf is not None and loader.elf.machine != elf.machine:
            self._add("CCG201", f"{self.what} cannot start: its ELF interpreter {interp} is "
                      f"built for {loader.elf.arch} (the kernel answers 'accessing a corrupted "
                      "shared library')", fix, interpreter=interp, loader=loader.path)
            return None
        return loader

    def _check_dynamic(self, elf: ElfInfo, interp: str) -> bool | None:
        loader = self._find_loader(elf, interp)
        if loader is None:
            return False
        env = dict(self.judge.summary.env)
        load = resolve_libraries(self.judge.fs, self.path, elf, env, loader)
        self._report_load(load, loader.family)
        self._note_load_unknowns(load)
        if not load.ok:
            return False
        if binary_family(elf) is LibcFamily.GLIBC and loader.family is LibcFamily.MUSL:
            return self._check_gcompat(elf, loader, load)
        self._warn_minimal(elf, loader.family)
        return True

    def _check_gcompat(self, elf: ElfInfo, loader: Loader, load: LoadReport) -> bool | None:
        """A glibc binary run by musl's loader starts only if musl exports every symbol."""
        unresolved = unresolved_symbols(self.judge.fs, load.objects)
        fix = (f"{advice.static_build_fix(elf, self.go)}, or build on golang:alpine (musl), "
               "or use a glibc base image")
        via = f" ({loader.path})" if loader.path != elf.interpreter else ""
        where = f"its interpreter {elf.interpreter} is musl's loader{via}"
        if unresolved:
            shown = ", ".join(unresolved[:5]) + (" ..." if len(unresolved) > 5 else "")
            self._add("CCG211", f"{self.what} is linked against glibc but {where}: it stops "
                      f"with 'Error relocating {self.path}: {unresolved[0]}: symbol not found' "
                      f"(glibc-only symbols musl lacks: {shown})", fix,
                      interpreter=elf.interpreter or "", loader=loader.path,
                      symbols=",".join(unresolved))
            return False
        self._add("CCG211", f"{self.what} is linked against glibc but {where} (gcompat): "
                  "every symbol it imports resolves today, but glibc behaviour (DNS, locales, "
                  "NSS) differs under musl" + ("" if unresolved is not None else
                                                "; its symbols could not all be read"),
                  fix, Severity.WARNING, interpreter=elf.interpreter or "", loader=loader.path)
        return True if unresolved is not None else None

    def _note_load_unknowns(self, load: LoadReport) -> None:
        """A damaged ld.so.cache or a load cut short leaves the verdict less certain."""
        location = self.judge.location(self.path)
        for path, reason in load.skipped:
            if path == LD_SO_CACHE:
                self.unknowns.append(Unknown(path, f"the loader cache is unusable: {reason}",
                                             ImageLocation(location.image, path)))
        if load.truncated:
            self.unknowns.append(Unknown(self.path, "library resolution stopped at gorc's "
                                         "bounds (too many objects or too deep)", location))

    def _report_load(self, load: LoadReport, family: LibcFamily | None) -> None:
        for missing in load.missing:
            self._missing_library(missing, family)
        groups: dict[tuple[str, str, str], list[MissingVersion]] = {}
        for version in load.missing_versions:
            key = (version.needed_by, version.library, version.path)
            groups.setdefault(key, []).append(version)
        for group in groups.values():
            self._missing_versions(group)

    def _missing_library(self, missing: MissingLibrary, family: LibcFamily | None) -> None:
        by = "" if missing.needed_by == self.path else f" (needed by {missing.needed_by})"
        package = advice.debian_package(missing.name)
        evidence = {"library": missing.name, "needed_by": missing.needed_by,
                    "searched": ":".join(missing.searched)}
        if package:
            evidence["package"] = package
        fix = (f"{advice.install_hint(missing.name, family, self.judge.minimal)}, or "
               f"{advice.static_build_fix(self.elf_or_fail, self.go)}")
        if missing.unindexed:
            evidence["unindexed"] = missing.unindexed
            fix = (f"RUN ldconfig in the final stage: {missing.unindexed} is in a directory "
                   "ld.so.conf lists, but the loader reads only /etc/ld.so.cache")
        self._add("CCG202", f"{self.what} needs {missing.name}{by}, which the loader cannot "
                  f"find in the image: 'error while loading shared libraries'", fix, None,
                  **evidence)

    @property
    def elf_or_fail(self) -> ElfInfo:
        """The ELF read in :meth:`run` (set before any check runs)."""
        assert self.elf is not None
        return self.elf

    def _missing_versions(self, group: list[MissingVersion]) -> None:
        """One finding per library: every version it lacks, the newest named first."""
        first = group[0]
        versions = sorted({v.version for v in group}, key=version_key)
        newest = versions[-1]
        by = "" if first.needed_by == self.path else f" ({first.needed_by} does)"
        defined = f"defines versions only up to {first.highest}" if first.highest else \
            "does not define them"
        self._add("CCG203", f"{self.what} needs {', '.join(versions)} of {first.library}{by}, "
                  f"but the image's {first.path} {defined}: 'version `{newest}' not found'",
                  advice.newer_libc_hint(newest), version=newest, versions=",".join(versions),
                  library=first.path, highest=first.highest or "", needed_by=first.needed_by)

    def _warn_minimal(self, elf: ElfInfo, family: LibcFamily | None) -> None:
        if self.go is None or not self.judge.minimal:
            return
        rule = "CCG022" if family is LibcFamily.GLIBC else "CCG020"
        libc = "glibc" if family is LibcFamily.GLIBC else "its C library"
        self._add(rule, f"{self.what} is a dynamically linked Go binary that depends on {libc} "
                  f"({elf.interpreter}); it runs today, but the image looks minimal (no shell, "
                  "no package manager), so a base change breaks it",
                  advice.static_build_fix(elf, self.go), interpreter=elf.interpreter or "")


def _not_an_elf(fs: FileSystem, path: str, elf_class: int) -> str | None:
    """How exec fails when the interpreter is not an ELF file, or None when it is one.

    load_elf_binary (fs/binfmt_elf.c) reads the interpreter's ELF header: a file
    shorter than that is EIO, one without the ELF magic is ELIBBAD (both measured
    on the engine with a '#!' file in place of ld-linux-x86-64.so.2).
    """
    header_size = 64 if elf_class == 64 else 52  # Elf64_Ehdr, Elf32_Ehdr
    try:
        head = fs.read(path, header_size)
    except GorcError:
        return None
    if head.startswith(b"\x7fELF"):
        return None
    if len(head) < header_size:
        return "input/output error"
    return "accessing a corrupted shared library"
