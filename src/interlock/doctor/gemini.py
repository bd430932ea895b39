"""Gemini CLI: settings.json (JSON with comments), hooksConfig, folder trust, the BeforeTool event.

As read in Gemini CLI 0.61.0 (realclients.md and its settings loader): hooks live under
``hooks.BeforeTool`` with the timeout in **milliseconds**; Claude's ``PreToolUse`` is not a
Gemini event and is skipped; an event that is not a list, a definition without a ``hooks`` list
or a handler ``type`` other than command/plugin/runtime is discarded with only a debug log;
``hooksConfig.enabled: false`` turns hooks off and ``hooksConfig.disabled`` lists hooks (by
name, else command) that do not run. Folder trust is on by default, and in a folder nobody
trusted (``~/.gemini/trustedFolders.json``) Gemini runs **no** hooks from settings at all.
Gemini ignores Claude-style JSON answers and hangs in ``-p`` on ``{"decision": "ask"}``; the
probe checks the answer's form.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from interlock.doctor.claude import entry_checks
from interlock.doctor.entries import (
    Entry,
    coverage_check,
    grouped_entries,
    grouped_schema_errors,
    read_json,
)
from interlock.doctor.model import AgentReport, Check, init_fix, ok, problem
from interlock.doctor.probe import Prober

AGENT = "gemini"
EVENT = "BeforeTool"
HANDLER_TYPES = ("command", "plugin", "runtime")
CONFIG_FIELDS = ("enabled", "disabled", "notifications")
REQUIRED_TOOLS = ("run_shell_command", "read_file", "read_many_files", "write_file", "replace")
MIN_TIMEOUT_MS = 1000


def trusted_folders_path(home: Path) -> Path:
    override = os.environ.get("GEMINI_CLI_TRUSTED_FOLDERS_PATH")
    return Path(override) if override else home / ".gemini" / "trustedFolders.json"


def folder_trust(project: Path, home: Path, user: dict[str, Any]) -> Check:
    """Whether Gemini would treat ``project`` as trusted (else it runs no settings hooks)."""
    env = os.environ.get("GEMINI_CLI_TRUST_WORKSPACE")
    security = user.get("security")
    folder = security.get("folderTrust") if isinstance(security, dict) else None
    if isinstance(folder, dict) and folder.get("enabled") is False:
        return ok("folder trust", "folder trust is off in the user settings: hooks load")
    if env == "true":
        return ok("folder trust", "GEMINI_CLI_TRUST_WORKSPACE=true in this environment")
    path = trusted_folders_path(home)
    fix = (
        f"start `gemini` in {project} and trust the folder, or add "
        f'"{project}": "TRUST_FOLDER" to {path}'
    )
    rules, error = read_json(path, comments=True) if path.exists() else ({}, None)
    if rules is None:
        return problem("folder trust", f"{error}: Gemini refuses to start", fix, path)
    best: tuple[int, str] | None = None
    real = os.path.realpath(project)
    for rule, level in rules.items():
        folder_path = os.path.dirname(rule) if level == "TRUST_PARENT" else rule
        base = os.path.realpath(folder_path)
        if (real == base or real.startswith(base.rstrip("/") + "/")) and (
            best is None or len(rule) > best[0]
        ):
            best = (len(rule), str(level))
    if best and best[1] in ("TRUST_FOLDER", "TRUST_PARENT"):
        return ok("folder trust", f"the project is trusted ({best[1]})", path)
    state = "marked DO_NOT_TRUST" if best else "not trusted"
    return problem(
        "folder trust",
        f"the project folder is {state}, and Gemini runs no hooks from settings in an "
        "untrusted folder (silently)",
        fix,
        path,
    )


def check(project: Path, home: Path, prober: Prober) -> AgentReport:
    files = [
        ("user", home / ".gemini" / "settings.json"),
        ("project", project / ".gemini" / "settings.json"),
    ]
    present = [(scope, path) for scope, path in files if path.exists()]
    markers = (project / ".gemini").exists() or (project / "GEMINI.md").exists()
    report = AgentReport(AGENT, configured=bool(present) or markers)
    if not report.configured:
        return report
    checks = report.checks
    user: dict[str, Any] = {}
    entries: list[Entry] = []
    disabled: set[str] = set()
    for scope, path in present:
        data = _load(path, checks)
        if data is None:
            continue
        if scope == "user":
            user = data
        entries.extend(grouped_entries(data, path, scope, timeout_unit_s=0.001))
        config = data.get("hooksConfig")
        if isinstance(config, dict):
            if config.get("enabled") is False:
                checks.append(
                    problem(
                        "hooksConfig",
                        '"hooksConfig": {"enabled": false} turns every Gemini hook off',
                        "remove hooksConfig.enabled (or set it to true)",
                        path,
                    )
                )
            if isinstance(config.get("disabled"), list):
                disabled |= {d for d in config["disabled"] if isinstance(d, str)}
        if isinstance(data.get("hooks"), dict) and "PreToolUse" in data["hooks"]:
            checks.append(
                problem(
                    "event",
                    "hooks.PreToolUse is Claude Code's event: Gemini skips it (its event is "
                    f"{EVENT})",
                    f"{init_fix(AGENT, user=scope == 'user')} (writes hooks.{EVENT})",
                    path,
                )
            )
    in_force: list[Entry] = []
    for entry in entries:
        if entry.command in disabled:
            checks.append(
                problem(
                    "hooksConfig",
                    "the Interlock hook is listed in hooksConfig.disabled",
                    "remove it from hooksConfig.disabled",
                    entry.path,
                )
            )
        elif entry.event == EVENT:
            in_force.append(entry)
    if not in_force:
        if not any(c.name == "event" for c in checks):
            checks.append(
                problem(
                    "hook",
                    f"no Interlock {EVENT} hook in any Gemini settings file",
                    init_fix(AGENT),
                )
            )
        return report
    checks.append(folder_trust(project, home, user))
    for entry in in_force:
        if entry.timeout_s is not None and entry.timeout_s * 1000 < MIN_TIMEOUT_MS:
            checks.append(
                problem(
                    "timeout",
                    f"timeout {entry.timeout_s * 1000:g} ms: Gemini's unit is milliseconds, so "
                    "the hook is killed before it answers and the call runs",
                    f"{init_fix(AGENT)} (writes 30000)",
                    entry.path,
                )
            )
    checks.append(coverage_check(AGENT, in_force, REQUIRED_TOOLS))
    checks.extend(entry_checks(AGENT, in_force, prober))
    return report


def _load(path: Path, checks: list[Check]) -> dict[str, Any] | None:
    data, error = read_json(path, comments=True)
    if data is None:
        checks.append(
            problem(
                "settings", f"{error}: Gemini cannot use it", "fix the file, then run doctor", path
            )
        )
        return None
    errors = grouped_schema_errors(data, HANDLER_TYPES, skip=CONFIG_FIELDS)
    if errors:
        checks.append(
            problem(
                "schema",
                f"{'; '.join(errors)}: Gemini discards those entries with only a debug log",
                "fix those keys (or remove the broken entry and run `interlock init`)",
                path,
            )
        )
    else:
        checks.append(ok("settings", "parses and matches the hooks schema", path))
    return data
