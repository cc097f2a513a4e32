"""Ground truth for the binary readers: readelf, ``go version -m`` and extra Go builds.

The parsers here are written independently of gorc's own (text output of the
real tools, not ELF bytes), so a test comparing the two is a differential test.
"""

from __future__ import annotations

import codecs
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import cache_dir, hash_inputs, in_ci, locked

#: readelf's names for the machines the tests meet, and their e_machine numbers.
READELF_MACHINES = {
    "Advanced Micro Devices X86-64": 62,
    "AArch64": 183,
    "Intel 80386": 3,
    "ARM": 40,
    "PowerPC64": 21,
    "IBM S/390": 22,
    "MIPS R3000": 8,
    "RISC-V": 243,
    "LoongArch": 258,
}


def require(tool: str) -> str:
    """The path of ``tool``; skip the test (fail it in CI) when it is missing."""
    found = shutil.which(tool)
    if found is None:
        message = f"{tool} is not installed"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@dataclass
class ReadelfFacts:
    """What ``readelf -lhdV --wide`` says about a file."""

    elf_class: int = 0
    little_endian: bool = True
    machine: int | None = None
    elf_type: str = ""
    interpreter: str | None = None
    needed: list[str] = field(default_factory=list)
    rpath: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    soname: str | None = None
    flags_1: str = ""
    version_needs: list[tuple[str, list[str]]] = field(default_factory=list)
    version_defs: list[str] = field(default_factory=list)


_DYN = re.compile(r"^\s*0x[0-9a-f]+ \((\w+)\)\s+(.*)$")
_BRACKET = re.compile(r"\[(.*)\]")


def readelf(path: Path) -> ReadelfFacts:
    """Run readelf on ``path`` and parse what gorc's ElfInfo also holds."""
    tool = require("readelf")
    out = subprocess.run([tool, "-lhdV", "--wide", str(path)], capture_output=True,
                         text=True, check=True, env={**os.environ, "LC_ALL": "C"}).stdout
    facts = ReadelfFacts()
    section = ""
    for line in out.splitlines():
        stripped = line.strip()
        if stripped.startswith("Version needs section"):
            section = "needs"
        elif stripped.startswith("Version definition section"):
            section = "defs"
        elif stripped.startswith("Version symbols section"):
            section = ""
        _header_line(facts, stripped)
        _dynamic_line(facts, line)
        _version_line(facts, stripped, section)
    return facts


def _header_line(facts: ReadelfFacts, line: str) -> None:
    key, _, value = line.partition(":")
    value = value.strip()
    if key == "Class":
        facts.elf_class = 64 if value == "ELF64" else 32
    elif key == "Data":
        facts.little_endian = "little endian" in value
    elif key == "Machine":
        facts.machine = READELF_MACHINES.get(value)
    elif key == "Type":
        facts.elf_type = value.split()[0]
    elif line.startswith("[Requesting program interpreter:"):
        facts.interpreter = line.split(":", 1)[1].strip(" ]")


def _dynamic_line(facts: ReadelfFacts, line: str) -> None:
    match = _DYN.match(line)
    if not match:
        return
    tag, rest = match.groups()
    bracket = _BRACKET.search(rest)
    value = bracket.group(1) if bracket else rest
    if tag == "NEEDED":
        facts.needed.append(value)
    elif tag == "RPATH":
        facts.rpath.extend(p for p in value.split(":") if p)
    elif tag == "RUNPATH":
        facts.runpath.extend(p for p in value.split(":") if p)
    elif tag == "SONAME":
        facts.soname = value
    elif tag == "FLAGS_1":
        facts.flags_1 = rest


def _version_line(facts: ReadelfFacts, line: str, section: str) -> None:
    if section == "needs" and "File:" in line:
        facts.version_needs.append((line.split("File:")[1].split()[0], []))
    elif section == "needs" and "Name:" in line and facts.version_needs:
        facts.version_needs[-1][1].append(line.split("Name:")[1].split()[0])
    elif section == "defs" and "Name:" in line and "Flags: BASE" not in line:
        facts.version_defs.append(line.split("Name:")[1].split()[0])


@dataclass
class GoVersionFacts:
    """What ``go version -m`` prints."""

    go_version: str = ""
    path: str = ""
    mod: list[str] | None = None
    deps: list[list[str]] = field(default_factory=list)
    replaces: dict[int, list[str]] = field(default_factory=dict)  # -1: main; i: deps[i]
    settings: list[tuple[str, str]] = field(default_factory=list)


def go_version_m(path: Path) -> GoVersionFacts | None:
    """Run ``go version -m`` on ``path``; None when go says it is not a Go program."""
    tool = require("go")
    done = subprocess.run([tool, "version", "-m", str(path)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0 or "not a Go executable" in done.stdout + done.stderr:
        return None
    lines = done.stdout.splitlines()
    facts = GoVersionFacts(go_version=lines[0].rsplit(": ", 1)[1])
    for line in lines[1:]:
        columns = line[1:].split("\t")
        word, rest = columns[0], columns[1:]
        if word == "path":
            facts.path = rest[0]
        elif word == "mod":
            facts.mod = rest
        elif word == "dep":
            facts.deps.append(rest)
        elif word == "=>":
            facts.replaces[len(facts.deps) - 1 if facts.deps else -1] = rest
        elif word == "build":
            facts.settings.append(_go_setting("\t".join(rest)))
    return facts


def _go_setting(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    if key.startswith('"'):  # a quoted key holding '=' is not produced by these builds
        raise AssertionError(f"quoted key in {text!r}")
    if value.startswith('"') and value.endswith('"'):
        value = codecs.decode(value[1:-1], "unicode_escape")
    return key, value


# Extra Go builds: cross architectures (byte orders and word sizes the probes
# do not cover) and a module with a dependency, a replacement and quoted flags.

HELLO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n'

DEP_MAIN = """package main

import (
\t"fmt"

\t"example.com/greet"
)

func main() { fmt.Println(greet.Hello()) }
"""


def go_build(name: str, files: dict[str, str], env: dict[str, str],
             flags: tuple[str, ...] = ()) -> Path:
    """Build the module in ``files`` (relative path -> text) and cache the binary."""
    tool = require("go")
    key = hash_inputs([*(x for kv in sorted(files.items()) for x in kv),
                       *(x for kv in sorted(env.items()) for x in kv), *flags, tool])
    target = cache_dir() / "binary-tests" / f"{name}-{key}" / name
    if target.is_file():
        return target
    with locked(f"binary-tests-{name}-{key}"):
        if not target.is_file():
            _compile(tool, files, env, flags, target)
    return target


def _compile(tool: str, files: dict[str, str], env: dict[str, str], flags: tuple[str, ...],
             target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    go_root = cache_dir() / "go"
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        source = Path(tmp) / "src"
        for rel, text in files.items():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            (source / rel).write_text(text)
        full_env = {**os.environ, "GOCACHE": str(go_root / "cache"),
                    "GOPATH": str(go_root / "path"), "GOPROXY": "off", "GOFLAGS": "-mod=mod",
                    "GOENV": "off", "HOME": str(go_root), "CGO_ENABLED": "0", **env}
        output = Path(tmp) / "out"
        subprocess.run([tool, "build", "-buildvcs=false", *flags, "-o", str(output), "."],
                       cwd=source / "main", env=full_env, check=True, capture_output=True)
        os.replace(output, target)


def hello_for(goarch: str, flags: tuple[str, ...] = ()) -> Path:
    """The hello program cross-compiled (CGO_ENABLED=0) for ``goarch``."""
    files = {"main/go.mod": "module example.com/hello\n\ngo 1.19\n", "main/main.go": HELLO}
    return go_build(f"hello-{goarch}", files, {"GOARCH": goarch}, flags)


def with_dependency() -> Path:
    """A program whose module requires a replaced dependency, built with quoted flags."""
    files = {
        "main/go.mod": ("module example.com/app\n\ngo 1.19\n\n"
                        "require example.com/greet v1.2.3\n\n"
                        "replace example.com/greet v1.2.3 => ../greet\n"),
        "main/main.go": DEP_MAIN,
        "greet/go.mod": "module example.com/greet\n\ngo 1.19\n",
        "greet/greet.go": 'package greet\n\nfunc Hello() string { return "hi" }\n',
    }
    flags = ("-tags=netgo,osusergo", "-ldflags=-s -X 'main.note=a b\"c' -X 'main.tab=x\ty'")
    return go_build("app", files, {}, flags)


def c_static_pie() -> Path:
    """A C program linked with ``gcc -static-pie``: ET_DYN, DF_1_PIE, no PT_INTERP."""
    gcc = require("gcc")
    source = "int main(void) { return 0; }\n"
    target = cache_dir() / "binary-tests" / f"static-pie-{hash_inputs([source, gcc])}" / "a"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            (Path(tmp) / "a.c").write_text(source)
            done = subprocess.run([gcc, "-static-pie", "-o", "a", "a.c"], cwd=tmp,
                                  capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip("gcc cannot link a static PIE here (no static libc)")
            os.replace(Path(tmp) / "a", target)
    return target


def go_pie() -> Path:
    """The hello program built with -buildmode=pie (CGO_ENABLED=0)."""
    files = {"main/go.mod": "module example.com/hello\n\ngo 1.19\n", "main/main.go": HELLO}
    return go_build("hello-pie", files, {}, ("-buildmode=pie",))
