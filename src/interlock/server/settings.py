"""``interlock serve`` settings: ``[server]`` in interlock.toml, then flags and environment.

    [server]
    host = "127.0.0.1"
    port = 8470
    data_dir = ".interlock"                 # relative to the project root
    database_url = "postgresql://db/interlock"   # default: SQLite in data_dir
    public_url = "https://interlock.example.com" # links in notifications
    long_poll_max = 25                       # seconds a hook may wait on one call

    [[server.notify]]
    type = "slack"                           # slack | pagerduty | webhook
    url = "https://hooks.slack.com/services/…"
    # name = "ops-slack"   attempts = 6   secret = "…" (webhook: HMAC-SHA256 signature)

The server's own ``[approvals]`` (expiry, quorum) is a floor: a project's interlock.toml can
raise the quorum for its actions but never lower it below the server's.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interlock.config import Approvals, Policy, find_config, load_policy
from interlock.errors import ServerError
from interlock.secrets import Secret

if TYPE_CHECKING:
    from interlock.vault.settings import VaultSettings

DEFAULT_PORT = 8470
CHANNEL_TYPES = ("slack", "pagerduty", "webhook")


@dataclass(frozen=True)
class Channel:
    """One notification destination. The URL or routing key is a secret: never printed."""

    name: str
    type: str
    url: Secret
    routing_key: Secret | None = None
    secret: Secret | None = None
    """A generic webhook's HMAC-SHA256 signing key (docs/notifications.md)."""
    attempts: int = 6
    """How many times one notification is tried before it is marked failed."""


@dataclass(frozen=True)
class ServerSettings:
    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    public_url: str = ""
    long_poll_max: float = 25.0
    notify: tuple[Channel, ...] = ()
    policy: Policy = field(default_factory=lambda: load_policy(None))
    vault: VaultSettings = field(default_factory=lambda: _no_vault())
    """The config's ``[vault]`` (vault/settings.py), read once at start-up: what each source
    protects, for the dashboard and the card. A bad section stops start-up (VaultError)."""

    @property
    def approvals(self) -> Approvals:
        return self.policy.approvals

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def load(
    project: str | os.PathLike[str] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: str | None = None,
    database_url: str | None = None,
) -> ServerSettings:
    """Settings from the project's interlock.toml, overridden by flags, then the environment."""
    start = Path(project or os.getcwd())
    policy = load_policy(start)
    raw = _server_table(start)
    root = Path(policy.project_root)
    folder = (
        data_dir
        or os.environ.get("INTERLOCK_HOME")
        or raw.get("data_dir")
        or str(root / ".interlock")
    )
    folder_path = (root / folder).resolve() if not os.path.isabs(folder) else Path(folder)
    url = database_url or os.environ.get("INTERLOCK_DATABASE_URL") or raw.get("database_url")
    if url is not None and not isinstance(url, str):
        raise ServerError("server.database_url must be a string")
    from interlock.server.db import sqlite_url
    from interlock.vault import settings as vault_settings

    return ServerSettings(
        data_dir=folder_path,
        database_url=url or sqlite_url(folder_path),
        host=host or _str(raw, "host") or "127.0.0.1",
        port=port or _port(raw.get("port", DEFAULT_PORT)),
        public_url=(_str(raw, "public_url") or "").rstrip("/"),
        long_poll_max=_number(raw, "long_poll_max", 25.0, 1, 120),
        notify=_unique(tuple(_channel(c, i) for i, c in enumerate(_channels(raw)))),
        policy=policy,
        vault=vault_settings.load(find_config(start)),
    )


def _no_vault() -> VaultSettings:
    # Imported here: the vault package is heavy, and most readers of these settings never look.
    from interlock.vault.settings import VaultSettings

    return VaultSettings()


def _server_table(start: Path) -> dict[str, Any]:
    path = find_config(start)
    if path is None:
        return {}
    with path.open("rb") as handle:
        data = tomllib.load(handle)  # already validated as TOML by load_policy
    table = data.get("server", {})
    if not isinstance(table, dict):
        raise ServerError(f"{path}: [server] must be a table")
    known = {"host", "port", "data_dir", "database_url", "public_url", "long_poll_max", "notify"}
    unknown = set(table) - known
    if unknown:
        raise ServerError(f"{path}: server has unknown key(s) {', '.join(sorted(unknown))}")
    return table


def _str(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ServerError(f"server.{key} must be a string")
    return value


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ServerError("server.port must be a port number (0 to 65535)")
    return value


def _number(raw: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ServerError(f"server.{key} must be a number from {low:g} to {high:g}")
    return float(value)


def _channels(raw: dict[str, Any]) -> list[Any]:
    value = raw.get("notify", [])
    if not isinstance(value, list):
        raise ServerError("server.notify must be an array of tables ([[server.notify]])")
    return value


def _channel(raw: Any, index: int) -> Channel:
    where = f"server.notify[{index}]"
    if not isinstance(raw, dict):
        raise ServerError(f"{where} must be a table")
    kind = raw.get("type")
    if kind not in CHANNEL_TYPES:
        raise ServerError(f"{where}.type must be one of {', '.join(CHANNEL_TYPES)}")
    default_url = "https://events.pagerduty.com/v2/enqueue" if kind == "pagerduty" else None
    url = raw.get("url", default_url)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ServerError(f"{where}.url must be an http(s) URL")
    key = raw.get("routing_key")
    if kind == "pagerduty" and not (isinstance(key, str) and len(key) == 32):
        raise ServerError(f"{where}.routing_key must be the 32-character Events API v2 key")
    signing = raw.get("secret")
    if signing is not None and (kind != "webhook" or not isinstance(signing, str) or not signing):
        raise ServerError(f'{where}.secret is a non-empty string, for type = "webhook" only')
    attempts = raw.get("attempts", 6)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 20:
        raise ServerError(f"{where}.attempts must be a whole number from 1 to 20")
    unknown = set(raw) - {"type", "url", "routing_key", "name", "secret", "attempts"}
    if unknown:
        raise ServerError(f"{where} has unknown key(s) {', '.join(sorted(unknown))}")
    name = raw.get("name") or f"{kind}-{index}"
    if not isinstance(name, str) or len(name) > 100:
        raise ServerError(f"{where}.name must be a string of at most 100 characters")
    return Channel(
        name=name,
        type=str(kind),
        url=Secret(url),
        routing_key=Secret(key) if isinstance(key, str) else None,
        secret=Secret(signing) if isinstance(signing, str) else None,
        attempts=attempts,
    )


def _unique(channels: tuple[Channel, ...]) -> tuple[Channel, ...]:
    """Deliveries name their channel, so two channels cannot share a name."""
    names = [c.name for c in channels]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ServerError(f"server.notify: channel name(s) used twice: {', '.join(twice)}")
    return channels
