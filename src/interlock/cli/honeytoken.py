"""`interlock honeytoken plant | list | remove`: decoy credentials where agents search.

Values are never printed: ``list`` shows at most four characters of each (``ghp_…****``).
The registry lives in the server's data folder, found as `interlock serve` finds it
(``--data-dir``, ``$INTERLOCK_HOME``, ``[server] data_dir``, ``<project>/.interlock/``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _options(func: F) -> F:
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        help="Where the registry lives (default: $INTERLOCK_HOME, else [server] data_dir, "
        "else .interlock/ in the project).",
    )(func)
    func = click.option(
        "--project",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="The project to plant decoys in (its root: the folder of its interlock.toml).",
    )(func)
    return func


def _where(project: Path, data_dir: str | None) -> tuple[Path, Path]:
    """The project's root and the data folder, as the server resolves them."""
    from interlock.server.settings import load

    settings = load(project, data_dir=data_dir)
    return Path(settings.policy.project_root), settings.data_dir


@click.group("honeytoken")
def honeytoken() -> None:
    """Plant, list and remove decoy credentials (docs/honeytokens.md)."""


@honeytoken.command("plant")
@_options
def plant(project: Path, data_dir: str | None) -> None:
    """Write decoy credentials into files agents search; never over an existing file."""
    from interlock import honeytokens

    root, folder = _where(project, data_dir)
    done = honeytokens.plant(root, folder)
    for decoy in done.files:
        kinds = [t.label for t in done.tokens if t.file == decoy.path]
        click.echo(f"planted {decoy.where()}: {', '.join(kinds)}")
    for why in done.skipped:
        click.echo(f"skipped: {why}")
    click.echo(f"registry: {done.registry} (mode 0600)")
    if str(done.registry) not in honeytokens.registry_paths(str(root)):
        click.secho(
            f"warning: hooks look for the registry in $INTERLOCK_HOME or {root}/.interlock/ "
            f"only; set INTERLOCK_HOME={folder} in the agents' environment",
            fg="yellow",
            err=True,
        )


@honeytoken.command("list")
@_options
def list_(project: Path, data_dir: str | None) -> None:
    """The planted decoys: kind, file and at most four characters of each value."""
    from interlock import honeytokens

    _, folder = _where(project, data_dir)
    registry = honeytokens.load(folder / honeytokens.REGISTRY)
    if not registry.tokens:
        click.echo("no honeytokens planted")
        return
    for token in registry.tokens:
        planted = time.strftime("%Y-%m-%d %H:%M", time.localtime(token.planted_at))
        click.echo(f"{token.id}  {token.label:<34} {token.masked():<10} {token.where()}  {planted}")


@honeytoken.command("remove")
@_options
def remove(project: Path, data_dir: str | None) -> None:
    """Delete this project's decoy files (those unchanged since planting) and unwatch them."""
    from interlock import honeytokens

    root, folder = _where(project, data_dir)
    done = honeytokens.remove(root, folder)
    for where in done.deleted:
        click.echo(f"deleted {where}")
    for where in done.kept:
        click.echo(
            f"kept {where}: it changed since it was planted; its values stay watched until "
            "you delete it and run remove again"
        )
    click.echo(f"{done.unwatched} value(s) no longer watched")
