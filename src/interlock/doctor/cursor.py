"""Cursor: ``hooks.json`` (``{"version": 1, "hooks": {event: [{command, failClosed}]}}``).

Cursor's hooks are a documented protocol only (peers.md §c); nothing here was measured in a
running Cursor. What is checked: the file parses, the events Interlock installs are there,
and each entry has ``failClosed: true``, without which a crash or a timeout lets the action run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interlock.doctor.claude import entry_checks
from interlock.doctor.entries import Entry, interlock_target, read_json
from interlock.doctor.model import AgentReport, init_fix, ok, problem
from interlock.doctor.probe import Prober
from interlock.hooks.cursor import INSTALLED_EVENTS

AGENT = "cursor"


def check(project: Path, home: Path, prober: Prober) -> AgentReport:
    files = [
        ("user", home / ".cursor" / "hooks.json"),
        ("project", project / ".cursor" / "hooks.json"),
    ]
    present = [(scope, path) for scope, path in files if path.exists()]
    report = AgentReport(AGENT, configured=bool(present) or (project / ".cursor").exists())
    if not report.configured:
        return report
    checks = report.checks
    entries: list[Entry] = []
    for scope, path in present:
        data, error = read_json(path)
        if data is None:
            checks.append(
                problem("settings", f"{error}: Cursor cannot use it", "fix the file", path)
            )
            continue
        errors = schema_errors(data)
        if errors:
            checks.append(
                problem("schema", "; ".join(errors), "fix those keys, then run doctor", path)
            )
            continue
        checks.append(ok("settings", "parses and matches the hooks schema", path))
        entries.extend(cursor_entries(data, path, scope))
    if not entries:
        checks.append(
            problem("hook", "no Interlock entry in any Cursor hooks.json", init_fix(AGENT))
        )
        return report
    missing = [e for e in INSTALLED_EVENTS if not any(x.event == e for x in entries)]
    if missing:
        checks.append(
            problem(
                "events",
                f"no Interlock entry for {', '.join(missing)}: those actions run unchecked",
                init_fix(AGENT),
            )
        )
    else:
        checks.append(ok("events", f"covers {', '.join(INSTALLED_EVENTS)}"))
    open_entries = [e for e in entries if e.fail_closed is not True]
    for entry in open_entries:
        checks.append(
            problem(
                "failClosed",
                f'the {entry.event} entry lacks "failClosed": true, so a crash or timeout '
                "lets the action run",
                init_fix(AGENT, user=entry.scope == "user"),
                entry.path,
            )
        )
    checks.extend(entry_checks(AGENT, entries, prober))
    return report


def schema_errors(data: dict[str, Any]) -> list[str]:
    errors = []
    if data.get("version") != 1:
        errors.append(f"'version' is {data.get('version')!r}, not 1")
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return [*errors, "'hooks' is missing or not an object"]
    for event, items in hooks.items():
        if not isinstance(items, list):
            errors.append(f"'hooks.{event}' is not a list")
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("command"), str):
                errors.append(f"'hooks.{event}[{i}]' has no command string")
    return errors


def cursor_entries(data: dict[str, Any], path: Path, scope: str) -> list[Entry]:
    found = []
    for event, items in data["hooks"].items():
        for i, item in enumerate(items):
            target = interlock_target(item["command"])
            if target is not None:
                found.append(
                    Entry(
                        path=path,
                        scope=scope,
                        event=event,
                        command=item["command"],
                        target=target,
                        index=i,
                        fail_closed=item.get("failClosed") is True,
                    )
                )
    return found
