"""`interlock doctor`: is the Interlock hook really in force for each agent on this machine?

A hook that passes its tests can still protect nothing. Every agent CLI fails open, silently,
in ways no unit test sees (realclients.md, measured with Claude Code 2.1.197, Codex 0.169.0 and
Gemini CLI 0.61.0): a settings file with a schema error is ignored, ``disableAllHooks`` drops
every hook, Codex skips hooks nobody trusted, Gemini runs no hook in an untrusted folder, a hook
whose interpreter is gone exits 127 and the command runs. The doctor reads every settings file
each agent would read, in the project and in the home folder, names each of those failure
modes it finds with the exact fix, and then runs the configured hook command with a probe
payload (``rm -rf ~`` in that agent's protocol) to prove it answers deny in time.

It only reads, except for the probe, whose audit record goes to a temporary file
(``INTERLOCK_AUDIT_LOG``), never to the user's log.

Modules: :mod:`.model` (checks and the report), :mod:`.entries` (finding Interlock's entries,
matchers, the interpreter), :mod:`.probe`, and one module per agent.
"""

from __future__ import annotations

from pathlib import Path

from interlock.doctor.model import AgentReport, Check, Report, Status
from interlock.hooks import AGENTS

__all__ = ["AgentReport", "Check", "Report", "Status", "diagnose", "workspace_checks"]


def diagnose(
    project: Path,
    *,
    home: Path | None = None,
    agents: tuple[str, ...] = (),
    managed_dirs: tuple[Path, ...] | None = None,
    probe: bool = True,
    scan: bool = True,
) -> Report:
    """Check every agent (or only ``agents``) for ``project`` and the user's ``home``;
    ``scan``: also list stray credentials in ``project`` (:func:`workspace_checks`)."""
    from interlock.doctor import claude, codex, cursor, gemini
    from interlock.doctor.probe import Prober

    home = home or Path.home()
    project = project.absolute()
    prober = Prober(project, enabled=probe)
    runners = {
        "claude-code": lambda: claude.check(project, home, prober, managed_dirs),
        "codex": lambda: codex.check(project, home, prober),
        "gemini": lambda: gemini.check(project, home, prober),
        "cursor": lambda: cursor.check(project, home, prober),
    }
    reports = [runners[agent]() for agent in (agents or AGENTS)]
    workspace = workspace_checks(project) if scan else ()
    return Report(project=project, agents=tuple(reports), workspace=workspace)


def workspace_checks(project: Path) -> tuple[Check, ...]:
    """One warning per stray credential `interlock scan` finds (file, line and kind, never the
    value); a scan that cannot run is a warning too, not a silent pass."""
    from interlock.doctor.model import warning
    from interlock.errors import InterlockError
    from interlock.scanner import SETUP_MAX_FILES, scan

    try:
        report = scan(project, max_files=SETUP_MAX_FILES)
    except InterlockError as exc:
        return (warning("credential scan", f"could not run: {exc}", "interlock scan"),)
    fix = "interlock scan --move (stores it in the broker, leaves a reference; docs/scanner.md)"
    checks = [
        warning("stray credential", finding.label, fix, finding.where) for finding in report.leaks
    ]
    if not report.complete:
        checks.append(
            warning("credential scan", f"stopped after {report.files} files", "interlock scan")
        )
    return tuple(checks)
