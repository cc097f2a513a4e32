"""The inventory against Go itself: a witness program run in real containers.

The witness (Go standard library only, static) asks the Go run time what the
inventory claims to know: where ``exec.LookPath`` finds each program, whether
``x509.SystemCertPool`` holds certificates, whether ``time.LoadLocation`` finds
zone data, whether ``user.Current`` works for the container's user and whether
``os.CreateTemp`` can write the temp dir. Each answer must match the inventory
of the same image, read back from the engine by gorc.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from gorc.image.inventory import Inventory, collect_inventory
from gorc.image.open import open_image
from tests.support import MissingToolError, cache_dir, hash_inputs, in_ci, locked
from tests.support.engine import DockerEngine
from tests.support.probes import ProbeBuilder
from tests.support.roots import RootBuilder, image_from_root

pytestmark = [pytest.mark.engine, pytest.mark.go, pytest.mark.slow]

WITNESS = """\
package main

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"time"
)

func main() {
	found := map[string]string{}
	for _, name := range os.Args[1:] {
		if path, err := exec.LookPath(name); err == nil {
			found[name] = path
		}
	}
	pool, err := x509.SystemCertPool()
	certs := err == nil && len(pool.Subjects()) > 0
	_, err = time.LoadLocation("Europe/Paris")
	zones := err == nil
	_, err = user.Current()
	current := err == nil
	temp := false
	if f, err := os.CreateTemp("", "witness"); err == nil {
		temp = true
		f.Close()
		os.Remove(f.Name())
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"lookpath": found, "certs": certs, "zoneinfo": zones, "user": current, "temp": temp,
	})
}
"""

EXTRA_NAMES = ("sh", "busybox", "curl", "ls", "gorc-absent")
PARIS = "usr/share/zoneinfo/Europe/Paris"


@pytest.fixture(scope="module")
def witness() -> Path:
    """The witness program, built static with the local Go (cached by its source)."""
    source = cache_dir() / "inventory-witness" / "witness"
    source.mkdir(parents=True, exist_ok=True)
    if not (source / "main.go").is_file() or (source / "main.go").read_text() != WITNESS:
        (source / "go.mod").write_text("module witness\n\ngo 1.19\n")
        (source / "main.go").write_text(WITNESS)
    try:
        return ProbeBuilder(probes_dir=source.parent).build("witness", "static")
    except MissingToolError as err:
        if in_ci():
            pytest.fail(str(err))
        pytest.skip(str(err))


def _custom_root(roots: RootBuilder, name: str, deflate: bool) -> Path:
    """A root with traps: /tmp 0755, an empty first CA bundle, zone data as a zip."""
    donor = roots.build("distroless-static")
    key = hash_inputs([name, str(deflate), (donor / PARIS).read_bytes()])
    root = cache_dir() / "inventory-roots" / f"{name}-{key}"
    with locked(f"inventory-root-{name}-{key}"):
        if root.is_dir():
            return root
        partial = root.with_name(root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        (partial / "etc/ssl/certs").mkdir(parents=True)
        (partial / "etc/passwd").write_text("root:x:0:0::/root:\napp:x:1000:1000::/home/app:\n")
        (partial / "etc/group").write_text("root:x:0:\napp:x:1000:\n")
        (partial / "etc/ssl/certs/ca-certificates.crt").write_bytes(b"")
        shutil.copy(donor / "etc/ssl/certs/ca-certificates.crt", partial / "etc/ssl/cert.pem")
        (partial / "tmp").mkdir(mode=0o755)
        (partial / "tmp").chmod(0o755)
        method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", method) as archive:
            archive.writestr("Europe/Paris", (donor / PARIS).read_bytes())
            archive.writestr("UTC", (donor / "usr/share/zoneinfo/UTC").read_bytes())
        (partial / "zoneinfo.zip").write_bytes(buffer.getvalue())
        partial.rename(root)
    return root


def _run(engine: DockerEngine, image: str, args: list[str], user: str | None) -> dict[str, Any]:
    client = engine.client()
    container = client.containers.create(image, command=args, user=user or "",
                                         network_disabled=True)
    try:
        container.start()
        status = container.wait(timeout=60)
        output = container.logs(stdout=True, stderr=True).decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status.get("StatusCode") == 0, output
    result: dict[str, Any] = json.loads(output)
    return result


CASES = [
    ("debian", None, {}),
    ("musl-busybox", None, {}),
    ("musl-busybox", "nonroot", {}),
    ("distroless-static", "nonroot", {}),
    ("distroless-static", "4242", {}),
    ("distroless-static", "4242", {"USER": "someone"}),
    ("glibc", None, {}),
    ("scratch", None, {}),
    ("custom-stored", "app", {"ZONEINFO": "/zoneinfo.zip"}),
    ("custom-deflated", "1000",
     {"ZONEINFO": "/zoneinfo.zip", "SSL_CERT_FILE": "/etc/ssl/cert.pem"}),
    ("distroless-static", None,
     {"SSL_CERT_FILE": "/nope.pem", "SSL_CERT_DIR": "/no:/etc/ssl/certs"}),
    ("distroless-static", None, {"SSL_CERT_FILE": "/nope.pem", "SSL_CERT_DIR": "/nowhere"}),
    ("distroless-static", "nonroot", {"TMPDIR": "/home/nonroot"}),
    ("distroless-static", "nobody", {"TMPDIR": "/etc"}),
    ("custom-stored", "app", {"TMPDIR": "/etc/ssl/certs/ca-certificates.crt"}),
]


@pytest.fixture(scope="module")
def layer_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One layer cache for every case, so shared layers are read once."""
    return tmp_path_factory.mktemp("layers")


@pytest.mark.parametrize(("kind", "user", "env"), CASES, ids=[
    f"{kind}-{user or 'root'}-{'+'.join(env) or 'plain'}" for kind, user, env in CASES
])
def test_inventory_matches_go(engine: DockerEngine, roots: RootBuilder, witness: Path,
                              layer_cache: Path, kind: str, user: str | None,
                              env: dict[str, str]) -> None:
    if kind.startswith("custom-"):
        root = _custom_root(roots, kind, deflate=kind.endswith("deflated"))
    else:
        root = roots.build(kind)
    tag = f"gorc-test/inventory-{kind}:{hash_inputs([json.dumps(env, sort_keys=True)])[:12]}"
    image_from_root(engine, root, tag, files={"/gorc-witness": witness},
                    entrypoint=["/gorc-witness"], env=env)
    # USER is given at run time (docker run --user), so the summary gets it the same way.
    with open_image(f"docker:{tag}", cache_dir=layer_cache) as image:
        inv = collect_inventory(image.fs, replace(image.summary, user=user))

    names = sorted({p.name for p in inv.programs} | set(EXTRA_NAMES))
    seen = _run(engine, tag, names, user)
    _assert_same(inv, seen)


def _assert_same(inv: Inventory, seen: dict[str, Any]) -> None:
    claimed = {p.name: p.path for p in inv.programs}
    assert {n: p for n, p in seen["lookpath"].items()} == claimed
    assert seen["certs"] == bool(inv.ca_files or inv.ca_dirs)
    assert seen["zoneinfo"] == bool(inv.zoneinfo)
    assert seen["user"] == inv.config_user.current_works
    assert seen["temp"] == inv.tmp.usable


@pytest.mark.parametrize("user", ["ghost", "nonroot:ghosts", "nonroot", "4242:4242"])
def test_runtime_refuses_what_the_inventory_says_it_refuses(
    engine: DockerEngine, roots: RootBuilder, witness: Path, layer_cache: Path, user: str
) -> None:
    tag = image_from_root(engine, roots.build("distroless-static"),
                          "gorc-test/inventory-distroless-static:users",
                          files={"/gorc-witness": witness}, entrypoint=["/gorc-witness"])
    with open_image(f"docker:{tag}", cache_dir=layer_cache) as image:
        inv = collect_inventory(image.fs, replace(image.summary, user=user))

    container = engine.client().containers.create(tag, user=user, network_disabled=True)
    try:
        container.start()
        started = container.wait(timeout=60).get("StatusCode") == 0
    except docker.errors.APIError as err:
        assert "unable to find" in str(err)
        started = False
    finally:
        container.remove(force=True)
    assert started == inv.config_user.runtime_starts
