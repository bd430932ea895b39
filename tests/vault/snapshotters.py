"""A real snapshotter for tests: ``vault.snapshotter.build_app`` under uvicorn on 127.0.0.1, with a
real vault folder and real sources (used by the vault's, the gateway's and the server's tests)."""

from __future__ import annotations

import secrets
from pathlib import Path

from interlock.vault.settings import VaultSettings, parse
from interlock.vault.snapshotter import Backup, build_app, hash_token, run_backup
from tests.gateway.fakes import Running

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/"


def new_token() -> str:
    return "snap_" + secrets.token_urlsafe(32)


def settings_for(
    vault: Path, sources: dict[str, dict[str, object]], url: str = ""
) -> VaultSettings:
    """``[vault]`` as a user writes it: the vault folder, the snapshotter's URL, the sources."""
    raw: dict[str, object] = {"location": str(vault), "sources": sources}
    if url:
        raw["snapshotter"] = url
    return parse(raw, "test")


def serve(
    settings: VaultSettings,
    token: str,
    *,
    backup: Backup = run_backup,
    lines: list[str] | None = None,
) -> Running:
    assert settings.location is not None
    app = build_app(
        settings,
        settings.location,
        hash_token(token),
        backup=backup,
        log=lines.append if lines is not None else None,
    )
    return Running(app)
