"""`interlock doctor`: is the Interlock hook in force for every agent configured here?

The checks are in :mod:`interlock.doctor`; this module parses options and prints the report.
Exit 0 only when at least one agent is configured and every configured agent is protected.
Stray credentials in the project (`interlock scan`) are listed as warnings and do not change
the exit status: it answers whether the hook is in force (docs/scanner.md).
"""

from __future__ import annotations

from pathlib import Path

import click

from interlock.hooks import AGENTS


@click.command("doctor")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The project folder.",
)
@click.option(
    "--agent",
    "agents",
    multiple=True,
    type=click.Choice(AGENTS),
    help="Check only this agent (repeatable). Default: all four.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-probe", is_flag=True, help="Do not run the hook commands with a probe payload.")
@click.option(
    "--no-scan", is_flag=True, help="Do not list stray credentials in the project (interlock scan)."
)
@click.pass_context
def doctor(
    ctx: click.Context,
    project: Path,
    agents: tuple[str, ...],
    as_json: bool,
    no_probe: bool,
    no_scan: bool,
) -> None:
    """Check that the Interlock hook is really in force for each agent, and say how to fix it."""
    from interlock.doctor import diagnose

    report = diagnose(project, agents=agents, probe=not no_probe, scan=not no_scan)
    if as_json:
        click.echo(report.dumps())
    else:
        for text, colour in report.lines():
            click.secho(text, fg=colour)
    ctx.exit(report.exit_code)
