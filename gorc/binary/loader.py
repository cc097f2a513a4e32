"""Dynamic loader resolution inside an image root.

Answers what ``ld.so`` (glibc) or ``ld-musl`` would do when the kernel starts a
binary in the image: which loader runs it, where each DT_NEEDED library is
found (breadth first, each object loaded once) and which symbol versions are
missing. Search orders follow glibc's elf/dl-load.c (_dl_map_object) and musl's
ldso/dynlink.c (load_library); see DOMAIN.md section 2.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from gorc.binary.elf import ElfInfo, read_elf
from gorc.binary.interpreter import Loader, binary_family, find_loader, real_file
from gorc.binary.ldconfig import (
    MUSL_DEFAULT_PATH,
    LdCache,
    glibc_system_dirs,
    read_ld_cache,
    read_ld_so_conf,
    read_musl_path,
)
from gorc.binary.loadreport import (
    LoadReport,
    MissingLibrary,
    MissingVersion,
    ResolvedLibrary,
    SearchStep,
    highest_version,
    version_key,
)
from gorc.errors import GorcError
from gorc.image.fs import FileSystem
from gorc.model import LibcFamily

__all__ = [
    "MAX_DEPTH", "MAX_OBJECTS", "LoadReport", "Loader", "MissingLibrary", "MissingVersion",
    "ResolvedLibrary", "SearchStep", "binary_family", "find_loader", "resolve_libraries",
    "version_key",
]

log = logging.getLogger(__name__)

#: Bounds on one resolution: objects loaded and the length of a loader chain.
MAX_OBJECTS = 1024
MAX_DEPTH = 64

# musl serves these itself: "lib" + one of them + "." is the C library
# (ldso/dynlink.c, load_library: "c.pthread.rt.m.dl.util.xnet.").
_MUSL_RESERVED = ("c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet.")
#: AT_PLATFORM as the kernel sets it, for $PLATFORM.
_PLATFORM = {"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "ppc64le": "ppc64le",
             "s390x": "s390x", "riscv64": "riscv64", "arm": "v7l"}


@dataclass(slots=True)
class _Object:
    """One object in the load: its path in the image, ELF facts and who loaded it."""

    path: str
    elf: ElfInfo
    origin: str
    parent: _Object | None = None
    depth: int = 0
    deps: dict[str, _Object] = field(default_factory=dict)

    def chain(self) -> list[_Object]:
        """This object and its loaders, up to the executable (glibc's l_loader chain)."""
        out: list[_Object] = []
        node: _Object | None = self
        while node is not None:
            out.append(node)
            node = node.parent
        return out


class _Resolver:
    """One breadth-first resolution, as the loader maps objects."""

    def __init__(self, fs: FileSystem, main: _Object, loader: Loader | None,
                 env: Mapping[str, str]) -> None:
        self.fs = fs
        self.main = main
        self.loader = loader
        self.musl = loader is not None and loader.family is LibcFamily.MUSL
        self.llp = [d for d in re.split(r"[:;]", env.get("LD_LIBRARY_PATH", "")) if d]
        self.by_name: dict[str, _Object] = {}
        self.by_real: dict[str, _Object] = {main.path: main}
        self.cache: LdCache | None = None
        self.conf_dirs: tuple[str, ...] | None = None
        self.libraries: list[ResolvedLibrary] = []
        self.missing: list[MissingLibrary] = []
        self.skipped: list[tuple[str, str]] = []
        self.truncated = False
        self._elf_cache: dict[str, ElfInfo | None] = {}
        self._seed_loader()
        if not self.musl:
            self._read_cache()

    def _seed_loader(self) -> None:
        loader = self.loader
        if loader is None or loader.elf is None:
            return
        obj = _Object(loader.path, loader.elf, posixpath.dirname(loader.path))
        self.by_real[loader.path] = obj
        for name in (loader.soname, loader.interpreter,
                     posixpath.basename(loader.interpreter)):
            if name:
                self.by_name[name] = obj

    def _read_cache(self) -> None:
        try:
            self.cache = read_ld_cache(self.fs, self.main.elf.little_endian)
        except GorcError as err:
            # glibc ignores a cache it cannot use and goes on with default dirs.
            self.skipped.append(("/etc/ld.so.cache", str(err)))

    def run(self) -> None:
        """Load every object reachable from the executable, breadth first."""
        queue = deque([self.main])
        while queue:
            obj = queue.popleft()
            for name in obj.elf.needed:
                dep, new = self._load(obj, name)
                if dep is not None:
                    obj.deps[name] = dep
                if new and dep is not None:
                    queue.append(dep)

    def _load(self, obj: _Object, name: str) -> tuple[_Object | None, bool]:
        known = self.by_name.get(name)
        if known is not None:
            return known, False
        if self.musl and _musl_reserved(name):
            return self._musl_self(obj, name), False
        found = self._search(obj, name)
        if found is None:
            return None, False
        candidate, real, elf, step = found
        dep = self.by_real.get(real)
        new = dep is None
        if dep is None:
            if len(self.by_real) >= MAX_OBJECTS or obj.depth + 1 > MAX_DEPTH:
                self.truncated = True
                return None, False
            dep = _Object(real, elf, posixpath.dirname(candidate), obj, obj.depth + 1)
            self.by_real[real] = dep
            self.libraries.append(ResolvedLibrary(name, candidate, step, obj.path, real))
        self.by_name[name] = dep
        if elf.soname:
            self.by_name.setdefault(elf.soname, dep)
        return dep, new

    def _musl_self(self, obj: _Object, name: str) -> _Object | None:
        loader = self.loader
        seeded = self.by_real.get(loader.path) if loader is not None else None
        if loader is None or seeded is None:
            return None
        self.by_name[name] = seeded
        self.libraries.append(ResolvedLibrary(
            name, loader.interpreter, SearchStep.MUSL_SELF, obj.path, loader.path))
        return seeded

    def _search(self, obj: _Object, name: str) -> tuple[str, str, ElfInfo, SearchStep] | None:
        if "/" in name:
            steps: list[tuple[SearchStep, list[str]]] = [(SearchStep.PATH, [name])]
        else:
            steps = self._musl_steps(obj) if self.musl else self._glibc_steps(obj)
        searched: list[str] = []
        for step, dirs in steps:
            if step == SearchStep.LD_SO_CACHE:
                searched.append(SearchStep.LD_SO_CACHE)
                paths = list(self.cache.lookup(name)) if self.cache is not None else []
            elif step == SearchStep.PATH:
                searched.extend(dirs)
                paths = dirs
            else:
                searched.extend(dirs)
                paths = [posixpath.join(d, name) for d in dirs]
            for path in paths:
                hit = self._candidate(path)
                if hit is not None:
                    return path, hit[0], hit[1], step
        self.missing.append(MissingLibrary(name, obj.path, tuple(dict.fromkeys(searched)),
                                           "" if self.musl else self._unindexed(name)))
        return None

    def _unindexed(self, name: str) -> str:
        """A file for ``name`` in an ld.so.conf dir, which only ldconfig would index."""
        if self.conf_dirs is None:
            self.conf_dirs = read_ld_so_conf(self.fs)
        for directory in self.conf_dirs:
            path = posixpath.join(directory, name)
            if self._candidate(path) is not None:
                return path
        return ""

    def _glibc_steps(self, obj: _Object) -> list[tuple[SearchStep, list[str]]]:
        steps: list[tuple[SearchStep, list[str]]] = []
        if not obj.elf.runpath:
            # DT_RPATH of the object, then of each object that loaded it; an
            # object with DT_RUNPATH has its DT_RPATH ignored (get-dynamic-info.h).
            rpath = [self._expand(d, o) for o in obj.chain() if not o.elf.runpath
                     for d in o.elf.rpath]
            steps.append((SearchStep.RPATH, rpath))
        steps.append((SearchStep.LD_LIBRARY_PATH, [self._expand(d, self.main)
                                                   for d in self.llp]))
        steps.append((SearchStep.RUNPATH, [self._expand(d, obj) for d in obj.elf.runpath]))
        # The running loader never reads ld.so.conf, only the cache ldconfig built
        # from it: without /etc/ld.so.cache, only the default dirs follow (dl-load.c).
        # Known gap: glibc 2.33+ also tries glibc-hwcaps/<level> subdirectories of
        # each directory first; gorc looks in the directories themselves only.
        if self.cache is not None:
            steps.append((SearchStep.LD_SO_CACHE, []))
        steps.append((SearchStep.DEFAULT, list(self._default_dirs())))
        return steps

    def _musl_steps(self, obj: _Object) -> list[tuple[SearchStep, list[str]]]:
        # musl tries LD_LIBRARY_PATH *before* the rpath chain, and treats
        # DT_RUNPATH like DT_RPATH (the later one wins), transitively.
        rpath = [self._expand(d, o, musl=True) for o in obj.chain()
                 for d in (o.elf.runpath or o.elf.rpath)]
        sys_path = self._musl_sys_path()
        return [(SearchStep.LD_LIBRARY_PATH, list(self.llp)), (SearchStep.RPATH, rpath),
                (sys_path[0], list(sys_path[1]))]

    def _musl_sys_path(self) -> tuple[SearchStep, tuple[str, ...]]:
        loader = self.loader
        arch = loader.musl_arch if loader else None
        if loader is None or arch is None:
            return SearchStep.DEFAULT, MUSL_DEFAULT_PATH
        # musl looks for etc/ld-musl-$ARCH.path two levels above its own name:
        # "/lib/ld-musl-x86_64.so.1" gives "/etc/ld-musl-x86_64.path".
        prefix = posixpath.dirname(posixpath.dirname(loader.interpreter)).rstrip("/")
        dirs = read_musl_path(self.fs, arch, prefix)
        if dirs is None:
            return SearchStep.DEFAULT, MUSL_DEFAULT_PATH
        return SearchStep.MUSL_PATH_FILE, dirs

    def _default_dirs(self) -> tuple[str, ...]:
        if self.loader is not None and self.loader.system_dirs:
            return self.loader.system_dirs
        return glibc_system_dirs(b"", self.main.elf.arch)

    def _expand(self, entry: str, obj: _Object, musl: bool = False) -> str:
        """Expand $ORIGIN (and for glibc $LIB, $PLATFORM) in one search path element."""
        # For an object in "/", musl's $ORIGIN is "" and glibc's is "/" (fixup_rpath,
        # _dl_get_origin): "$ORIGIN/../lib" becomes "/../lib" or "//../lib".
        values = {"ORIGIN": "" if musl and obj.origin == "/" else obj.origin}
        if not musl:
            dirs = self._default_dirs()
            values["LIB"] = dirs[0].lstrip("/") if dirs else "lib"
            values["PLATFORM"] = _PLATFORM.get(self.main.elf.arch or "", "")

        def sub(match: re.Match[str]) -> str:
            key = match.group(1) or match.group(2)
            return values.get(key, match.group(0))

        return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, entry)

    def _candidate(self, path: str) -> tuple[str, ElfInfo] | None:
        real = real_file(self.fs, path)
        if real is None:
            return None
        if real not in self._elf_cache:
            self._elf_cache[real] = self._read(real)
        elf = self._elf_cache[real]
        main = self.main.elf
        if elf is None or elf.elf_class != main.elf_class or elf.machine != main.machine:
            # The loader skips a file of the wrong class or machine and keeps looking.
            return None
        return real, elf

    def _read(self, real: str) -> ElfInfo | None:
        try:
            with self.fs.open(real) as stream:
                return read_elf(stream)
        except GorcError as err:
            self.skipped.append((real, str(err)))
            return None


def _musl_reserved(name: str) -> bool:
    return name.startswith("lib") and name[3:].startswith(_MUSL_RESERVED)


def _check_versions(objects: list[_Object]) -> list[MissingVersion]:
    """Version needs of every object against the definitions of what it loaded.

    glibc's _dl_check_map_versions: a library without any version definitions
    only earns a warning ("no version information available"), not a failure.
    """
    missing = []
    for obj in objects:
        for need in obj.elf.version_needs:
            lib = obj.deps.get(need.file)
            if lib is None or not lib.elf.version_defs:
                continue
            for version in need.versions:
                if version not in lib.elf.version_defs:
                    missing.append(MissingVersion(
                        version, need.file, lib.path, obj.path,
                        highest_version(lib.elf.version_defs, version)))
    return missing


def resolve_libraries(
    fs: FileSystem,
    path: str,
    elf: ElfInfo,
    env: Mapping[str, str],
    loader: Loader | None = None,
) -> LoadReport:
    """Resolve the needed libraries of the ELF at ``path`` as its loader would in ``fs``.

    ``loader`` is what the binary's PT_INTERP leads to (see :func:`find_loader`);
    found here when not given. ``env`` is the image config's environment (for
    LD_LIBRARY_PATH). Symbol versions are checked for glibc only: musl ignores them.
    """
    if loader is None and elf.interpreter:
        loader = find_loader(fs, elf.interpreter, elf.arch)
    real = real_file(fs, path) or path
    main = _Object(real, elf, posixpath.dirname(real))
    resolver = _Resolver(fs, main, loader, env)
    resolver.run()
    musl = loader is not None and loader.family is LibcFamily.MUSL
    objects = list(resolver.by_real.values())
    return LoadReport(
        loader=loader,
        libraries=tuple(resolver.libraries),
        missing=tuple(resolver.missing),
        missing_versions=() if musl else tuple(_check_versions(objects)),
        skipped=tuple(resolver.skipped),
        truncated=resolver.truncated,
        objects=tuple(resolver.by_real),
    )
