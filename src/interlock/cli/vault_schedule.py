"""`interlock vault schedule`: backups per source to a target RPO, drills, freshness alerts (docs/vault.md)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from interlock.secrets import mask
from interlock.vault.errors import VaultError


@click.command("schedule")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The interlock.toml with [vault.sources.*] (default: the nearest one).",
)
@click.option(
    "--vault",
    "vault_dir",
    envvar="INTERLOCK_VAULT",
    default=None,
    help="The vault (default $INTERLOCK_VAULT, else [vault] location).",
)
@click.option("--once", is_flag=True, help="One pass, then exit (1 if anything failed): for cron.")
def schedule(config_path: Path | None, vault_dir: str | None, once: bool) -> int:
    """Back up each source before half its RPO has passed, drill it every drill_every, and
    report every outcome to the approval server (alerts on failures)."""
    from interlock.config import find_config
    from interlock.vault import report, settings
    from interlock.vault.schedule import Scheduler

    config = config_path or find_config(Path.cwd())
    if config is None:
        raise VaultError(
            "no interlock.toml found here or above",
            "run in the project, or pass --config PATH; sources are [vault.sources.<name>]",
        )
    vault_settings = settings.load(config)
    location = vault_dir or vault_settings.location
    if not location:
        raise VaultError(
            f"{config} sets no [vault] location",
            "set location in [vault], or pass --vault / $INTERLOCK_VAULT",
        )
    with report.from_config(config) as reporter:
        scheduler = Scheduler(
            vault_settings, location, reporter, echo=lambda text, error: click.echo(text, err=error)
        )
        if once:
            return 1 if scheduler.run_once().failed else 0
        stop = threading.Event()

        def stopping(signum: int, _frame: FrameType | None) -> None:
            click.echo(
                f"interlock vault schedule: {signal.Signals(signum).name}, stopping", err=True
            )
            stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stopping)
        click.echo(
            f"interlock vault schedule: {len(vault_settings.sources)} source(s) into {mask(location)}",
            err=True,
        )
        scheduler.run_forever(stop)
    return 0


# The commands this module adds to `interlock vault` (registered in cli/vault.py).
COMMANDS: list[click.Command] = [schedule]
