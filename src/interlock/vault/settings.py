"""The ``[vault]`` section of interlock.toml: where the vault is and what it protects.

One parser for every reader of the section: ``interlock vault schedule`` (backups and drills
per source), ``interlock vault snapshotter`` (pre-destroy snapshots), the approval server
(freshness on the dashboard and the card, asking for pre-destroy snapshots) and
``interlock vault drill``::

    [vault]
    location = "/var/lib/interlock-vault"   # a folder, http(s)://… (vault serve), s3://bucket/prefix
    snapshotter = "http://127.0.0.1:8476"   # where the server asks for pre-destroy snapshots
    drill_postgres = "postgresql://127.0.0.1/postgres"   # server for scratch drill databases

    [vault.sources.app]
    postgres = "postgresql://127.0.0.1/app" # exactly one of postgres, sqlite, folder
    rpo = "1h"                              # target: the newest good backup is never older
    keep_within = "30d"                     # every backup younger than this is kept, locked
    drill_every = "24h"                     # how often `vault schedule` drills this source
    protects = ["railway:volume:vol-123", "postgres:app"]   # targets whose loss it guards
    assertions = ["SELECT count(*) > 0 FROM users"]         # the drill's own checks

Durations are a number and a unit: ``s``, ``m``, ``h``, ``d`` or ``w`` (``"90m"``, ``"30d"``).
Values are checked here; a wrong one is a :class:`VaultError` naming the file and the key, so a
typo never silently leaves a source unprotected.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from interlock.vault.errors import VaultError

__all__ = ["DEFAULTS", "SourceSettings", "VaultSettings", "duration", "load", "parse", "span"]

SourceKind = Literal["postgres", "sqlite", "folder"]
_KINDS: tuple[SourceKind, ...] = ("postgres", "sqlite", "folder")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")

# rpo 24 h, keep 30 days, drill daily: what a platform team would write on a first day.
DEFAULTS = {"rpo": "24h", "keep_within": "30d", "drill_every": "24h"}
_SOURCE_KEYS = {*_KINDS, *DEFAULTS, "protects", "assertions"}
_VAULT_KEYS = {"location", "snapshotter", "drill_postgres", "sources", "drills"}


@dataclass(frozen=True)
class SourceSettings:
    name: str
    kind: SourceKind
    target: str  # a PostgreSQL URL, or a path (resolved against the config file's folder)
    rpo_seconds: float
    keep_within_seconds: float
    drill_every_seconds: float
    protects: tuple[str, ...] = ()
    assertions: tuple[str, ...] = ()


@dataclass(frozen=True)
class VaultSettings:
    location: str | None = None
    snapshotter: str | None = None
    drill_postgres: str | None = None
    sources: dict[str, SourceSettings] = field(default_factory=dict)
    source_file: str = ""

    def protecting(self, target: str) -> list[SourceSettings]:
        """The sources whose ``protects`` names ``target`` (compared case-insensitively)."""
        wanted = target.strip().lower()
        return [s for s in self.sources.values() if wanted in (p.lower() for p in s.protects)]


def duration(value: Any, where: str) -> float:
    """Seconds in ``"90s"``, ``"15m"``, ``"1h"``, ``"30d"``, ``"2w"``; a bare number is seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise VaultError(f'{where} must be a positive duration such as "90m", "24h" or "30d"')
    return float(match.group(1)) * _UNITS[match.group(2)]


def span(seconds: float | None) -> str:
    """A duration for people, the other way round from :func:`duration`: "45 s", "12 min",
    "3.5 h", "2.1 d" ("unknown" for None)."""
    if seconds is None:
        return "unknown"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def load(config: Path | None) -> VaultSettings:
    """The ``[vault]`` section of ``config`` (none: empty settings), then the environment:
    ``INTERLOCK_VAULT`` overrides ``location``."""
    data: dict[str, Any] = {}
    if config is not None:
        import tomllib

        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise VaultError(f"cannot read {config}: {exc}") from None
    settings = parse(
        data.get("vault", {}), str(config or ""), base=config.parent if config else None
    )
    override = os.environ.get("INTERLOCK_VAULT")
    if override:
        return VaultSettings(
            override,
            settings.snapshotter,
            settings.drill_postgres,
            settings.sources,
            settings.source_file,
        )
    return settings


def parse(raw: Any, where: str = "", *, base: Path | None = None) -> VaultSettings:
    if not isinstance(raw, dict):
        raise VaultError(f"{where}: [vault] must be a table")
    unknown = set(raw) - _VAULT_KEYS
    if unknown:
        raise VaultError(f"{where}: [vault] has unknown key(s) {', '.join(sorted(unknown))}")
    location = _optional_text(raw, "location", where)
    if location and "://" not in location and base is not None:
        location = str((base / location).resolve())
    sources_raw = raw.get("sources", {})
    if not isinstance(sources_raw, dict):
        raise VaultError(f"{where}: vault.sources must be a table of sources")
    drills = raw.get("drills", {})
    if not isinstance(drills, dict):
        raise VaultError(f"{where}: vault.drills must be a table")
    sources = {
        name: _source(name, table, drills.get(name, {}), where, base)
        for name, table in sources_raw.items()
    }
    return VaultSettings(
        location=location,
        snapshotter=_optional_text(raw, "snapshotter", where),
        drill_postgres=_optional_text(raw, "drill_postgres", where),
        sources=sources,
        source_file=where,
    )


def _source(name: str, raw: Any, drill: Any, where: str, base: Path | None) -> SourceSettings:
    at = f"{where}: vault.sources.{name}"
    if not _NAME.match(name):
        raise VaultError(f"{at}: a source name is letters, digits, '_', '.', '-' (at most 200)")
    if not isinstance(raw, dict):
        raise VaultError(f"{at} must be a table")
    unknown = set(raw) - _SOURCE_KEYS
    if unknown:
        raise VaultError(f"{at} has unknown key(s) {', '.join(sorted(unknown))}")
    kinds = [k for k in _KINDS if k in raw]
    if len(kinds) != 1:
        raise VaultError(f"{at} needs exactly one of postgres, sqlite and folder")
    kind = kinds[0]
    target = raw[kind]
    if not isinstance(target, str) or not target.strip():
        raise VaultError(f"{at}.{kind} must be a non-empty string")
    if kind != "postgres" and base is not None:
        target = str((base / Path(target).expanduser()).resolve())
    assertions = list(_strings(raw, "assertions", at))
    # [vault.drills.<source>] assertions (the older place) still count.
    if isinstance(drill, dict):
        assertions += _strings(drill, "assertions", f"{where}: vault.drills.{name}")
    return SourceSettings(
        name=name,
        kind=kind,
        target=target,
        rpo_seconds=duration(raw.get("rpo", DEFAULTS["rpo"]), f"{at}.rpo"),
        keep_within_seconds=duration(
            raw.get("keep_within", DEFAULTS["keep_within"]), f"{at}.keep_within"
        ),
        drill_every_seconds=duration(
            raw.get("drill_every", DEFAULTS["drill_every"]), f"{at}.drill_every"
        ),
        protects=_strings(raw, "protects", at),
        assertions=tuple(assertions),
    )


def _strings(raw: dict[str, Any], key: str, at: str) -> tuple[str, ...]:
    found = raw.get(key, [])
    if not (isinstance(found, list) and all(isinstance(x, str) and x.strip() for x in found)):
        raise VaultError(f"{at}.{key} must be a list of non-empty strings")
    return tuple(found)


def _optional_text(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise VaultError(f"{where}: vault.{key} must be a non-empty string")
    return value.strip()
