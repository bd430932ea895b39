"""A vault reached through ``interlock vault serve`` (``--vault http(s)://host:port``).

The token is a writer token (``ilvw_…``) from ``$INTERLOCK_VAULT_TOKEN``, never from the URL,
so it does not land in shell history, ``ps`` or messages; :attr:`RestBackend.location` is the
URL as given, which therefore holds no credential. Answers map onto the Backend protocol::

    201        stored               409  ObjectExists (the name is taken; never replaced)
    404        FileNotFoundError    507  VaultFullError
    401, 403   VaultError: the server refused the credential (the token is never quoted)

It is also :class:`~interlock.vault.backends.Lockable`: retention locks are read and
lengthened through ``/v1/locks/…`` (the server refuses a shorter one, 409 ObjectLocked), and
``remove`` always refuses: deletion is the admin's purge on the vault's host.

Reads are retried on transport errors. A ``put`` is retried too: a blob is named by its hash,
so a repeat of an upload whose answer was lost gets 409, which the repository settles by
reading the stored copy back and checking its hash (repository._put_once).
"""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from interlock.vault.backends import Kind, ObjectExists, ObjectLocked
from interlock.vault.errors import VaultError, VaultFullError

__all__ = ["CA_ENV", "TOKEN_ENV", "RestBackend", "from_url"]

TOKEN_ENV = "INTERLOCK_VAULT_TOKEN"
CA_ENV = "INTERLOCK_VAULT_CA_FILE"
_ATTEMPTS = 3
_TIMEOUT = httpx.Timeout(60.0, connect=5.0)


def from_url(url: str) -> RestBackend:
    """The backend for a ``vault serve`` URL, with the token from ``$INTERLOCK_VAULT_TOKEN``."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise VaultError(
            f"{TOKEN_ENV} is not set: a served vault needs a writer token",
            "ask the vault's owner for one (`interlock vault access writer-add NAME` on the "
            f"vault's host) and put it in {TOKEN_ENV}",
        )
    ca_file = os.environ.get(CA_ENV, "").strip()
    return RestBackend(url, token, ca_file=Path(ca_file).expanduser() if ca_file else None)


class RestBackend:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        ca_file: Path | None = None,
    ) -> None:
        """``ca_file``: the certificates to trust for https (a private CA or the server's own
        self-signed one), instead of the system's."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise VaultError(f"not a vault serve URL: {_redacted(url)}")
        if parts.username is not None or parts.password is not None:
            raise VaultError(
                "the vault URL holds a credential; refusing to use it",
                f"give the URL without it and the token in {TOKEN_ENV}",
            )
        if parts.query or parts.fragment:
            raise VaultError(f"a vault URL takes no query or fragment: {_redacted(url)}")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise VaultError(
                f"{url} would send the vault token unencrypted over the network",
                "put vault serve behind TLS and use https://, or reach it on 127.0.0.1",
            )
        self.url = url.rstrip("/")
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise VaultError(
                    f"cannot use {ca_file} ({CA_ENV}) as certificates to trust: {exc}",
                    "give a PEM file holding the certificate of the CA that signed the "
                    "vault server's (or the server's own self-signed certificate)",
                ) from None
        self._client = httpx.Client(
            base_url=self.url + "/v1/",
            headers={"authorization": f"Bearer {token}", "user-agent": "interlock-vault"},
            timeout=_TIMEOUT,
            transport=transport or httpx.HTTPTransport(retries=1, verify=verify),
            follow_redirects=False,
        )

    @property
    def location(self) -> str:
        return self.url

    def put(self, kind: Kind, name: str, data: bytes) -> None:
        response = self._send("POST", _path(kind, name), content=data)
        if response.status_code == 409:
            raise ObjectExists(name)
        self._check(response, f"storing {_what(kind, name)}")

    def get(self, kind: Kind, name: str) -> bytes:
        response = self._send("GET", _path(kind, name))
        if response.status_code == 404:
            raise FileNotFoundError(f"{_what(kind, name)} is not in the vault at {self.url}")
        self._check(response, f"reading {_what(kind, name)}")
        return response.content

    def exists(self, kind: Kind, name: str) -> bool:
        response = self._send("HEAD", _path(kind, name))
        if response.status_code == 404:
            return False
        self._check(response, f"looking for {_what(kind, name)}")
        return True

    def list(self, kind: Kind) -> list[str]:
        if kind == "config":
            return ["config"] if self.exists("config", "config") else []
        response = self._send("GET", f"{kind}/")
        self._check(response, f"listing {kind}")
        try:
            names = response.json()["names"]
            if not all(isinstance(n, str) for n in names):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise VaultError(f"the vault at {self.url} sent a malformed list of {kind}") from None
        return sorted(names)

    # -- locks (retention.py): the server keeps them; a lock only ever grows ----------------

    def locked_until(self, kind: Kind, name: str) -> datetime | None:
        response = self._send("GET", f"locks/{kind}/{name}")
        self._check(response, f"reading the lock of {_what(kind, name)}")
        try:
            until = response.json()["until"]
            return None if until is None else datetime.fromisoformat(until)
        except (ValueError, KeyError, TypeError):
            raise VaultError(f"the vault at {self.url} sent a malformed lock") from None

    def extend_lock(self, kind: Kind, name: str, until: datetime) -> None:
        if until.tzinfo is None:
            raise VaultError("a lock's end must carry a time zone (UTC)")
        response = self._send(
            "POST",
            f"locks/{kind}/{name}",
            content=json.dumps({"until": until.isoformat()}).encode(),
        )
        if response.status_code == 409:
            raise ObjectLocked(_message(response))
        self._check(response, f"locking {_what(kind, name)}")

    def remove(self, kind: Kind, name: str) -> None:
        """Never through this API: deletion is the admin's, after a cooling-off, on the host."""
        raise VaultError(
            f"the vault at {self.url} cannot remove anything through its API",
            "ask for a deletion with the admin key (`interlock vault delete request`); "
            "`interlock vault purge` carries it out on the vault's host after the cooling-off",
        )

    def close(self) -> None:
        self._client.close()

    def _send(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        for attempt in range(_ATTEMPTS):
            try:
                response = self._client.request(method, path, content=content)
                # 503: the server is at its limit of uploads in flight; worth another try.
                if response.status_code != 503 or attempt == _ATTEMPTS - 1:
                    return response
            except httpx.TransportError as exc:
                if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    raise VaultError(
                        f"the TLS certificate of the vault at {self.url} is not trusted",
                        f"set {CA_ENV} to a PEM file with the certificate that signed it",
                    ) from None
                if attempt == _ATTEMPTS - 1:
                    raise VaultError(
                        f"cannot reach the vault at {self.url}: {type(exc).__name__}",
                        "check that `interlock vault serve` runs there and the URL is right",
                    ) from None
            time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    def _check(self, response: httpx.Response, doing: str) -> None:
        status = response.status_code
        if status < 300:
            return
        message = _message(response)
        if status in (401, 403):
            raise VaultError(
                f"the vault at {self.url} refused the credential in {TOKEN_ENV} "
                f"({status}) while {doing}: {message}",
                f"check {TOKEN_ENV} holds an active writer token "
                "(`interlock vault access list` on the vault's host)",
            )
        if status == 507:
            raise VaultFullError(f"the vault at {self.url} is out of space ({message})")
        if status == 429:
            raise VaultError(
                f"the vault at {self.url} refuses this address after too many failed "
                f"authentications ({message})",
                "wait a minute, and check the token in " + TOKEN_ENV,
            )
        raise VaultError(f"the vault at {self.url} answered {status} while {doing}: {message}")


def _path(kind: Kind, name: str) -> str:
    return "config" if kind == "config" else f"{kind}/{name}"


def _what(kind: Kind, name: str) -> str:
    return "the config" if kind == "config" else f"{kind[:-1]} {name[:12]}"


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return response.reason_phrase or "no details"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redacted(url: str) -> str:
    """The URL without any user-info part, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url[:200]
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()[:200]
