"""`interlock vault snapshotter`: pre-destroy snapshots asked for by the approval server and the gateway (docs/vault.md)."""

from __future__ import annotations

from pathlib import Path

import click

from interlock.vault.errors import VaultError


@click.command("snapshotter")
@click.option(
    "--listen",
    default="127.0.0.1:8476",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to answer the server's snapshot requests.",
)
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The interlock.toml with [vault] (default: the nearest one, or $INTERLOCK_CONFIG).",
)
def snapshotter(listen: str, config: Path | None) -> int:
    """Take a backup of a configured source when the server asks, before a destructive action.

    The only Interlock process that holds the vault key; callers present the trigger token
    ($INTERLOCK_SNAPSHOT_TOKEN, or a 0600 file named by $INTERLOCK_SNAPSHOT_TOKEN_FILE).
    """
    import uvicorn

    from interlock.config import find_config
    from interlock.vault import settings as vault_settings
    from interlock.vault.snapshotter import TOKEN_ENV, build_app, hash_token, trigger_token

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise VaultError(f"--listen {listen!r} is not HOST:PORT", "e.g. --listen 127.0.0.1:8476")
    path = config or find_config(Path.cwd())
    settings = vault_settings.load(path)
    if not settings.location:
        raise VaultError(
            "no vault: set [vault] location in interlock.toml or $INTERLOCK_VAULT",
            "see docs/vault.md, Pre-destroy snapshots",
        )
    if not settings.sources:
        raise VaultError(
            f"{path or 'interlock.toml'} configures no [vault.sources]: nothing to snapshot"
        )
    token = trigger_token()
    if token is None:
        raise VaultError(
            f"no trigger token: set {TOKEN_ENV} (or {TOKEN_ENV}_FILE) here and in `interlock serve`",
            'make one with `python3 -c "import secrets; print(secrets.token_urlsafe(32))"`',
        )
    from interlock.vault.report import from_config

    # Each snapshot (or its error) counts on the dashboard like any backup of the source.
    with from_config(path) as reporter:
        app = build_app(settings, settings.location, hash_token(token), report=reporter)
        del token
        names = ", ".join(sorted(settings.sources))
        click.echo(f"interlock vault snapshotter on http://{listen} for {names}", err=True)
        uvicorn.run(app, host=host.strip("[]"), port=int(port), log_level="warning")
    return 0


# The commands this module adds to `interlock vault` (registered in cli/vault.py).
COMMANDS: list[click.Command] = [snapshotter]
