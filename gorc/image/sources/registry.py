"""Images straight from a registry, with no daemon (``registry:NAME``).

Speaks the distribution API v2 (OCI distribution spec): ``GET
/v2/<name>/manifests/<ref>`` with an Accept header for the OCI and Docker
index and manifest types, then ``GET /v2/<name>/blobs/<digest>`` streamed.
Auth follows the ``WWW-Authenticate`` challenge of a 401: Bearer (a token from
the realm, with basic credentials if the Docker config has some) or Basic.

HTTP goes through ``requests``: pooled keep-alive connections, redirects to
blob storage that drop the Authorization header when the host changes (a
registry must not leak its token to a CDN), proxies from the environment,
and certificate checks against the system's CA bundle.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

import requests
import urllib3.exceptions

from gorc.errors import ImageSourceError
from gorc.image.decompress import short
from gorc.image.platform import Platform
from gorc.image.reference import DOCKER_HUB, ImageName
from gorc.image.sources.auth import Credentials, find_credentials, parse_challenge
from gorc.image.sources.base import ImageSource, OpenedImage
from gorc.image.sources.manifest import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    INDEX_TYPES,
    MAX_MANIFEST_SIZE,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ManifestWalker,
)
from gorc.image.sources.stream import ResponseStream

log = logging.getLogger(__name__)

HUB_API_HOST = "registry-1.docker.io"
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
TIMEOUT = (30, 120)  # connect, read (seconds)


def is_insecure(host: str, insecure_registries: Sequence[str]) -> bool:
    """True for loopback hosts and hosts listed with --insecure-registry (plain http).

    Entries may be written with a scheme (``http://reg:5000``), as in daemon.json.
    """
    listed = {re.sub(r"^[a-z]+://", "", entry).rstrip("/") for entry in insecure_registries}
    if host in listed:
        return True
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class RegistryClient:
    """A session with one repository of one registry, authenticating on demand."""

    def __init__(self, name: ImageName, insecure_registries: Sequence[str] = ()) -> None:
        self.name = name
        host = HUB_API_HOST if name.registry == DOCKER_HUB else name.registry
        scheme = "http" if is_insecure(name.registry, insecure_registries) else "https"
        self.base = f"{scheme}://{host}/v2/{name.repository}"
        self.session = requests.Session()
        self._credentials: Credentials | None = None
        self._looked_up = False

    def get(self, path: str, accept: str | None = None) -> requests.Response:
        """GET ``path`` under the repository (streamed), answering one auth challenge."""
        headers = {"Accept": accept} if accept else {}
        response = self._send(path, headers)
        if response.status_code == 401:
            response.close()
            self._authenticate(response.headers.get("WWW-Authenticate", ""))
            response = self._send(path, headers)
        if response.status_code != 200:
            self._fail(path, response)
        return response

    def close(self) -> None:
        """Drop pooled connections."""
        self.session.close()

    def _send(self, path: str, headers: dict[str, str]) -> requests.Response:
        url = f"{self.base}/{path}"
        try:
            return self.session.get(url, headers=headers, stream=True, timeout=TIMEOUT)
        except requests.RequestException as err:
            raise ImageSourceError(
                f"cannot reach the registry {self.name.registry}: {_reason(err)}"
            ) from err

    def _fail(self, path: str, response: requests.Response) -> None:
        status = response.status_code
        response.close()
        what = f"{self.name}" if path.startswith("manifests/") else f"blob {short(path[6:])}"
        if status == 401:
            raise ImageSourceError(
                f"cannot read {what}: the registry refused the credentials "
                f"(log in with docker login {self.name.registry})"
            )
        if status == 404:
            raise ImageSourceError(f"cannot read {what}: not found in the registry")
        raise ImageSourceError(f"cannot read {what}: the registry answered HTTP {status}")

    def credentials(self) -> Credentials | None:
        """The Docker config's credentials for this registry (looked up once)."""
        if not self._looked_up:
            self._credentials = find_credentials(self.name.registry)
            self._looked_up = True
        return self._credentials

    def _authenticate(self, header: str) -> None:
        challenge = parse_challenge(header)
        creds = self.credentials()
        if challenge is not None and challenge.scheme == "basic":
            if creds is None:
                raise ImageSourceError(
                    f"cannot read {self.name}: the registry needs credentials; "
                    f"log in with docker login {self.name.registry}"
                )
            self.session.auth = (creds.username, creds.password)
        elif challenge is not None and challenge.scheme == "bearer":
            token = self._token(challenge.params, creds)
            self.session.headers["Authorization"] = f"Bearer {token}"
        else:
            raise ImageSourceError(
                f"cannot read {self.name}: unsupported auth challenge {header!r}"
            )

    def _token(self, params: dict[str, str] | Any, creds: Credentials | None) -> str:
        realm = params.get("realm")
        if not realm:
            raise ImageSourceError(f"cannot read {self.name}: the auth challenge has no realm")
        query = {"service": params.get("service", ""),
                 "scope": params.get("scope") or f"repository:{self.name.repository}:pull"}
        try:
            if creds is not None and creds.is_identity_token:
                form = query | {"grant_type": "refresh_token", "refresh_token": creds.password,
                                "client_id": "gorc"}
                answer = requests.post(realm, data=form, timeout=TIMEOUT, stream=True)
            else:
                auth = (creds.username, creds.password) if creds else None
                answer = requests.get(realm, params=query, auth=auth, timeout=TIMEOUT,
                                      stream=True)
        except requests.RequestException as err:
            raise ImageSourceError(f"cannot get a registry token from {realm}: "
                                   f"{_reason(err)}") from err
        return _token_from(answer, realm)


def _token_from(answer: requests.Response, realm: str) -> str:
    if answer.status_code != 200:
        answer.close()
        raise ImageSourceError(
            f"cannot get a registry token from {realm}: HTTP {answer.status_code} "
            "(check the credentials in the Docker config)"
        )
    # streamed and bounded: the realm is the registry's choice, its answer could be endless
    data = _bounded_body(answer, f"a registry token from {realm}", "the token answer")
    try:
        body = json.loads(data)
        token = body.get("token") or body.get("access_token")
    except (ValueError, AttributeError, RecursionError):
        token = None
    if not isinstance(token, str) or not token:
        raise ImageSourceError(f"cannot get a registry token from {realm}: no token in answer")
    return token


def _reason(err: BaseException) -> str:
    """Why a request failed, in the words of its root cause ("connection refused").

    requests wraps urllib3's MaxRetryError, which wraps a NewConnectionError,
    which wraps the socket's OSError: only that last one says what happened.
    """
    if isinstance(err, requests.Timeout):
        return f"timed out (connect {TIMEOUT[0]} s, read {TIMEOUT[1]} s)"
    causes = _causes(err)
    for cause in causes:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
    text = str(err)
    for cause in causes:
        if len(cause.args) == 2 and isinstance(cause.args[0], str):
            # urllib3's (message, cause) pairs print as a tuple repr
            message, detail = cause.args[0].rstrip("."), str(cause.args[1])
            text = message if detail in message else f"{message}: {detail}"
            break
    return text if len(text) < 200 else text[:200] + "..."


def _causes(err: BaseException) -> list[BaseException]:
    """``err`` and what it wraps (cause, context, urllib3's reason, a wrapped argument)."""
    found: list[BaseException] = []
    cause: object = err
    while isinstance(cause, BaseException) and cause not in found and len(found) < 10:
        found.append(cause)
        inner = cause.args[0] if cause.args else None
        cause = (cause.__cause__ or cause.__context__ or getattr(cause, "reason", None)
                 or (inner if isinstance(inner, BaseException) else None))
    return found


class RegistrySource(ImageSource):
    """One image of a registry, read through the distribution API."""

    def __init__(
        self, name: ImageName, *, platform: Platform | None = None,
        insecure_registries: Sequence[str] = (),
    ) -> None:
        self.name, self.platform = name, platform
        self.client = RegistryClient(name, insecure_registries)
        self._fetched: dict[str, bytes] = {}

    def open(self) -> OpenedImage:
        """See :meth:`ImageSource.open`."""
        top = self._top_manifest()
        walker = ManifestWalker(self._fetch, self._opener, str(self.name), self.platform)
        descriptor, manifest = walker.resolve(top)
        return walker.image(str(self.name), descriptor, manifest)

    def close(self) -> None:
        """See :meth:`ImageSource.close`."""
        self.client.close()

    def _top_manifest(self) -> Descriptor:
        """The manifest or index the tag (or digest) names, kept for the walker."""
        response = self.client.get(f"manifests/{self.name.reference}", MANIFEST_ACCEPT)
        data = _bounded_body(response, str(self.name))
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if self.name.digest and self.name.digest != digest:
            raise ImageSourceError(
                f"cannot read {self.name}: the registry sent a manifest with digest {digest}"
            )
        self._fetched[digest] = data
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Descriptor(media_type, digest, len(data))

    def _fetch(self, descriptor: Descriptor) -> bytes:
        if descriptor.digest in self._fetched:
            return self._fetched[descriptor.digest]
        # An index nested in an index is served by the manifests endpoint too; the
        # OCI index type has no "manifest" in its name (distribution spec, "Pulling").
        media_type = descriptor.media_type
        kind = "manifests" if "manifest" in media_type or media_type in INDEX_TYPES else "blobs"
        response = self.client.get(f"{kind}/{descriptor.digest}", MANIFEST_ACCEPT)
        return _bounded_body(response, str(self.name))

    def _opener(self, descriptor: Descriptor) -> Callable[[], BinaryIO]:
        def open_blob() -> BinaryIO:
            response = self.client.get(f"blobs/{descriptor.digest}")
            return io.BufferedReader(ResponseStream(response, descriptor.digest))
        return open_blob


def _bounded_body(
    response: requests.Response, where: str, what: str = "a manifest or config"
) -> bytes:
    """The body of a manifest, config or token answer, refused past the size bound."""
    limit = MAX_MANIFEST_SIZE * 2
    try:
        data = response.raw.read(limit + 1, decode_content=True) if response.raw else b""
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as err:
        # a body cut short or a Content-Encoding that does not decode
        raise ImageSourceError(f"cannot read {where}: bad answer from the registry "
                               f"({_reason(err)})") from err
    finally:
        response.close()
    if len(data) > limit:
        raise ImageSourceError(f"cannot read {where}: {what} is over {limit} bytes")
    return bytes(data)
