"""Bad and hostile input, end to end through ``gorc inspect``.

The quality bar: a clear one-line error and exit 2 where the run cannot go on,
else a report with the problem recorded (a finding or an unknown); never a
traceback; nothing written outside the test's tmp_path and the cache dir. Every
run goes through :class:`Sandbox`, which checks the last part after each run.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.binary.craft import go_elf_inline
from tests.cli.hostile_kit import (
    HOSTILE_ANSWERS,
    SCRIPT,
    Answer,
    Archive,
    Sandbox,
    big_header_tar,
    config_doc,
    dynamic_elf,
    elf_needed_past_strtab,
    elf_with_interp,
    hostile_registry,
    raw_tar,
    script_chain,
    static_elf,
    symlink_chain,
)
from tests.image.imagekit import Blobs, Image, Layer, ref_name
from tests.image.layerkit import Member, digest, make_tar, raw_header

Make = Callable[[Sandbox], str]


@pytest.fixture
def sb(tmp_path: Path) -> Sandbox:
    """A sandbox in this test's tmp_path."""
    return Sandbox(tmp_path)


def _app(data: bytes | None = None) -> list[Member]:
    return [("app", "file", static_elf() if data is None else data)]


def _archive(sb: Sandbox, archive: Archive, name: str = "image.tar") -> str:
    return archive.write(sb.inputs / name)


def _bytes(data: bytes) -> Make:
    def make(sb: Sandbox) -> str:
        path = sb.inputs / "image.tar"
        path.write_bytes(data)
        return f"docker-archive:{path}"
    return make


def _good(sb: Sandbox) -> bytes:
    path = sb.inputs / "good.tar"
    Archive.of(_app()).write(path)
    return path.read_bytes()


def _truncated(sb: Sandbox) -> str:
    data = _good(sb)
    return _bytes(data[: len(data) // 2 + 100])(sb)


def _changed(change: Callable[[Archive], None]) -> Make:
    def make(sb: Sandbox) -> str:
        archive = Archive.of(_app())
        change(archive)
        return _archive(sb, archive)
    return make


def _set(**fields: Any) -> Callable[[Archive], None]:
    def change(archive: Archive) -> None:
        for key, value in fields.items():
            setattr(archive, key, value)
    return change


def _manifest_field(key: str, value: Any) -> Callable[[Archive], None]:
    def change(archive: Archive) -> None:
        (entry,) = json.loads(dict(archive.members())["manifest.json"])
        entry[key] = value
        archive.manifest = [entry]
    return change


def _config(change: Callable[[dict[str, Any]], None]) -> Callable[[Archive], None]:
    def apply(archive: Archive) -> None:
        doc = json.loads(archive.config)
        change(doc)
        archive.config = json.dumps(doc).encode()
    return apply


def _drop_manifest(archive: Archive) -> None:
    archive.manifest = b"[]"


def _layer_symlink_out(sb: Sandbox) -> str:
    """A layer member that is a symlink leaving the archive (docker save links duplicates)."""
    good = Archive.of(_app())
    members = [(n, d) for n, d in good.members() if n != "l0/layer.tar"]
    path = sb.inputs / "image.tar"
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("l0/layer.tar")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../../../../../etc/passwd"
        tar.addfile(info)
        for name, data in members:
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    path.write_bytes(out.getvalue())
    return f"docker-archive:{path}"


def _oci(sb: Sandbox, blobs: Blobs, top: list[dict[str, Any]]) -> str:
    return f"oci-dir:{blobs.write_layout(sb.inputs / 'layout', top)}"


def _oci_loop(sb: Sandbox) -> str:
    """An index whose descriptor names its own (claimed) digest."""
    fake = "sha256:" + "ab" * 32
    blobs = Blobs()
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                          "digest": fake, "size": 200}]}
    data = json.dumps(doc).encode()
    blobs.blobs[fake] = data
    top = [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": fake,
            "size": len(data)}]
    return _oci(sb, blobs, top)


def _oci_nested(sb: Sandbox) -> str:
    blobs = Blobs()
    descriptor = blobs.manifest(Image([Layer({"app": static_elf()})]),
                                platform={"os": "linux", "architecture": "amd64"})
    for _ in range(50):
        descriptor = blobs.index([descriptor])
    return _oci(sb, blobs, [descriptor])


def _oci_missing_blob(sb: Sandbox) -> str:
    blobs = Blobs()
    top = blobs.manifest(Image([Layer({"app": static_elf()})]))
    layer = digest(Layer({"app": static_elf()}).stored)
    del blobs.blobs[layer]
    return _oci(sb, blobs, [top])


def _oci_media_type(sb: Sandbox) -> str:
    blobs = Blobs()
    top = blobs.manifest(Image([Layer({"app": static_elf()}, media_type="text/x-weird")]))
    return _oci(sb, blobs, [top])


def _oci_dotdot_digest(sb: Sandbox) -> str:
    blobs = Blobs()
    top = [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:../../../../../../etc/passwd", "size": 10}]
    return _oci(sb, blobs, top)


def _without_manifest(sb: Sandbox) -> str:
    members = [m for m in Archive.of(_app()).members() if m[0] != "manifest.json"]
    path = sb.inputs / "image.tar"
    path.write_bytes(raw_tar(members))
    return f"docker-archive:{path}"


#: JSON nested past the interpreter's recursion limit
_DEEP = b"[" * 100_000 + b"]" * 100_000


def _oci_deep_index(sb: Sandbox) -> str:
    layout = Blobs().write_layout(sb.inputs / "layout", [])
    (layout / "index.json").write_bytes(_DEEP)
    return f"oci-dir:{layout}"


def _short_diff_ids(archive: Archive) -> None:
    archive.layers.append(make_tar([("x", "file", "x")]))


UNUSABLE = [
    pytest.param(lambda sb: f"docker-archive:{sb.inputs / 'absent.tar'}", "no such file",
                 id="missing-file"),
    pytest.param(_bytes(b""), "docker-archive", id="empty-file"),
    pytest.param(_bytes(b"hello, this is not a tar archive\n" * 40), "docker-archive",
                 id="not-a-tar"),
    pytest.param(_truncated, "docker-archive", id="truncated-tar"),
    pytest.param(_bytes(gzip.compress(b"garbage" * 500)), "docker-archive", id="gzip-garbage"),
    pytest.param(_changed(_set(manifest=b"")), "manifest.json", id="manifest-empty"),
    pytest.param(_without_manifest, "manifest.json", id="manifest-missing"),
    pytest.param(_changed(_set(manifest=b"{nope")), "manifest.json", id="manifest-not-json"),
    pytest.param(_changed(_set(manifest=["a", "b"])), "manifest.json", id="manifest-strings"),
    pytest.param(_changed(_drop_manifest), "manifest.json", id="manifest-empty-list"),
    pytest.param(_changed(_manifest_field("Layers", "l0/layer.tar")), "layers",
                 id="layers-not-list"),
    pytest.param(_changed(_manifest_field("Config", "nope.json")), "nope.json",
                 id="config-missing-member"),
    pytest.param(_changed(_set(config=b"{not json")), "config", id="config-not-json"),
    pytest.param(_changed(_set(config=b"[1, 2]")), "config", id="config-array"),
    # the config's own digest is checked by docker-archive; a missing rootfs then
    # shows as layers without diff_ids
    pytest.param(_changed(_config(lambda d: d.pop("rootfs"))), "diff_ids",
                 id="config-no-rootfs"),
    pytest.param(
        _changed(_config(lambda d: d["rootfs"].update(diff_ids=["sha256:" + "0" * 64]))),
        "sha256:", id="layer-digest-mismatch"),
    pytest.param(_changed(_short_diff_ids), "diff_ids", id="diff-ids-short"),
    pytest.param(_layer_symlink_out, "docker-archive", id="layer-symlink-out"),
    pytest.param(_changed(_set(manifest=_DEEP)), "manifest.json", id="manifest-nested-deep"),
    pytest.param(_changed(_set(config=_DEEP)), "config", id="config-nested-deep"),
    pytest.param(_oci_deep_index, "index.json", id="oci-index-nested-deep"),
    pytest.param(_oci_loop, "oci-dir", id="oci-loop"),
    pytest.param(_oci_nested, "oci-dir", id="oci-nested-50"),
    pytest.param(_oci_missing_blob, "oci-dir", id="oci-missing-blob"),
    pytest.param(_oci_media_type, "text/x-weird", id="oci-unknown-media-type"),
    pytest.param(_oci_dotdot_digest, "digest", id="oci-dotdot-digest"),
]


@pytest.mark.parametrize(("make", "expected"), UNUSABLE)
def test_unusable_archive_is_one_line_exit_2(sb: Sandbox, make: Make, expected: str) -> None:
    sb.inspect(make(sb)).unusable(expected)


def _with_members(extra: tuple[tuple[str, bytes], ...]) -> Make:
    return _changed(_set(extra=extra))


def _manifest_listed_twice(sb: Sandbox) -> str:
    archive = Archive.of(_app())
    first = dict(archive.members())["manifest.json"]
    archive.extra = (("manifest.json", first),)
    return _archive(sb, archive)


READABLE: list[tuple[str, Make]] = [
    ("dotdot-members", _with_members((("../../../../tmp/x", b"x"), ("/abs/y", b"y")))),
    ("duplicate-members", _manifest_listed_twice),
]


@pytest.mark.parametrize("make", [c[1] for c in READABLE], ids=[c[0] for c in READABLE])
def test_odd_archive_members_are_harmless(sb: Sandbox, make: Make) -> None:
    report = sb.inspect(make(sb)).report()
    assert report["image"]["entrypoint"] == ["/app"]


def test_config_default_is_valid(sb: Sandbox) -> None:
    archive = Archive.of(_app())
    report = sb.inspect(_archive(sb, archive)).report()
    assert report["summary"]["passed"] is True, report
    assert config_doc([])["os"] == "linux"


# --- layers, binaries, config and inventory: the run goes on and records the problem ---


def _inspect(sb: Sandbox, layers: list[list[Member]], **config: Any) -> dict[str, Any]:
    report: dict[str, Any] = sb.inspect(_archive(sb, Archive.of(*layers, **config))).report()
    return report


def _rules(report: dict[str, Any]) -> list[str]:
    return [f["rule_id"] for f in report["findings"]]


def _entry(report: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [b for b in report["binaries"] if b["entrypoint"]]
    assert len(found) == 1, report["binaries"]
    return found[0]


def _fails_with(rule_id: str) -> Callable[[dict[str, Any]], None]:
    def check(report: dict[str, Any]) -> None:
        assert rule_id in _rules(report), report["findings"]
        severity = next(f["severity"] for f in report["findings"] if f["rule_id"] == rule_id)
        assert report["summary"]["passed"] is (severity != "error")
    return check


def _passes(report: dict[str, Any]) -> None:
    assert _rules(report) == [], report["findings"]
    assert report["summary"]["passed"] is True


def _unknown(report: dict[str, Any]) -> None:
    assert "CCG207" in _rules(report), report["findings"]
    assert [u["what"] for u in report["unknowns"]] == ["/app"]
    assert _entry(report)["runnable"] is None


_LOOP: list[Member] = [("a", "symlink", "/b"), ("b", "symlink", "/a")]
_SH_LOOP: list[Member] = [("bin/sh", "symlink", "/bin/sh2"), ("bin/sh2", "symlink", "/bin/sh")]
_DEVICES: list[Member] = [("dev/null", "char", b""), ("dev/sda", "block", b""),
                          ("dev/p", "fifo", b"")]

LAYER_CASES = [
    pytest.param([_LOOP], {"Entrypoint": ["/a"]}, _fails_with("CCG200"), id="loop-entrypoint"),
    pytest.param([_app() + _SH_LOOP], {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["/app"]},
                 _fails_with("CCG205"), id="loop-bin-sh"),
    # Linux follows at most 40 links in one lookup (MAXSYMLINKS)
    pytest.param([symlink_chain(100)], {"Entrypoint": ["/l0"]}, _fails_with("CCG200"),
                 id="symlink-chain-100"),
    pytest.param([symlink_chain(30)], {"Entrypoint": ["/l0"]}, _passes, id="symlink-chain-30"),
    pytest.param([[("usr/bin/python3", "file", static_elf()),
                   ("app", "symlink", "../../../../usr/bin/python3")]], {}, _passes,
                 id="link-out-of-root-stays-inside"),
    pytest.param([_app() + _DEVICES], {"Entrypoint": ["/dev/sda"]}, _fails_with("CCG200"),
                 id="device-as-entrypoint"),
    pytest.param([_app() + _DEVICES], {}, _passes, id="device-files"),
    pytest.param([_app(), []], {}, _passes, id="empty-layer"),
    pytest.param([_app(), [(".wh.nothing", "file", ""), ("x/.wh.y", "file", "")]], {},
                 _passes, id="whiteouts-of-nothing"),
    # an opaque marker at the root hides every lower layer (OCI image spec, layer.md)
    pytest.param([_app(), [(".wh..wh..opq", "file", ""), ("other", "file", "x")]], {},
                 _fails_with("CCG200"), id="opaque-root"),
    pytest.param([_app(), [(".", "file", "x"), ("/", "file", "y")]], {}, _passes,
                 id="file-replacing-root"),
    pytest.param([[*_app(), ("h", "hardlink", "nothere")]], {"Entrypoint": ["/h"]},
                 _fails_with("CCG200"), id="hardlink-to-missing"),
    # whiteouts naming '..', '.' or nothing must not delete a parent or the root
    pytest.param([_app(), [("x/.wh...", "file", ""), (".wh...", "file", ""),
                           ("x/.wh..", "file", ""), ("x/.wh.", "file", "")]], {}, _passes,
                 id="whiteouts-of-dot-dot"),
    pytest.param([[*_app(), ("h", "hardlink", "h")]], {"Entrypoint": ["/h"]},
                 _fails_with("CCG200"), id="hardlink-to-itself"),
    pytest.param([[*_app(), ("h", "hardlink", "../../../../etc/passwd")]],
                 {"Entrypoint": ["/h"]}, _fails_with("CCG200"), id="hardlink-out-of-root"),
    pytest.param([[*_app(), ("s", "symlink", "")]], {"Entrypoint": ["/s"]},
                 _fails_with("CCG200"), id="symlink-empty-target"),
    pytest.param([[*_app(), ("d/" + "n" * 200_000, "file", "x"),
                   ("/".join(["d"] * 3000) + "/f", "file", "x")]], {}, _passes,
                 id="huge-name-and-3000-deep-dirs"),
]


@pytest.mark.parametrize(("layers", "config", "check"), LAYER_CASES)
def test_hostile_layer_content_is_judged_inside_the_image(
    sb: Sandbox, layers: list[list[Member]], config: dict[str, Any],
    check: Callable[[dict[str, Any]], None],
) -> None:
    check(_inspect(sb, layers, **config))


def test_dot_dot_entries_land_inside_the_image_never_on_the_host(sb: Sandbox) -> None:
    name = sb.escape_name
    layer: list[Member] = [(f"../../../../tmp/{name}", "file", SCRIPT),
                           (f"/../../{name}", "file", SCRIPT),
                           ("bin/sh", "file", static_elf())]
    report = _inspect(sb, [layer], Entrypoint=[f"/tmp/{name}"], Cmd=None)
    _passes(report)
    assert _entry(report)["path"] == f"/tmp/{name}"
    # Sandbox.run has checked that neither /tmp/NAME nor /NAME exists on the host


def test_odd_names_survive_every_report_format(sb: Sandbox) -> None:
    go = go_elf_inline("go1.19", "path\texample.com/x\nmod\texample.com/x\t(devel)\t\n")
    forged = "bin/a\nFORGED: Result: PASSED"
    layer: list[Member] = [(forged, "file", go), ("bin/\u202eevil", "file", go), *_app()]
    reference = _archive(sb, Archive.of(layer))
    report = sb.inspect(reference).report()
    assert {"/" + forged, "/bin/\u202eevil"} <= {b["path"] for b in report["binaries"]}

    sarif = sb.out / "gorc.sarif"
    text = sb.run("inspect", reference, "-o", "text", "-o", f"sarif={sarif}")
    assert text.returncode == 0, text.stderr
    assert "Traceback" not in text.stdout + text.stderr
    # a newline in an image path must not start a line of its own in the text report
    assert "FORGED" in text.stdout
    assert not [line for line in text.stdout.splitlines() if line.lstrip().startswith("FORGED")]
    assert "\u202e" not in text.stdout
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_path_with_invalid_utf8_bytes(sb: Sandbox) -> None:
    go = go_elf_inline("go1.19", "path\texample.com/x\nmod\texample.com/x\t(devel)\t\n")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tar:
        for name, data in (("bin/\udcff\udcfe", go), ("app", static_elf())):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    layer = out.getvalue()
    archive = Archive([layer], json.dumps(config_doc([layer])).encode())
    reference = _archive(sb, archive)
    report = sb.inspect(reference).report()
    assert len(report["binaries"]) == 2
    text = sb.run("inspect", reference, "-o", "text", "-o", f"sarif={sb.out / 'g.sarif'}")
    assert text.returncode == 0, text.stderr
    json.loads((sb.out / "g.sarif").read_text())


_GO_DAMAGED = bytearray(go_elf_inline("go1.19", "path\tx\nmod\tx\t(devel)\t\n"))
_AT = _GO_DAMAGED.find(b"\xff Go buildinf:") + 32
_GO_DAMAGED[_AT:_AT + 10] = b"\xff" * 10  # a version length whose uvarint never ends

BINARY_CASES = [
    pytest.param(_app(static_elf()[:64]), {}, _unknown, id="elf-truncated-after-header"),
    pytest.param(_app(elf_with_interp(b"/lib/ld.so\0", phnum=0xFFFF)), {}, _unknown,
                 id="elf-phnum-huge"),
    pytest.param(_app(elf_with_interp(b"/lib/ld.so\0", offset=1 << 40)), {}, _unknown,
                 id="pt-interp-past-eof"),
    # load_elf_binary refuses an unterminated PT_INTERP (ENOEXEC), whatever it names
    pytest.param(_app(elf_with_interp(b"/lib64/ld-linux-x86-64.so.2")), {}, _unknown,
                 id="pt-interp-without-nul"),
    pytest.param(_app(elf_needed_past_strtab()), {}, _unknown, id="dt-needed-past-strtab"),
    pytest.param(_app(bytes(_GO_DAMAGED)), {}, _unknown, id="go-build-info-damaged"),
    pytest.param(_app(b""), {}, _fails_with("CCG212"), id="zero-byte-file"),
    pytest.param(_app(b"#!\n"), {}, _fails_with("CCG210"), id="shebang-without-interpreter"),
    pytest.param(_app(b"#!/" + b"x" * 10240 + b"\n"), {}, _fails_with("CCG210"),
                 id="shebang-10k"),
    # measured on the engine: 5 nested '#!' scripts start, 6 fail with ELOOP
    pytest.param(script_chain(5), {"Entrypoint": ["/s0"]}, _passes, id="script-chain-5"),
    pytest.param(script_chain(6), {"Entrypoint": ["/s0"]}, _fails_with("CCG212"),
                 id="script-chain-6"),
    pytest.param(script_chain(10), {"Entrypoint": ["/s0"]}, _fails_with("CCG212"),
                 id="script-chain-10"),
    pytest.param([("s0", "file", "#!/s0\n")], {"Entrypoint": ["/s0"]}, _fails_with("CCG212"),
                 id="script-runs-itself"),
    pytest.param(_app(static_elf(machine=183)), {}, _fails_with("CCG204"), id="elf-arm64"),
    pytest.param([("app", "dir", b"")], {}, _fails_with("CCG200"), id="directory-entrypoint"),
]


@pytest.mark.parametrize(("layer", "config", "check"), BINARY_CASES)
def test_broken_program_is_a_finding_or_an_unknown(
    sb: Sandbox, layer: list[Member], config: dict[str, Any],
    check: Callable[[dict[str, Any]], None],
) -> None:
    check(_inspect(sb, [layer], **config))


def _image_field(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def check(report: dict[str, Any]) -> None:
        assert report["image"][key] == value, report["image"]
    return check


CONFIG_CASES = [
    # Docker's strslice reads a JSON string as a one-element list
    pytest.param({"Entrypoint": "/app"}, _image_field("entrypoint", ["/app"]),
                 id="entrypoint-string"),
    pytest.param({"Entrypoint": None, "Cmd": None}, _fails_with("CCG209"), id="cmd-null"),
    pytest.param({"Entrypoint": [1, None], "Cmd": {"x": 1}}, _fails_with("CCG209"),
                 id="entrypoint-and-cmd-not-strings"),
    pytest.param({"Env": ["PATH", "FOO", "=x", "PATH=/bin"]}, _passes, id="env-without-equals"),
    pytest.param({"Env": [1, None, {"a": 1}]}, _passes, id="env-not-strings"),
    pytest.param({"Env": "PATH=/bin"}, _passes, id="env-not-a-list"),
    # runc sets Env in order: the last PATH is the one the runtime searches (measured)
    pytest.param({"Env": ["PATH=/nope", "PATH=/bin:/"], "Entrypoint": ["app"]}, _passes,
                 id="env-duplicate-path-last-wins"),
    pytest.param({"Env": ["PATH=/", "PATH=/nope"], "Entrypoint": ["app"]},
                 _fails_with("CCG200"), id="env-duplicate-path-first-ignored"),
    pytest.param({"User": "a:b:c"}, _image_field("user", "a:b:c"), id="user-a-b-c"),
    pytest.param({"User": 0}, _passes, id="user-not-a-string"),
    pytest.param({"Healthcheck": {"Test": ["WEIRD", "x"]}}, _passes, id="healthcheck-unknown"),
    pytest.param({"Healthcheck": {"Test": "x"}}, _passes, id="healthcheck-string"),
    pytest.param({"WorkingDir": "rel/dir", "Entrypoint": ["./app"]}, _fails_with("CCG200"),
                 id="workdir-relative"),
    pytest.param({"Entrypoint": ["/app/"]}, _fails_with("CCG200"), id="entrypoint-trailing-slash"),
    pytest.param({"Entrypoint": ["/../app"]}, _passes, id="entrypoint-dot-dot-at-root"),
    pytest.param({"Entrypoint": [""]}, _fails_with("CCG200"), id="entrypoint-empty-string"),
    pytest.param({"Entrypoint": ["/app\u0000x"]}, _fails_with("CCG200"), id="entrypoint-nul"),
]


@pytest.mark.parametrize(("config", "check"), CONFIG_CASES)
def test_odd_config_is_read_not_fatal(sb: Sandbox, config: dict[str, Any],
                                      check: Callable[[dict[str, Any]], None]) -> None:
    check(_inspect(sb, [_app()], **config))


@pytest.mark.parametrize(("field", "value"), [("architecture", None), ("os", "windows"),
                                              ("architecture", "")])
def test_odd_platform_in_the_config(sb: Sandbox, field: str, value: str | None) -> None:
    archive = Archive.of(_app())
    doc = json.loads(archive.config)
    if value is None:
        doc.pop(field)
    else:
        doc[field] = value
    archive.config = json.dumps(doc).encode()
    report = sb.inspect(_archive(sb, archive)).report()
    assert report["image"][field] == (value or None)
    foreign = [u for u in report["unknowns"] if u["what"].startswith("image os")]
    assert len(foreign) == (value == "windows"), report["unknowns"]


_PASSWD = ("etc/passwd", "file", b"app:x:1000:1000::/home/app:/bin/sh\n")

INVENTORY_CASES = [
    pytest.param([("etc/passwd", "file", bytes(range(256)) * 50)], {"User": "nobody"},
                 lambda r: r["provides"]["users"] == [], id="passwd-binary-garbage"),
    pytest.param([("etc/passwd", "file", b"root:" + b"x" * 10_000_000 + b"\n")],
                 {"User": "root"}, lambda r: r["provides"]["users"] == [],
                 id="passwd-10mb-line"),
    pytest.param([_PASSWD], {"User": "app:app"},
                 lambda r: r["provides"]["users"] == ["app"], id="group-missing"),
    pytest.param([("bin/sh", "symlink", "/bin/nothere")],
                 {"Healthcheck": {"Test": ["CMD-SHELL", "/app"]}},
                 lambda r: "CCG205" in _rules(r), id="bin-sh-dangling"),
    pytest.param([("tmp", "file", "x")], {}, lambda r: r["provides"]["temp_dir"] is False,
                 id="tmp-a-file"),
    pytest.param([("etc/certs/x", "file", "x")],
                 {"Env": ["PATH=/bin", "SSL_CERT_FILE=/etc/certs", "SSL_CERT_DIR=/nope:"]},
                 lambda r: "/etc/certs" not in r["provides"]["ca_certificates"],
                 id="ssl-cert-file-a-directory"),
    pytest.param([("usr/share/zoneinfo", "symlink", "/usr/share/zoneinfo")], {},
                 lambda r: r["provides"]["zoneinfo"] == [], id="zoneinfo-symlink-loop"),
]


@pytest.mark.parametrize(("members", "config", "check"), INVENTORY_CASES)
def test_broken_system_files_are_read_safely(
    sb: Sandbox, members: list[Member], config: dict[str, Any],
    check: Callable[[dict[str, Any]], bool],
) -> None:
    report = _inspect(sb, [_app() + members], **config)
    assert check(report), report["provides"]


# --- layer streams: damaged ones stop the run, odd but valid ones are read ---


def _oci_with_layer(sb: Sandbox, stored: bytes, tar: bytes, media_type: str) -> str:
    blobs = Blobs()
    config = json.dumps(config_doc([tar])).encode()
    manifest_type = "application/vnd.oci.image.manifest.v1+json"
    manifest = {"schemaVersion": 2, "mediaType": manifest_type,
                "config": blobs.add(config, "application/vnd.oci.image.config.v1+json"),
                "layers": [blobs.add(stored, media_type)]}
    top = blobs.add(json.dumps(manifest).encode(), manifest_type, **ref_name("t"))
    return _oci(sb, blobs, [top])


_TAR = make_tar(_app())
_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def test_header_claiming_a_terabyte_with_a_short_stream(sb: Sandbox) -> None:
    tar = big_header_tar(1 << 40, b"x" * 4096)
    reference = _archive(sb, Archive([tar], json.dumps(config_doc([tar])).encode()))
    sb.inspect(reference).unusable("layer")


def test_truncated_gzip_layer(sb: Sandbox) -> None:
    stored = gzip.compress(_TAR)
    short = stored[: len(stored) // 2]
    sb.inspect(_oci_with_layer(sb, short, _TAR, _GZIP)).unusable("gzip")


def test_zstd_layer_is_read(sb: Sandbox) -> None:
    import zstandard

    stored = zstandard.ZstdCompressor().compress(_TAR)
    media = "application/vnd.oci.image.layer.v1.tar+zstd"
    _passes(sb.inspect(_oci_with_layer(sb, stored, _TAR, media)).report())


def test_zero_byte_layer_blob(sb: Sandbox) -> None:
    """An empty blob is no tar at all; the run must say so or read it as empty."""
    good = make_tar(_app())
    reference = _archive(sb, Archive([good, b""], json.dumps(config_doc([good, b""])).encode()))
    out = sb.inspect(reference)
    if out.returncode == 2:
        out.unusable("layer")
    else:
        _passes(out.report())


def test_hundred_thousand_tiny_files(sb: Sandbox) -> None:
    # speed sanity only (no timing assertion): one layer of 100k empty files
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for i in range(100_000):
            info = tarfile.TarInfo(f"d{i % 100}/f{i}")
            tar.addfile(info)
        app = static_elf()
        info = tarfile.TarInfo("app")
        info.size, info.mode = len(app), 0o755
        tar.addfile(info, io.BytesIO(app))
    stored = gzip.compress(out.getvalue(), compresslevel=1)
    _passes(sb.inspect(_oci_with_layer(sb, stored, out.getvalue(), _GZIP)).report())


# --- references, options and the cache dir ---


def _layout_named(sb: Sandbox) -> Path:
    blobs = Blobs()
    top = blobs.manifest(Image([Layer({"app": static_elf()})]), **ref_name("present"))
    return blobs.write_layout(sb.inputs / "layout", [top])


REFERENCE_CASES = [
    pytest.param(lambda sb: ["docker-archive:"], "no path", id="docker-archive-empty-path"),
    pytest.param(lambda sb: ["registry:"], "no image name", id="registry-empty-name"),
    pytest.param(lambda sb: ["docker:"], "no image name", id="docker-empty-name"),
    pytest.param(lambda sb: [f"oci-dir:{_layout_named(sb)}:absent"], "no image named 'absent'",
                 id="oci-dir-missing-ref"),
    pytest.param(lambda sb: ["registry:127.0.0.1:1/x:y"], "connection refused",
                 id="registry-unreachable"),
    pytest.param(lambda sb: [_archive(sb, Archive.of(_app())), "--platform", "a/b/c/d"],
                 "invalid platform", id="platform-garbage"),
    pytest.param(lambda sb: [_archive(sb, Archive.of(_app())), "--platform", "windows/amd64"],
                 "not windows/amd64", id="platform-windows-on-linux-archive"),
    pytest.param(lambda sb: [_archive(sb, Archive.of(_app())), "--platform", "linux/arm64"],
                 "not linux/arm64", id="platform-arm64-on-amd64-archive"),
    pytest.param(lambda sb: [f"docker-archive:{sb.inputs}"], "not a regular file",
                 id="archive-is-a-directory"),
    pytest.param(lambda sb: [f"oci-archive:{_fifo(sb)}"], "not a regular file",
                 id="oci-archive-fifo"),
    pytest.param(lambda sb: [f"docker-archive:{_fifo(sb)}"], "not a regular file",
                 id="docker-archive-fifo"),
    pytest.param(lambda sb: ["oci-archive:/dev/zero"], "not a regular file",
                 id="oci-archive-device"),
]


def _fifo(sb: Sandbox) -> Path:
    """A named pipe nobody writes to: opening it for reading would block for ever."""
    path = sb.inputs / "pipe.tar"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(("args", "expected"), REFERENCE_CASES)
def test_bad_reference_or_option(sb: Sandbox, args: Callable[[Sandbox], list[str]],
                                 expected: str) -> None:
    built = args(sb)
    sb.inspect(built[0], *built[1:]).unusable(expected)


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_unusable_cache_dir(sb: Sandbox, where: str) -> None:
    blocker = sb.inputs / "blocker"
    blocker.write_text("a regular file")
    cache = blocker if where == "file" else blocker / "cache"
    reference = _archive(sb, Archive.of(_app()))
    out = sb.run("inspect", reference, "-o", "json", env={"GORC_CACHE_DIR": str(cache)})
    out.unusable("cache dir")


# --- the loader's world: broken interpreters, config loops, library cycles ---

_LD = "/lib64/ld-linux-x86-64.so.2"
_LOADER: list[Member] = [("lib64/ld-linux-x86-64.so.2", "file", dynamic_elf(None, [], 3))]


def _lib(name: str, *needed: str) -> Member:
    return (f"lib64/{name}", "file", dynamic_elf(None, list(needed), 3))


def _needs(*needed: str) -> Member:
    return ("app", "file", dynamic_elf(_LD, list(needed)))


LOADER_CASES = [
    pytest.param([_needs("liba.so"), _lib("liba.so")], _passes, id="resolves"),
    # measured on the engine: a 10-byte '#!' file as the loader gives EIO, a long one ELIBBAD
    pytest.param([_needs(), ("lib64/ld-linux-x86-64.so.2", "file", "#!/bin/sh\n")],
                 _fails_with("CCG201"), id="loader-is-a-short-script"),
    pytest.param([_needs(), ("lib64/ld-linux-x86-64.so.2", "file", "#" * 300)],
                 _fails_with("CCG201"), id="loader-is-not-elf"),
    pytest.param([_needs(), ("lib64/ld-linux-x86-64.so.2", "file", "")],
                 _fails_with("CCG201"), id="loader-zero-bytes"),
    pytest.param([_needs("liba.so"), _lib("liba.so"),
                  ("etc/ld.so.conf", "file", "include /etc/ld.so.conf\ninclude /etc/*.conf\n"
                   "include /etc/ld.so.conf.d/*\n"),
                  ("etc/ld.so.conf.d/a.conf", "file", "include /etc/ld.so.conf\n")],
                 _passes, id="ld-so-conf-includes-itself"),
    pytest.param([_needs("liba.so"), _lib("liba.so"),
                  ("etc/ld.so.cache", "file", b"glibc-ld.so.cache1.1" + b"\xff" * 5000)],
                 _passes, id="ld-so-cache-garbage"),
    pytest.param([_needs("liba.so"), _lib("liba.so", "libb.so"), _lib("libb.so", "liba.so")],
                 _passes, id="library-cycle"),
    pytest.param([_needs("liba.so"), ("lib64/liba.so", "symlink", "liba.so")],
                 _fails_with("CCG202"), id="library-symlink-loop"),
    pytest.param([_needs("liba.so"), ("lib64/liba.so/x", "file", "x")],
                 _fails_with("CCG202"), id="library-is-a-directory"),
    pytest.param([("app", "file", dynamic_elf(_LD, ["liba.so"], runpath="$ORIGIN/../../..:"
                                                    "$ORIGIN:${ORIGIN}/x:$LIB:$PLATFORM")),
                  ("liba.so", "file", dynamic_elf(None, [], 3))], _passes, id="runpath-origin"),
    pytest.param([_needs(*[f"lib{i}.so" for i in range(300)])], _fails_with("CCG202"),
                 id="300-missing-libraries"),
]


@pytest.mark.parametrize(("members", "check"), LOADER_CASES)
def test_loader_world_is_judged_without_hanging(
    sb: Sandbox, members: list[Member], check: Callable[[dict[str, Any]], None],
) -> None:
    check(_inspect(sb, [_LOADER + members]))


@pytest.mark.parametrize("answer", list(HOSTILE_ANSWERS.values()), ids=list(HOSTILE_ANSWERS))
def test_hostile_registry_answers(sb: Sandbox, answer: Answer) -> None:
    with hostile_registry(answer) as host:
        error = sb.inspect(f"registry:{host}/x:y").unusable()
    assert host in error or "registry" in error, error


@pytest.mark.parametrize("cut", [True, False], ids=["layer-cut-short", "layer-wrong-bytes"])
def test_registry_layer_stream_broken(sb: Sandbox, cut: bool) -> None:
    layer = gzip.compress(make_tar(_app()))
    blobs = Blobs()
    config = json.dumps(config_doc([make_tar(_app())])).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blobs.add(config, "application/vnd.oci.image.config.v1+json"),
        "layers": [blobs.add(layer, _GZIP)],
    }).encode()
    served = layer[: len(layer) // 2] if cut else bytes(len(layer))
    headers = {"Content-Length": str(len(layer))} if cut else {}
    routes = {
        "/v2/x/manifests/y": (200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
                              manifest, False),
        f"/v2/x/blobs/{digest(config)}": (200, {}, config, False),
        f"/v2/x/blobs/{digest(layer)}": (200, headers, served, cut),
    }
    with hostile_registry((404, {}, b"", False), routes) as host:
        sb.inspect(f"registry:{host}/x:y").unusable("layer")


@pytest.mark.parametrize("where", ["absent", "directory"])
def test_dockerfile_option_must_name_a_file(sb: Sandbox, where: str) -> None:
    path = sb.inputs / "absent" if where == "absent" else sb.inputs
    reference = _archive(sb, Archive.of(_app()))
    sb.inspect(reference, "--dockerfile", str(path)).unusable("--dockerfile")


def test_unusable_run_writes_no_report_file(sb: Sandbox) -> None:
    sarif = sb.out / "gorc.sarif"
    out = sb.run("inspect", f"docker-archive:{sb.inputs / 'absent.tar'}", "-o", "text",
                 "-o", f"sarif={sarif}")
    out.unusable("no such file")
    assert not sarif.exists()
    assert list(sb.out.iterdir()) == []


@pytest.mark.engine
@pytest.mark.parametrize(("dockerfile", "expected"), [
    (b"\xff\xfe garbage \x00\n", "dockerfile parse error"),
    (b"FROM scratch\nCOPY nothere /x\n", "COPY nothere /x"),
])
def test_build_with_a_broken_dockerfile(sb: Sandbox, engine: Any, dockerfile: bytes,
                                        expected: str) -> None:
    context = sb.inputs / "context"
    context.mkdir()
    (context / "Dockerfile").write_bytes(dockerfile)
    out = sb.run("inspect", "ignored", "--build", str(context), "-o", "json",
                 env={"DOCKER_HOST": engine.host})
    assert "http+docker" not in out.unusable(expected)


# --- where reports go: never a rename over a link, a pipe or a device ---


def test_report_through_a_symlink_keeps_the_link(sb: Sandbox) -> None:
    target = sb.out / "real.json"
    target.write_text("old")
    link = sb.out / "link.json"
    link.symlink_to(target.name)
    out = sb.run("inspect", _archive(sb, Archive.of(_app())), "-o", f"json={link}")
    assert out.returncode == 0, out.stderr
    assert link.is_symlink()
    assert json.loads(target.read_text())["summary"]["passed"] is True


def test_report_into_a_fifo_keeps_the_fifo(sb: Sandbox) -> None:
    fifo = sb.out / "report.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    out = sb.run("inspect", _archive(sb, Archive.of(_app())), "-o", f"sarif={fifo}")
    reader.join(timeout=60)
    assert out.returncode == 0, out.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert json.loads(received[0])["version"] == "2.1.0"


def test_stdout_full_or_closed_is_one_line_exit_2(sb: Sandbox) -> None:
    reference = _archive(sb, Archive.of(_app()))
    with open("/dev/full", "wb") as full:
        sb.run("inspect", reference, "-o", "json", stdout=full).unusable("no space left")
    sb.run("inspect", reference, "-o", "json", stdout=None).unusable("stdout")


def test_terminal_escapes_from_the_image_are_not_printed_raw(sb: Sandbox) -> None:
    archive = Archive.of(_app())
    (entry,) = json.loads(dict(archive.members())["manifest.json"])
    entry["Config"] = "\x1b]0;PWNED\x07\x1b[31mred\u202e"
    archive.manifest = [entry]
    error = sb.inspect(_archive(sb, archive)).unusable("missing")
    assert "\x1b" not in error and "\x07" not in error and "\u202e" not in error
    assert "\\x1b]0;PWNED" in error

    verbose = sb.run("-v", "inspect", f"oci-archive:{sb.inputs / 'x'}\x1b[2J", "-o", "json")
    assert "\x1b" not in verbose.unusable()


def test_warnings_quoting_a_layer_escape_its_control_characters(sb: Sandbox) -> None:
    sparse = raw_header(name=b"\x1b]0;PWNED\x07sparse", typeflag=b"S")
    layer = sparse + make_tar(_app())
    archive = Archive([layer], json.dumps(config_doc([layer])).encode())
    out = sb.inspect(_archive(sb, archive))
    assert "sparse" in out.stderr, out.stderr
    assert "\x1b" not in out.stderr and "\x07" not in out.stderr
    assert "\\x1b]0;PWNED" in out.stderr


def test_dir_root_links_and_fifos_never_reach_the_host(sb: Sandbox) -> None:
    root = sb.inputs / "root"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc" / "passwd").symlink_to("/etc/passwd")  # the host has a root user
    (root / "bin" / "sh").symlink_to("../../../../../../bin/sh")
    (root / "loop").symlink_to(".")
    (root / "hostroot").symlink_to("/")
    os.mkfifo(root / "etc" / "group")  # opening it for reading would block for ever
    os.mkfifo(root / "bin" / "fifo", 0o755)
    report = sb.inspect(f"dir:{root}").report()
    assert report["provides"]["users"] == []
    assert report["provides"]["shell"] is None
    assert report["provides"]["programs"] == []
