"""Hostile inputs for ``gorc inspect``, and a sandbox that runs it and watches for writes.

Each case builds a small synthetic image (a docker-archive, an OCI layout or an
unpacked root) in the test's tmp_path, runs the real command line in a fresh
interpreter, and checks the contract of the quality bar: exit 2 with one
``gorc: error:`` line when the source is unusable, else a report with the
problem recorded; never a traceback; nothing written outside tmp_path and the
cache dir.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.image.layerkit import Member, digest, make_tar
from tests.support import REPO_ROOT

#: A shell script, for entrypoints that need a shell to be judged runnable.
SCRIPT = b"#!/bin/sh\necho hi\n"


@dataclass(frozen=True)
class Outcome:
    """What one ``gorc`` run printed and returned."""

    returncode: int
    stdout: str
    stderr: str

    def unusable(self, expected: str = "") -> str:
        """Assert exit 2 with one clean error line (containing ``expected``); return it."""
        assert self.returncode == 2, (self.returncode, self.stdout[:500], self.stderr)
        assert self.stdout == "", self.stdout[:500]
        assert self.stderr.count("\n") == 1, self.stderr
        assert self.stderr.startswith("gorc: error: "), self.stderr
        assert "internal error" not in self.stderr, self.stderr
        assert "Traceback" not in self.stderr
        assert expected.lower() in self.stderr.lower(), self.stderr
        return self.stderr

    def report(self) -> dict[str, Any]:
        """Assert a finished run (exit 0 or 1) with a JSON report; return it."""
        assert self.returncode in (0, 1), (self.returncode, self.stderr)
        assert "Traceback" not in self.stdout + self.stderr
        assert "internal error" not in self.stderr, self.stderr
        for line in self.stderr.splitlines():
            assert line.startswith("gorc: "), self.stderr
        doc: dict[str, Any] = json.loads(self.stdout)
        return doc


class Sandbox:
    """A tmp_path laid out for one run: inputs, an empty cwd, a cache, a temp dir, a home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.inputs = root / "inputs"
        self.cwd = root / "cwd"
        self.cache = root / "cache"
        self.tmp = root / "tmp"
        self.home = root / "home"
        #: Where reports asked for with ``-o FORMAT=FILE`` go.
        self.out = root / "out"
        for path in (self.inputs, self.cwd, self.tmp, self.home, self.out):
            path.mkdir(parents=True, exist_ok=True)
        #: A name a hostile layer tries to write on the host's /tmp.
        self.escape_name = f"gorc-pwned-{uuid.uuid4().hex}"

    def run(self, *args: str, env: dict[str, str] | None = None,
            stdout: Any = subprocess.PIPE) -> Outcome:
        """Run ``python -m gorc ARGS`` and check that it wrote only where it may.

        ``stdout`` may send the report elsewhere (a file object, or None to close it).
        """
        before = self._snapshot()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("GORC_")}
        environ.update(GORC_CACHE_DIR=str(self.cache), TMPDIR=str(self.tmp),
                       HOME=str(self.home), XDG_CACHE_HOME=str(self.home / ".cache"),
                       PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                                environ.get("PYTHONPATH")])))
        environ.update(env or {})
        command = [sys.executable, "-m", "gorc", *args]
        if stdout is None:  # the shell's '>&-': gorc starts with fd 1 closed
            command = ["sh", "-c", 'exec "$0" "$@" >&-', *command]
            stdout = subprocess.DEVNULL
        done = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, cwd=self.cwd,
                              env=environ, check=False, timeout=300)
        self.assert_contained(before)
        return Outcome(done.returncode, (done.stdout or b"").decode(errors="replace"),
                       done.stderr.decode(errors="replace"))

    def inspect(self, reference: str, *extra: str) -> Outcome:
        """``gorc inspect REFERENCE -o json``."""
        return self.run("inspect", reference, "-o", "json", *extra)

    def _snapshot(self) -> set[str]:
        skip = (self.cache, self.tmp, self.out)
        return {str(p) for p in self.root.rglob("*")
                if not any(p == s or s in p.parents for s in skip)}

    def assert_contained(self, before: set[str]) -> None:
        """Nothing new outside the cache and temp dirs; the temp dir left empty."""
        assert self._snapshot() == before, sorted(self._snapshot() ^ before)
        assert list(self.cwd.iterdir()) == []
        assert list(self.tmp.iterdir()) == [], list(self.tmp.iterdir())
        assert not Path("/tmp", self.escape_name).exists()
        assert not Path("/", self.escape_name).exists()


def raw_tar(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A tar of regular files in this order (duplicates and odd names allowed)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def config_doc(layers: Sequence[bytes], **config: Any) -> dict[str, Any]:
    """An image config for uncompressed ``layers``; ``config`` fields override the defaults."""
    settings: dict[str, Any] = {"Entrypoint": ["/app"], "Env": ["PATH=/bin:/usr/bin"]}
    settings.update(config)
    return {
        "architecture": "amd64", "os": "linux", "config": settings,
        "rootfs": {"type": "layers", "diff_ids": [digest(t) for t in layers]},
    }


@dataclass
class Archive:
    """The members of a docker-archive (classic layout), each changeable before writing."""

    layers: list[bytes]
    config: bytes
    manifest: Any = None
    extra: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def of(cls, *layers: Sequence[Member], **config: Any) -> Archive:
        """An archive of layer member lists, with a config built by :func:`config_doc`."""
        tars = [make_tar(members) for members in layers]
        return cls(tars, json.dumps(config_doc(tars, **config)).encode())

    def members(self) -> list[tuple[str, bytes]]:
        """Config, layers and manifest.json, in the order ``docker save`` writes."""
        config_name = digest(self.config)[7:] + ".json"
        found = [(config_name, self.config)]
        names = []
        for i, layer in enumerate(self.layers):
            names.append(f"l{i}/layer.tar")
            found.append((names[-1], layer))
        manifest = self.manifest
        if manifest is None:
            manifest = [{"Config": config_name, "RepoTags": ["t:1"], "Layers": names}]
        text = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        return [*found, ("manifest.json", text), *self.extra]

    def write(self, path: Path) -> str:
        """Write the archive; return its ``docker-archive:`` reference."""
        path.write_bytes(raw_tar(self.members()))
        return f"docker-archive:{path}"


def static_elf(machine: int = 62, extra: bytes = b"") -> bytes:
    """A minimal 64-bit little-endian ELF executable (one PT_LOAD, no interpreter)."""
    header = b"\x7fELF\x02\x01\x01" + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0x400078, 64, 0, 0, 64, 56, 1,
                          64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x100, 0x100, 0x1000)
    body = header + phdr + extra
    return body + b"\0" * max(0, 0x100 - len(body))


def elf_with_interp(interp: bytes, offset: int | None = None, size: int | None = None,
                    phnum: int | None = None) -> bytes:
    """A 64-bit ELF whose PT_INTERP names ``interp`` (offset and size may lie)."""
    at = 64 + 2 * 56
    header = b"\x7fELF\x02\x01\x01" + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x400078, 64, 0, 0, 64, 56,
                          2 if phnum is None else phnum, 64, 0, 0)
    phdrs = struct.pack("<IIQQQQQQ", 3, 4, at if offset is None else offset, 0, 0,
                        len(interp) if size is None else size, len(interp), 1)
    phdrs += struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x200, 0x200, 0x1000)
    return header + phdrs + interp


def elf_needed_past_strtab() -> bytes:
    """A dynamic ELF whose DT_NEEDED offset lies far past its DT_STRSZ-long string table."""
    header = b"\x7fELF\x02\x01\x01" + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0x1000, 64, 0, 0, 64, 56, 2, 64, 0, 0)
    dyn_at = 64 + 2 * 56
    dynamic = b"".join(struct.pack("<qQ", tag, value)
                       for tag, value in ((1, 0xFFFFFF), (5, 0x1000), (10, 8), (0, 0)))
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, 0x2000, 0x2000, 0x1000)
    phdrs += struct.pack("<IIQQQQQQ", 2, 6, dyn_at, dyn_at, dyn_at, len(dynamic),
                         len(dynamic), 8)
    body = header + phdrs + dynamic
    return body + bytes(0x1000 - len(body)) + b"\0libx\0\0\0" + bytes(0x1000 - 8)


def script_chain(count: int) -> list[Member]:
    """``/s0`` .. ``/s{count-1}``, each a '#!' script run by the next; the last by /bin/sh."""
    members: list[Member] = [(f"s{i}", "file", f"#!/s{i + 1}\n") for i in range(count - 1)]
    members.append((f"s{count - 1}", "file", "#!/bin/sh\necho ok\n"))
    members.append(("bin/sh", "file", static_elf()))
    return members


def symlink_chain(count: int) -> list[Member]:
    """``/l0 -> /l1 -> ... -> /l{count}``, the last a static ELF: ``count`` links to follow."""
    members: list[Member] = [(f"l{i}", "symlink", f"/l{i + 1}") for i in range(count)]
    members.append((f"l{count}", "file", static_elf()))
    return members


def big_header_tar(claimed: int, present: bytes) -> bytes:
    """A tar whose one member claims ``claimed`` bytes (GNU base-256) but holds ``present``."""
    block = bytearray(512)
    block[0:4] = b"huge"
    block[100:107] = b"0000644"
    block[108:115] = b"0000000"
    block[116:123] = b"0000000"
    block[124:136] = b"\x80" + claimed.to_bytes(11, "big")
    block[136:147] = b"00000000000"
    block[156:157] = b"0"
    block[257:265] = b"ustar  \0"
    block[148:156] = b" " * 8
    block[148:155] = b"%06o\0" % sum(block)
    return bytes(block) + present


def dynamic_elf(interp: str | None, needed: Sequence[str], e_type: int = 2,
                runpath: str | None = None) -> bytes:
    """A 64-bit x86-64 ELF with PT_INTERP (optional), DT_NEEDED and DT_RUNPATH entries.

    Everything lives in one PT_LOAD at address 0 (vaddr = file offset); the
    string table goes right after the dynamic section.
    """
    names = [*needed, *([runpath] if runpath else [])]
    strtab = b"\0" + b"".join(n.encode() + b"\0" for n in names)
    offsets = [1 + sum(len(n.encode()) + 1 for n in names[:i]) for i in range(len(names))]
    tags = [(1, off) for off in offsets[:len(needed)]] + ([(29, offsets[-1])] if runpath else [])
    interp_bytes = interp.encode() + b"\0" if interp else b""
    count = 3 if interp else 2
    at = 64 + count * 56
    dyn_at = at + len(interp_bytes)
    strtab_at = dyn_at + 16 * (len(tags) + 3)
    tags += [(5, strtab_at), (10, len(strtab)), (0, 0)]
    dynamic = b"".join(struct.pack("<qQ", tag, value) for tag, value in tags)
    size = strtab_at + len(strtab)
    header = b"\x7fELF\x02\x01\x01" + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", e_type, 62, 1, 0x1000, 64, 0, 0, 64, 56, count,
                          64, 0, 0)
    phdrs = b""
    if interp:
        phdrs += struct.pack("<IIQQQQQQ", 3, 4, at, at, at, len(interp_bytes),
                             len(interp_bytes), 1)
    phdrs += struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, size, size, 0x1000)
    phdrs += struct.pack("<IIQQQQQQ", 2, 6, dyn_at, dyn_at, dyn_at, len(dynamic),
                         len(dynamic), 8)
    return header + phdrs + interp_bytes + dynamic + strtab


#: One canned answer of :class:`HostileRegistry`: status, headers, body, and whether
#: to cut the connection right after the body (a body shorter than announced).
Answer = tuple[int, dict[str, str], bytes, bool]

_MANIFEST_TYPE = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
HOSTILE_ANSWERS: dict[str, Answer] = {
    "gzip-that-is-not": (200, {**_MANIFEST_TYPE, "Content-Encoding": "gzip"},
                         b"\x1f\x8bnot gzip at all" * 8, False),
    "body-cut-short": (200, {**_MANIFEST_TYPE, "Content-Length": "1000"}, b'{"a":', True),
    "realm-file-url": (401, {"WWW-Authenticate": 'Bearer realm="file:///etc/passwd"'}, b"",
                       False),
    "realm-not-a-url": (401, {"WWW-Authenticate": 'Bearer realm=",,,=="'}, b"", False),
    "html-page": (200, {"Content-Type": "text/html"}, b"<html>hello</html>", False),
    "status-999": (999, {}, b"", False),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answer: Answer = (404, {}, b"", False)
    #: answers by request path, tried before ``answer``
    routes: dict[str, Answer] = {}  # noqa: RUF012 (replaced per server, never mutated)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads gorc's output, not the server's."""

    def do_GET(self) -> None:
        status, headers, body, cut = self.routes.get(self.path, self.answer)
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        if cut:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def hostile_registry(answer: Answer, routes: dict[str, Answer] | None = None) -> Iterator[str]:
    """A registry on 127.0.0.1 giving ``answer`` (or its route's); yields host:port."""
    handler = type("Handler", (_Handler,), {"answer": answer, "routes": routes or {}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
