"""`interlock init`: install the Interlock hook into each agent's settings, or undo it.

The work is in :mod:`interlock.installer`; this module parses options and prints what was
done and what a person still has to do (Codex runs no hook nobody has trusted, silently).
It then scans the project for stray credentials and prints a summary (never a reason to
fail: docs/scanner.md), and ends by running `interlock doctor` for the agents it installed and
exits with doctor's status: 0 when the hook is in force for each of them, 1 when something
still stands in the way (for Codex and Gemini that is normal right after a first install: the
hook or the folder must be trusted, and doctor says how). ``--no-doctor`` skips the check and exits 0.
"""

from __future__ import annotations

from pathlib import Path

import click

from interlock.hooks import AGENTS

CODEX_TRUST = (
    "Codex: hooks nobody has reviewed are skipped silently. Start `codex` in {where}, run "
    "`/hooks` and trust the Interlock hook (automation: `codex exec "
    "--dangerously-bypass-hook-trust`). Project hooks in .codex/ also need a trusted project."
)
NOTES = {
    "claude-code": "Claude Code: hooks do not run under `--bare`, `--safe-mode` or with "
    '"disableAllHooks": true in any settings file; check with `/hooks` in a session.',
    "gemini": "Gemini CLI: hooks cannot ask a person, so Interlock's asks block with a message "
    "saying what a person can do.",
    "cursor": "Cursor: restart Cursor (or reload the window) so it reads hooks.json.",
}


@click.command("init")
@click.option(
    "--agent",
    "agents",
    multiple=True,
    type=click.Choice(AGENTS),
    help="Install for this agent (repeatable). Default: the agents the project uses, else all.",
)
@click.option("--user", is_flag=True, help="Install into the home-level settings instead.")
@click.option("--undo", is_flag=True, help="Remove exactly what a previous init added.")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The project folder.",
)
@click.option("--no-doctor", is_flag=True, help="Do not run `interlock doctor` at the end.")
@click.option("--no-scan", is_flag=True, help="Do not scan the project for stray credentials.")
@click.pass_context
def init(
    ctx: click.Context,
    agents: tuple[str, ...],
    user: bool,
    undo: bool,
    project: Path,
    no_doctor: bool,
    no_scan: bool,
) -> None:
    """Merge the Interlock hook into Claude Code, Cursor, Codex and Gemini CLI settings."""
    from interlock import installer

    if undo:
        for change in installer.undo(project, user=user):
            click.echo(f"  {change.agent:<12} {change.path}: {change.what}")
        click.secho("Interlock hooks removed.", fg="green")
        return
    changes = installer.install(project, agents, user=user)
    for change in changes:
        click.echo(f"  {change.agent:<12} {change.path}: {change.what}")
    installed = [c.agent for c in changes if c.agent in AGENTS]
    click.secho(
        f"Interlock hook installed for {', '.join(installed)} "
        f"(command: {installer.hook_command('<agent>')}).",
        fg="green",
    )
    for agent in installed:
        if agent == "codex":
            where = "your home folder" if user else str(project.absolute())
            click.secho("Next step: " + CODEX_TRUST.format(where=where), fg="yellow")
        elif agent in NOTES:
            click.echo(NOTES[agent])
    click.echo("Undo with `interlock init --undo" + (" --user`." if user else "`."))
    if not no_scan:
        _scan(project)
    if no_doctor:
        return
    from interlock.doctor import diagnose

    click.echo("\nChecking with `interlock doctor`:")
    report = diagnose(project, agents=tuple(dict.fromkeys(installed)), scan=False)
    for text, colour in report.lines()[1:]:
        click.secho(text, fg=colour)
    ctx.exit(report.exit_code)


def _scan(project: Path) -> None:
    """`interlock scan`'s summary: a hook is half the job while a token lies in a file an agent
    can read (the PocketOS incident). Informational: it never fails init."""
    from interlock.errors import InterlockError
    from interlock.scanner import SETUP_MAX_FILES, scan

    click.echo("\nScanning the project for stray credentials (`interlock scan`):")
    try:
        report = scan(project, max_files=SETUP_MAX_FILES)
    except InterlockError as exc:
        click.secho(f"  the scan could not run: {exc}", fg="yellow")
        return
    for finding in report.leaks[:10]:
        click.secho(f"  {finding.where}: {finding.label}", fg="yellow")
    if len(report.leaks) > 10:
        click.secho(f"  … and {len(report.leaks) - 10} more", fg="yellow")
    if report.leaks:
        click.secho(
            f"  {report.summary()}: move them into the broker with `interlock scan --move`.",
            fg="yellow",
        )
    else:
        click.secho(f"  {report.summary()}.", fg="green" if report.complete else "yellow")
