"""Forwarding: which headers go upstream and come back, and the credential struck out of replies.

Request headers, in order:

1. hop-by-hop headers (RFC 9110 §7.6.1: ``Connection`` and the ones it names, ``Keep-Alive``,
   ``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``, ``Proxy-*``) are dropped;
2. what authenticates the agent to Interlock (``Authorization``, ``X-Interlock-Token``) is
   dropped: the client's Authorization never reaches an upstream, whatever it holds;
3. ``Cookie`` is dropped: the gateway shares its origin with the approvers' dashboard, and an
   approver's session cookie must not travel to a provider;
4. the header the broker credential goes in is dropped, then set to the credential;
5. ``Accept-Encoding: identity``: replies come uncompressed, so the credential can be looked
   for in them.

Replies are streamed back as the upstream sends them, with their status and headers (less
hop-by-hop ones). One change only: an upstream that echoes the request (a debug endpoint, an
error page quoting headers) would hand the agent the real credential, so every occurrence of
the credential's value in the reply's headers and body is replaced by as many ``*``. Lengths are
kept, so ``Content-Length`` stays true. Bytes are held back only while they could be the start of
the credential, so a stream (server-sent events) is not delayed.

httpcore logs every reply's headers at DEBUG: :data:`LOG_FILTER` strikes the credentials the
gateway has injected out of the records of httpx and httpcore, so a server run with debug
logging does not write a reflected credential to its log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping

import httpx

from interlock.secrets import MASK

__all__ = [
    "BINDING_EXCLUDED",
    "HOP_BY_HOP",
    "LOG_FILTER",
    "Scrubber",
    "bound_headers",
    "relay",
    "request_headers",
    "response_headers",
    "secret_forms",
]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_NEVER_FORWARDED = frozenset(
    {
        "host",
        "content-length",
        "authorization",
        "x-interlock-token",
        "cookie",
        "accept-encoding",
        "expect",
    }
)
BINDING_EXCLUDED = frozenset(
    {"date", "traceparent", "tracestate", "baggage", "x-request-id", "x-amzn-trace-id"}
)
"""Headers that differ on every send of the same request: not part of what is approved."""
MIN_SECRET = 8
"""Shorter values are not struck out of replies (they would match ordinary text)."""


def _hop_by_hop(headers: Iterable[tuple[str, str]]) -> set[str]:
    named = {
        part.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for part in value.split(",")
    }
    return set(HOP_BY_HOP) | named


def request_headers(raw: list[tuple[str, str]], credential_header: str | None) -> dict[str, str]:
    """The client's headers that may go upstream (steps 1 to 4, before the credential is set).

    Repeated headers are joined with ", " (RFC 9110 §5.3).
    """
    dropped = _hop_by_hop(raw) | _NEVER_FORWARDED
    if credential_header:
        dropped.add(credential_header.lower())
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.lower()
        if key in dropped:
            continue
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def response_headers(raw: list[tuple[bytes, bytes]], scrubber: Scrubber) -> list[tuple[str, str]]:
    """The upstream's reply headers less hop-by-hop ones, the credential struck out."""
    decoded = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]
    dropped = _hop_by_hop(decoded)
    return [
        (name, scrubber.strike(value.encode("latin-1")).decode("latin-1"))
        for name, value in decoded
        if name.lower() not in dropped
    ]


def secret_forms(header_value: str) -> list[bytes]:
    """What to strike out of replies for a credential ``Bearer <secret>``: the secret (the whole
    value when it has no scheme). Every form that contains it is struck with it."""
    secret = header_value.partition(" ")[2] or header_value
    return [secret.encode()] if len(secret) >= MIN_SECRET else []


class Scrubber:
    """Replaces every occurrence of the secrets in a byte stream, across chunk boundaries."""

    def __init__(self, secrets: list[bytes]) -> None:
        self.secrets = secrets
        self._held = b""

    def strike(self, data: bytes) -> bytes:
        for secret in self.secrets:
            if secret in data:
                data = data.replace(secret, b"*" * len(secret))
        return data

    def feed(self, chunk: bytes) -> bytes:
        """What of ``chunk`` (after what was held) can go out now."""
        if not self.secrets:
            return chunk
        data = self.strike(self._held + chunk)
        keep = self._partial(data)
        self._held = data[len(data) - keep :] if keep else b""
        return data[: len(data) - keep]

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def _partial(self, data: bytes) -> int:
        """Length of the longest end of ``data`` that begins one of the secrets."""
        longest = 0
        for secret in self.secrets:
            for size in range(min(len(secret) - 1, len(data)), longest, -1):
                if data.endswith(secret[:size]):
                    longest = size
                    break
        return longest


async def relay(response: httpx.Response, scrubber: Scrubber) -> AsyncIterator[bytes]:
    """The upstream's body as it arrives (not decoded: what the upstream sent), scrubbed."""
    async for chunk in response.aiter_raw():
        out = scrubber.feed(chunk)
        if out:
            yield out
    rest = scrubber.flush()
    if rest:
        yield rest


def bound_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The forwarded headers an approval is bound to (less the ones that change every send)."""
    return {k: v for k, v in headers.items() if k not in BINDING_EXCLUDED}


class _StrikeSecrets(logging.Filter):
    """Replaces the injected credentials in httpx's and httpcore's log records with ``****``.

    Filters run only for records a logger is enabled for: at the usual levels this costs
    nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            if any(secret in text for secret in self.secrets):
                for secret in self.secrets:
                    text = text.replace(secret, MASK)
                record.msg, record.args = text, None
        return True


LOG_FILTER = _StrikeSecrets()
for _name in (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
):
    logging.getLogger(_name).addFilter(LOG_FILTER)
