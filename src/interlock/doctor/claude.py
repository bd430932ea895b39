"""Claude Code: every settings file in its precedence chain, and the flags that drop hooks.

Measured in Claude Code 2.1.197 (realclients.md): a settings file that is not valid JSON, or
has a schema error such as ``"type": "cmd"``, is ignored as a whole, silently; so are hooks
under ``"disableAllHooks": true`` in any settings file (local included), ``--bare``,
``--safe-mode``, and ``--setting-sources`` without the scope that holds the hook. Doctor cannot
see a future command line, but it reads the shell start-up files for aliases and functions
that add those flags. Managed settings with ``allowManagedHooksOnly`` keep only managed hooks.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from interlock.doctor.entries import (
    Entry,
    command_checks,
    coverage_check,
    grouped_entries,
    grouped_schema_errors,
    read_json,
)
from interlock.doctor.model import AgentReport, Check, init_fix, ok, problem
from interlock.doctor.probe import Prober

AGENT = "claude-code"
EVENT = "PreToolUse"
HANDLER_TYPES = ("command", "prompt", "agent", "http", "mcp_tool")
REQUIRED_TOOLS = ("Bash", "Read", "Write", "Edit", "MultiEdit", "NotebookEdit")
MANAGED_DIRS = (Path("/etc/claude-code"), Path("/Library/Application Support/ClaudeCode"))
RC_FILES = (
    ".bashrc",
    ".bash_aliases",
    ".bash_profile",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".config/fish/config.fish",
)
DROPPING_FLAGS = ("--bare", "--safe-mode")
IGNORED = "Claude Code ignores the whole file without a word, hooks included"


def sources(project: Path, home: Path, managed_dirs: tuple[Path, ...]) -> list[tuple[str, Path]]:
    """(scope, path), lowest precedence first: user, project, local, managed."""
    found = [
        ("user", home / ".claude" / "settings.json"),
        ("project", project / ".claude" / "settings.json"),
        ("local", project / ".claude" / "settings.local.json"),
    ]
    for folder in managed_dirs:
        found.append(("managed", folder / "managed-settings.json"))
        drop_ins = folder / "managed-settings.d"
        if drop_ins.is_dir():
            found.extend(("managed", p) for p in sorted(drop_ins.glob("*.json")))
    return found


def schema_errors(data: dict[str, Any]) -> list[str]:
    errors = grouped_schema_errors(data, HANDLER_TYPES)
    for key in ("disableAllHooks", "allowManagedHooksOnly"):
        if key in data and not isinstance(data[key], bool):
            errors.append(f"'{key}' is not true or false")
    for key in ("permissions", "env"):
        if key in data and not isinstance(data[key], dict):
            errors.append(f"'{key}' is not an object")
    return errors


def check(
    project: Path, home: Path, prober: Prober, managed_dirs: tuple[Path, ...] | None = None
) -> AgentReport:
    chain = sources(project, home, MANAGED_DIRS if managed_dirs is None else managed_dirs)
    present = [(scope, path) for scope, path in chain if path.exists()]
    markers = (project / ".claude").exists() or (project / "CLAUDE.md").exists()
    report = AgentReport(AGENT, configured=bool(present) or markers)
    if not report.configured:
        return report
    checks = report.checks
    loaded: list[tuple[str, Path, dict[str, Any]]] = []
    for scope, path in present:
        data, error = read_json(path)
        if data is None:
            checks.append(
                problem("settings", f"{error}: {IGNORED}", "fix the file, then run doctor", path)
            )
            continue
        errors = schema_errors(data)
        if errors:
            checks.append(
                problem(
                    "schema",
                    f"{'; '.join(errors)}: {IGNORED}",
                    "fix those keys (or remove the broken entry and run `interlock init`)",
                    path,
                )
            )
            continue
        checks.append(ok("settings", f"{scope} settings parse and match the schema", path))
        loaded.append((scope, path, data))
    for scope, path, data in loaded:
        if data.get("disableAllHooks") is True:
            checks.append(
                problem(
                    "disableAllHooks",
                    f'"disableAllHooks": true in the {scope} settings turns every hook off, '
                    "Interlock's included",
                    f'remove "disableAllHooks" from {path}',
                    path,
                )
            )
    entries = [e for scope, path, data in loaded for e in grouped_entries(data, path, scope)]
    for entry in entries:
        if entry.event != EVENT:
            checks.append(
                problem(
                    "event",
                    f"Interlock's hook is under {entry.event!r}; Claude Code runs it only "
                    f"under {EVENT!r}",
                    init_fix(AGENT, user=entry.scope == "user"),
                    entry.path,
                )
            )
    in_force = [e for e in entries if e.event == EVENT]
    managed_only = [p for s, p, d in loaded if s == "managed" and d.get("allowManagedHooksOnly")]
    if managed_only and any(e.scope != "managed" for e in in_force):
        in_force = [e for e in in_force if e.scope == "managed"]
        if not in_force:
            checks.append(
                problem(
                    "allowManagedHooksOnly",
                    "managed settings allow only managed hooks, so the Interlock hook in the "
                    "user or project settings never runs",
                    "ask the administrator to add the Interlock hook to the managed settings",
                    managed_only[0],
                )
            )
            return report
    if not in_force:
        checks.append(
            problem(
                "hook",
                "no Interlock PreToolUse hook in any settings file Claude Code loads",
                init_fix(AGENT),
            )
        )
        return report
    checks.append(coverage_check(AGENT, in_force, REQUIRED_TOOLS))
    checks.extend(entry_checks(AGENT, in_force, prober))
    checks.extend(alias_checks(home, {e.scope for e in in_force}))
    return report


def entry_checks(agent: str, entries: list[Entry], prober: Prober) -> list[Check]:
    """Interpreter and probe for each distinct command (once per command)."""
    seen: set[str] = set()
    out: list[Check] = []
    for entry in entries:
        if entry.command in seen:
            continue
        seen.add(entry.command)
        found = command_checks(entry, agent)
        out.extend(found)
        out.append(prober.check(agent, entry))
    return out


def alias_checks(home: Path, scopes: set[str]) -> list[Check]:
    """Aliases and functions in shell start-up files that start Claude Code without hooks."""
    out: list[Check] = []
    for name in RC_FILES:
        path = home / name
        try:
            lines = path.read_text("utf-8", "replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            why = dropping_flag(line, scopes)
            if why:
                out.append(
                    problem(
                        "shell alias",
                        f"line {number} starts claude with {why}: no hook runs in those sessions",
                        f"remove {why.split()[0]} from that line",
                        path,
                    )
                )
    if not out:
        out.append(
            ok(
                "launch flags",
                "no alias or function in the shell start-up files adds --bare, --safe-mode or "
                "--setting-sources (a command line typed later cannot be checked)",
            )
        )
    return out


def dropping_flag(line: str, scopes: set[str]) -> str | None:
    """The hook-dropping flag a shell line passes to ``claude``, if any.

    A line is split into words (never matched as text), and alias bodies are split again.
    """
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None
    expanded: list[str] = []
    for word in words:
        if "=" in word and " " in word:  # alias name='claude --bare'
            try:
                expanded.extend(shlex.split(word.split("=", 1)[1]))
            except ValueError:
                continue
        else:
            expanded.append(word)
    starts = [i for i, w in enumerate(expanded) if os.path.basename(w) == "claude"]
    if not starts:
        return None
    rest = expanded[starts[0] + 1 :]
    for i, word in enumerate(rest):
        if word in DROPPING_FLAGS:
            return word
        value = None
        if word == "--setting-sources" and i + 1 < len(rest):
            value = rest[i + 1]
        elif word.startswith("--setting-sources="):
            value = word.split("=", 1)[1]
        if value is not None:
            kept = {s.strip() for s in value.split(",")}
            if not scopes & (kept | {"managed"}):
                return f"--setting-sources {value}"
    return None
