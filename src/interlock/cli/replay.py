"""`interlock replay SCENARIO`: a real incident, once without Interlock and once with it.

The timeline is printed as it happens; the last lines give the verdict. Exit status
(docs/cli.md): 0 when the run without Interlock reproduced the loss and the run with it lost
nothing with every layer holding, 1 otherwise (or when the replay cannot run: no PostgreSQL).
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from pathlib import Path

import click

SCENARIOS = {
    "pocketos": "interlock.replay.pocketos",
    "datatalks": "interlock.replay.datatalks",
}


@click.command("replay")
@click.argument("scenario", type=click.Choice(sorted(SCENARIOS)))
@click.option(
    "--pg",
    "pg_url",
    metavar="URL",
    help="PostgreSQL server for the scratch databases (default: $INTERLOCK_REPLAY_PG, else "
    "postgresql://postgres@127.0.0.1:5432/postgres).",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the scratch folder (repositories, configuration, server log) and print its path.",
)
def replay(scenario: str, pg_url: str | None, keep: bool) -> int:
    """Replay an incident without Interlock, then with it; exit 0 only if Interlock prevented
    the loss the first run reproduced.

    \b
      interlock replay pocketos    # Railway volumeDelete with a stray token (April 2026)
      interlock replay datatalks   # terraform destroy after a lost state file
    """
    module = importlib.import_module(SCENARIOS[scenario])
    scratch = Path(tempfile.mkdtemp(prefix=f"interlock-replay-{scenario}-"))
    try:
        result = module.replay(click.echo, scratch, pg_url)
    finally:
        if keep:
            click.echo(f"scratch folder kept: {scratch}", err=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    click.echo("")
    click.echo(result.summary())
    return 0 if result.passed else 1
