"""``[gateway]`` in the server's interlock.toml: the upstreams agents reach through Interlock.

    [gateway]
    velocity = {attempts = 3, window = 60}   # denied or destructive attempts per session
    timeout = 30                             # seconds an upstream may take to answer
    resolver_ttl = 300                       # seconds a resolved environment is trusted

    [gateway.upstreams.railway]
    url = "https://backboard.railway.app"    # requests to /gateway/railway/… go here
    provider = "railway"                     # railway | aws | github | generic
    credential = "railway-staging"           # the broker credential injected (optional)

``provider`` picks the catalog that reads a request (docs/providers.md), whatever host ``url``
names: a Railway upstream reached through a proxy or a local mirror is still read as Railway.
Without ``credential`` the one credential stored for the upstream is used
(:meth:`interlock.broker.credentials.Credentials.for_upstream`); with none, nothing is injected.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from interlock.broker.credentials import NAME
from interlock.errors import ServerError

__all__ = ["PROVIDERS", "GatewaySettings", "Upstream", "Velocity", "load", "parse"]

PROVIDERS = ("railway", "aws", "github", "generic")

CANONICAL_HOSTS = {"railway": "backboard.railway.app", "github": "api.github.com"}
"""The host a provider's catalog knows, for upstreams configured under another name."""


@dataclass(frozen=True)
class Upstream:
    name: str
    url: str
    """Scheme, host, port and an optional base path; no trailing slash."""
    provider: str = "generic"
    credential: str | None = None

    @functools.cached_property
    def analysis_base(self) -> str:
        """The URL the analyzers read a request against: the provider's own API host when the
        configured one is not it (a proxy, a mirror, the local fake in tests)."""
        canonical = CANONICAL_HOSTS.get(self.provider)
        if canonical is None:
            return self.url
        from interlock.analyzers.http import provider_of

        parts = urlsplit(self.url)
        if provider_of(parts.hostname or "", parts.port, parts.path or "/") is not None:
            return self.url
        return f"https://{canonical}{parts.path}"


@dataclass(frozen=True)
class Velocity:
    """At most ``attempts`` denied or destructive attempts per session within ``window`` s."""

    attempts: int = 3
    window: float = 60.0


@dataclass(frozen=True)
class GatewaySettings:
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    velocity: Velocity = field(default_factory=Velocity)
    timeout: float = 30.0
    resolver_ttl: float = 300.0


def load(config: str | None) -> GatewaySettings:
    """``[gateway]`` from the interlock.toml at ``config`` (the server's policy source)."""
    if config is None:
        return GatewaySettings()
    path = Path(config)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ServerError(f"cannot read [gateway] from {path}: {exc}") from None
    return parse(data.get("gateway", {}), str(path))


def parse(raw: Any, where: str = "interlock.toml") -> GatewaySettings:
    if not isinstance(raw, dict):
        raise ServerError(f"{where}: [gateway] must be a table")
    unknown = set(raw) - {"upstreams", "velocity", "timeout", "resolver_ttl"}
    if unknown:
        raise ServerError(f"{where}: gateway has unknown key(s) {', '.join(sorted(unknown))}")
    tables = raw.get("upstreams", {})
    if not isinstance(tables, dict):
        raise ServerError(f"{where}: gateway.upstreams must be tables ([gateway.upstreams.NAME])")
    return GatewaySettings(
        upstreams={name: _upstream(name, table, where) for name, table in tables.items()},
        velocity=_velocity(raw.get("velocity", {}), where),
        timeout=_number(raw, "timeout", 30.0, 1, 600, where),
        resolver_ttl=_number(raw, "resolver_ttl", 300.0, 1, 86400, where),
    )


def _upstream(name: str, raw: Any, where: str) -> Upstream:
    at = f"{where}: gateway.upstreams.{name}"
    if not NAME.match(name):
        raise ServerError(f"{at}: a name is 1-63 lower-case letters, digits, '.', '_' or '-'")
    if not isinstance(raw, dict):
        raise ServerError(f"{at} must be a table")
    unknown = set(raw) - {"url", "provider", "credential"}
    if unknown:
        raise ServerError(f"{at} has unknown key(s) {', '.join(sorted(unknown))}")
    url = raw.get("url")
    if not isinstance(url, str):
        raise ServerError(f"{at}.url must be an http(s) URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerError(f"{at}.url must be an http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        # A credential in the URL would bypass the broker; a query would be sent with every call.
        raise ServerError(f"{at}.url takes no user, password, query or fragment")
    provider = raw.get("provider", "generic")
    if provider not in PROVIDERS:
        raise ServerError(f"{at}.provider must be one of {', '.join(PROVIDERS)}")
    credential = raw.get("credential")
    if credential is not None and not (isinstance(credential, str) and NAME.match(credential)):
        raise ServerError(f"{at}.credential must name a broker credential")
    return Upstream(name=name, url=url.rstrip("/"), provider=provider, credential=credential)


def _velocity(raw: Any, where: str) -> Velocity:
    if not isinstance(raw, dict) or set(raw) - {"attempts", "window"}:
        raise ServerError(f"{where}: gateway.velocity is {{attempts = N, window = SECONDS}}")
    attempts = raw.get("attempts", 3)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 1000:
        raise ServerError(f"{where}: gateway.velocity.attempts must be a whole number 1 to 1000")
    window = _number(raw, "window", 60.0, 1, 86400, where, "gateway.velocity")
    return Velocity(attempts=attempts, window=window)


def _number(
    raw: dict[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    where: str,
    section: str = "gateway",
) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ServerError(f"{where}: {section}.{key} must be a number from {low:g} to {high:g}")
    return float(value)
