"""Codex CLI: hooks.json and inline ``[hooks]`` per config layer, the feature flag, and trust.

Measured with Codex 0.169.0 (realclients.md, and its ``hooks/list``): a hook nobody reviewed
is skipped without a word in ``codex exec``. Trust is recorded in the user's
``$CODEX_HOME/config.toml`` as ``[hooks.state."<file>:pre_tool_use:<group>:<handler>"]
trusted_hash = "sha256:…"``; the hash covers the entry, so a changed entry is "modified" and
skipped again until re-trusted. Hooks in the project's ``.codex/`` load only when the project is
trusted (``[projects."<path>"] trust_level = "trusted"``). ``[features] hooks = false``
(or the older ``codex_hooks``) turns hooks off, and an ``hooks.json`` event that is not a list
is skipped with only a log warning.
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
    read_toml,
)
from interlock.doctor.model import AgentReport, Check, init_fix, ok, problem, warning
from interlock.doctor.probe import Prober

AGENT = "codex"
EVENT = "PreToolUse"
HANDLER_TYPES = ("command", "prompt", "agent")
REQUIRED_TOOLS = ("Bash", "apply_patch")
HOOKS_JSON_KEYS = frozenset({"description", "hooks"})
TRUST_STEP = (
    "start `codex` in {where}, run `/hooks` and trust the Interlock hook "
    "(automation only: `codex exec --dangerously-bypass-hook-trust`)"
)


def codex_home(home: Path) -> Path:
    return Path(os.environ["CODEX_HOME"]) if os.environ.get("CODEX_HOME") else home / ".codex"


def project_trusted(config: dict[str, Any], project: Path) -> bool | None:
    """True/False as recorded for the project (or a folder above it); None when not recorded."""
    projects = config.get("projects")
    if not isinstance(projects, dict):
        return None
    for folder in (project, *project.parents):
        record = projects.get(str(folder))
        if isinstance(record, dict) and "trust_level" in record:
            return bool(record["trust_level"] == "trusted")
    return None


def check(project: Path, home: Path, prober: Prober) -> AgentReport:
    base = codex_home(home)
    config_path = base / "config.toml"
    files = [
        ("user", config_path),
        ("user", base / "hooks.json"),
        ("project", project / ".codex" / "config.toml"),
        ("project", project / ".codex" / "hooks.json"),
    ]
    present = [(scope, path) for scope, path in files if path.exists()]
    markers = (project / ".codex").exists() or (project / "AGENTS.md").exists()
    report = AgentReport(AGENT, configured=bool(present) or markers)
    if not report.configured:
        return report
    checks = report.checks
    config: dict[str, Any] = {}
    entries: list[Entry] = []
    for scope, path in present:
        data = _load(path, checks)
        if data is None:
            continue
        if path == config_path:
            config = data
        entries.extend(grouped_entries(data, path, scope))
        features = data.get("features")
        if isinstance(features, dict):
            for flag in ("hooks", "codex_hooks"):
                if features.get(flag) is False:
                    checks.append(
                        problem(
                            "feature flag",
                            f"[features] {flag} = false turns every Codex hook off",
                            f"remove `{flag} = false` from [features]",
                            path,
                        )
                    )
    trusted_project = project_trusted(config, project)
    in_force: list[Entry] = []
    for entry in entries:
        if entry.event != EVENT:
            checks.append(
                problem(
                    "event",
                    f"Interlock's hook is under {entry.event!r}; Codex runs it under {EVENT!r}",
                    init_fix(AGENT, user=entry.scope == "user"),
                    entry.path,
                )
            )
        elif entry.scope == "project" and not trusted_project:
            checks.append(
                problem(
                    "project trust",
                    "hooks in the project's .codex/ load only in a trusted project, and this "
                    "one is " + ("marked untrusted" if trusted_project is False else "not trusted"),
                    TRUST_STEP.format(where=project) + " (Codex asks to trust the project first)",
                    entry.path,
                )
            )
        else:
            in_force.append(entry)
    if not in_force:
        if not any(c.name in ("project trust", "event") for c in checks):
            checks.append(
                problem(
                    "hook", "no Interlock PreToolUse hook in any Codex hooks file", init_fix(AGENT)
                )
            )
        return report
    checks.extend(trust_checks(in_force, config, config_path, project))
    checks.append(coverage_check(AGENT, in_force, REQUIRED_TOOLS))
    checks.extend(entry_checks(AGENT, in_force, prober))
    return report


def _load(path: Path, checks: list[Check]) -> dict[str, Any] | None:
    if path.suffix == ".toml":
        data, error = read_toml(path)
        errors = [] if data is None else grouped_schema_errors(data, HANDLER_TYPES, skip=("state",))
    else:
        data, error = read_json(path)
        errors = [] if data is None else grouped_schema_errors(data, HANDLER_TYPES)
        unknown = sorted(set(data or {}) - HOOKS_JSON_KEYS)
        if unknown:
            errors.insert(
                0, f"unknown top-level key(s) {', '.join(unknown)} (Codex refuses the file)"
            )
    if data is None:
        checks.append(
            problem(
                "settings", f"{error}: Codex cannot use it", "fix the file, then run doctor", path
            )
        )
        return None
    if errors:
        checks.append(
            problem(
                "schema",
                f"{'; '.join(errors)}: Codex skips what it cannot read",
                "fix those keys (or remove the broken entry and run `interlock init`)",
                path,
            )
        )
        return None
    checks.append(ok("settings", "parses and matches the hooks schema", path))
    return data


def trust_checks(
    entries: list[Entry], config: dict[str, Any], config_path: Path, project: Path
) -> list[Check]:
    hooks = config.get("hooks")
    state = hooks.get("state") if isinstance(hooks, dict) else None
    state = state if isinstance(state, dict) else {}
    results: list[tuple[Entry, Check, bool]] = []
    for entry in entries:
        key = f"{entry.path}:pre_tool_use:{entry.group}:{entry.index}"
        record = state.get(key)
        record = record if isinstance(record, dict) else {}
        where = project if entry.scope == "project" else "any folder"
        if record.get("enabled") is False:
            found = problem(
                "hook trust",
                f'the Interlock hook is disabled in Codex ([hooks.state."{key}"] enabled = false)',
                f"run `/hooks` in codex and enable it, or remove that table from {config_path}",
                entry.path,
            )
            results.append((entry, found, False))
        elif not isinstance(record.get("trusted_hash"), str):
            found = problem(
                "hook trust",
                "nobody has trusted the Interlock hook, and Codex skips untrusted hooks silently",
                TRUST_STEP.format(where=where),
                entry.path,
            )
            results.append((entry, found, False))
        elif _newer(entry.path, config_path):
            found = warning(
                "hook trust",
                "trust is recorded, but the hooks file changed after it was: if the Interlock "
                "entry changed, Codex marks it modified and skips it",
                TRUST_STEP.format(where=where),
                entry.path,
            )
            results.append((entry, found, True))
        else:
            found = ok(
                "hook trust",
                "trusted in config.toml (Codex checks a hash of the entry; doctor cannot "
                "recompute it, so re-trust after editing the entry)",
                entry.path,
            )
            results.append((entry, found, True))
    if any(trusted for _, _, trusted in results):
        # One trusted Interlock hook protects; an untrusted duplicate is only a warning.
        return [
            c if trusted else warning(c.name, c.message, c.fix, c.path) for _, c, trusted in results
        ]
    return [c for _, c, _ in results]


def _newer(path: Path, than: Path) -> bool:
    try:
        return path.stat().st_mtime > than.stat().st_mtime
    except OSError:
        return False
