"""Registry credentials from the Docker CLI's config, and auth challenges.

Credentials come from ``$DOCKER_CONFIG/config.json`` (default ``~/.docker``) as
the Docker CLI writes it: ``credHelpers`` (per registry), ``credsStore`` (for
all), then ``auths`` (base64 ``auth`` or ``username``/``password``). Docker
Hub's key is ``https://index.docker.io/v1/``. A credential helper is the
program ``docker-credential-<name>``: ``get`` reads the server on stdin and
prints ``{"Username", "Secret"}`` (docker-credential-helpers protocol).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gorc.image.reference import DOCKER_HUB

log = logging.getLogger(__name__)

HUB_AUTH_KEY = "https://index.docker.io/v1/"
_HELPER_TIMEOUT = 30
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and secret; ``username == "<token>"`` marks an identity token."""

    username: str
    password: str

    @property
    def is_identity_token(self) -> bool:
        """True for an OAuth2 refresh token (``docker login`` to some registries)."""
        return self.username == "<token>"


@dataclass(frozen=True, slots=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header: the scheme and its parameters."""

    scheme: str
    params: Mapping[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """The first challenge of a ``WWW-Authenticate`` header (RFC 7235), or None."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in _CHALLENGE_PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


def config_path() -> Path:
    """Where the Docker CLI keeps its config (honours DOCKER_CONFIG)."""
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return Path(base) / "config.json"


def load_config(path: Path | None = None) -> Mapping[str, Any]:
    """The Docker CLI config, or {} when it is absent or unreadable (with a warning)."""
    path = path or config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as err:
        log.warning("ignoring the Docker config %s: %s", path, err)
        return {}
    return data if isinstance(data, dict) else {}


def find_credentials(registry: str, config: Mapping[str, Any] | None = None) \
        -> Credentials | None:
    """Credentials for ``registry`` (a host, ``docker.io`` for Docker Hub), or None."""
    config = load_config() if config is None else config
    server = HUB_AUTH_KEY if registry == DOCKER_HUB else registry
    helpers = config.get("credHelpers")
    if isinstance(helpers, Mapping):
        # keyed like the CLI's config lookups: Docker Hub under its v1 server address
        helper = helpers.get(server) or helpers.get(registry)
        if isinstance(helper, str):
            return run_helper(helper, server)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = run_helper(store, server)
        if found is not None:
            return found
    return _from_auths(config.get("auths"), registry)


def _from_auths(auths: object, registry: str) -> Credentials | None:
    if not isinstance(auths, Mapping):
        return None
    for key, entry in auths.items():
        if _server_host(str(key)) == registry and isinstance(entry, Mapping):
            return _decode_entry(entry, str(key))
    return None


def _server_host(key: str) -> str:
    """The host a config key names: ``https://host/v1/`` and ``host`` alike."""
    host = re.sub(r"^[a-z]+://", "", key).split("/", 1)[0]
    return DOCKER_HUB if host in ("index.docker.io", "registry-1.docker.io") else host


def _decode_entry(entry: Mapping[str, Any], key: str) -> Credentials | None:
    if isinstance(entry.get("identitytoken"), str) and entry["identitytoken"]:
        return Credentials("<token>", entry["identitytoken"])
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            user, sep, secret = base64.b64decode(entry["auth"]).decode().partition(":")
        # all ValueErrors: binascii.Error (bad base64), UnicodeDecodeError (not UTF-8),
        # and the plain ValueError b64decode raises for a non-ASCII string
        except ValueError:
            log.warning("ignoring the Docker config auth for %s: not base64 user:password", key)
            return None
        return Credentials(user, secret) if sep else None
    name, password = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(password, str) and name:
        return Credentials(name, password)
    return None


def run_helper(name: str, server: str) -> Credentials | None:
    """Ask ``docker-credential-<name>`` for the credentials of ``server``; None if it has none.

    A helper that cannot run or answers with garbage is logged and treated as
    having nothing, so an anonymous pull can still work.
    """
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run(
            [program, "get"], input=server.encode(), capture_output=True,
            timeout=_HELPER_TIMEOUT, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning("cannot run the credential helper %s: %s", program, err)
        return None
    if done.returncode != 0:
        log.debug("%s has no credentials for %s: %s", program, server,
                  done.stdout.decode(errors="replace").strip())
        return None
    try:
        answer = json.loads(done.stdout)
        return Credentials(str(answer["Username"]), str(answer["Secret"]))
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        log.warning("ignoring the answer of %s: %s", program, err)
        return None
