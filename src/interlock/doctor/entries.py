"""Reading settings files the way the agents do, finding Interlock's entries, judging them.

Every agent treats a broken file or entry by skipping it without a word (realclients.md), so
each reader here turns "skipped" into a named problem instead.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interlock.doctor.model import Check, init_fix, ok, problem
from interlock.hooks import AGENTS

IMPORT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Entry:
    """One hook handler in a settings file that runs Interlock's hook."""

    path: Path
    scope: str
    event: str
    command: str
    target: str
    """The agent named in the command (``-m interlock.hooks <target>``)."""
    matcher: str | None = None
    timeout_s: float | None = None
    group: int = 0
    index: int = 0
    fail_closed: bool | None = None


def interlock_target(command: object) -> str | None:
    """The agent a hook command runs Interlock's hook for, or None when it is not Interlock's.

    ``<python> -m interlock.hooks AGENT`` (what init writes) or ``<...>/interlock hook AGENT``.
    """
    if not isinstance(command, str):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if len(words) >= 3 and words[-3:-1] == ["-m", "interlock.hooks"]:
        return words[-1]
    if len(words) >= 3 and words[-2] == "hook" and os.path.basename(words[-3]) == "interlock":
        return words[-1]
    return None


def read_json(path: Path, *, comments: bool = False) -> tuple[dict[str, Any] | None, str | None]:
    """(object, None) or (None, why it does not load). ``comments``: Gemini's JSON with comments."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({exc})"
    if comments:
        text = strip_comments(text)
    if not text.strip():
        return {}, None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
    if not isinstance(data, dict):
        return None, f"is a JSON {type(data).__name__}, not an object"
    return data, None


def read_toml(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return tomllib.loads(path.read_text("utf-8")), None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({exc})"
    except tomllib.TOMLDecodeError as exc:
        return None, f"is not valid TOML ({exc})"


def strip_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments outside strings (Gemini accepts both)."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def grouped_schema_errors(
    data: dict[str, Any], handler_types: tuple[str, ...], *, skip: tuple[str, ...] = ()
) -> list[str]:
    """Shape errors in ``hooks: {event: [{matcher, hooks: [{type, command, timeout}]}]}``."""
    hooks = data.get("hooks")
    if hooks is None:
        return []
    if not isinstance(hooks, dict):
        return [f"'hooks' is a {type(hooks).__name__}, not an object"]
    errors = []
    for event, groups in hooks.items():
        if event in skip:
            continue
        if not isinstance(groups, list):
            errors.append(f"'hooks.{event}' is not a list")
            continue
        for g, group in enumerate(groups):
            where = f"hooks.{event}[{g}]"
            if not isinstance(group, dict):
                errors.append(f"'{where}' is not an object")
                continue
            matcher = group.get("matcher")
            if matcher is not None and not isinstance(matcher, str):
                errors.append(f"'{where}.matcher' is not a string")
            inner = group.get("hooks")
            if not isinstance(inner, list):
                errors.append(f"'{where}.hooks' is missing or not a list")
                continue
            for h, hook in enumerate(inner):
                errors.extend(_handler_errors(hook, f"{where}.hooks[{h}]", handler_types))
    return errors


def _handler_errors(hook: object, where: str, handler_types: tuple[str, ...]) -> list[str]:
    if not isinstance(hook, dict):
        return [f"'{where}' is not an object"]
    errors = []
    kind = hook.get("type")
    if kind not in handler_types:
        errors.append(
            f"'{where}.type' is {json.dumps(kind)}, not one of {', '.join(handler_types)}"
        )
    if kind == "command" and not isinstance(hook.get("command"), str):
        errors.append(f"'{where}.command' is missing or not a string")
    timeout = hook.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        errors.append(f"'{where}.timeout' is not a positive number")
    return errors


def grouped_entries(
    data: dict[str, Any], path: Path, scope: str, *, timeout_unit_s: float = 1.0
) -> list[Entry]:
    """Every Interlock handler in a Claude-style ``hooks`` object, under any event name.

    A handler whose ``type`` is not ``command`` is not run as a command by any agent (Gemini
    discards it on its own; Claude Code and Codex reject the file), so it does not count.
    """
    hooks = data.get("hooks")
    found: list[Entry] = []
    if not isinstance(hooks, dict):
        return found
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            continue
        for g, group in enumerate(groups):
            if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
                continue
            matcher = group.get("matcher")
            for h, hook in enumerate(group["hooks"]):
                if not isinstance(hook, dict) or hook.get("type") != "command":
                    continue
                target = interlock_target(hook.get("command"))
                if target is None:
                    continue
                timeout = hook.get("timeout")
                found.append(
                    Entry(
                        path=path,
                        scope=scope,
                        event=event,
                        command=hook["command"],
                        target=target,
                        matcher=matcher if isinstance(matcher, str) else None,
                        timeout_s=timeout * timeout_unit_s
                        if isinstance(timeout, int | float) and not isinstance(timeout, bool)
                        else None,
                        group=g,
                        index=h,
                    )
                )
    return found


_SIMPLE = re.compile(r"[A-Za-z0-9_|]+")


def covers(matcher: str | None, tool: str) -> bool:
    """Whether a hook matcher selects ``tool``, as Claude Code, Codex and Gemini read it.

    No matcher, ``""`` or ``*``: every tool. Letters, digits and ``|`` only: an exact list of
    names. Anything else: a regular expression over the tool name (an invalid one matches
    nothing). This is a match over a tool's name, not over a command.
    """
    if matcher is None or matcher in ("", "*"):
        return True
    if _SIMPLE.fullmatch(matcher):
        return tool in matcher.split("|")
    try:
        return re.search(matcher, tool) is not None
    except re.error:
        return False


def coverage_check(agent: str, entries: list[Entry], required: tuple[str, ...]) -> Check:
    missing = [t for t in required if not any(covers(e.matcher, t) for e in entries)]
    matchers = sorted({e.matcher or "*" for e in entries})
    if missing:
        return problem(
            "matcher",
            f"the hook's matcher ({' ; '.join(matchers)}) does not cover {', '.join(missing)}: "
            "those tools run unchecked",
            f"{init_fix(agent)} (writes the full matcher)",
        )
    return ok("matcher", f"covers {', '.join(required)}")


def command_checks(entry: Entry, agent: str) -> list[Check]:
    """The interpreter exists, is executable, is an absolute path and can import the hook."""
    fix = init_fix(agent, user=entry.scope == "user")
    checks: list[Check] = []
    if entry.target != agent:
        checks.append(
            problem(
                "command",
                f"the hook runs Interlock's {entry.target!r} adapter; {agent} needs its own "
                "(answers are rendered per agent, and the wrong form can fail open)"
                if entry.target in AGENTS
                else f"the hook names an unknown agent {entry.target!r}",
                fix,
                entry.path,
            )
        )
    words = shlex.split(entry.command)
    program = words[0]
    if not os.path.isabs(program):
        return [
            *checks,
            problem(
                "interpreter",
                f"{program!r} is not an absolute path: it depends on the agent's PATH, and "
                "a missing program (exit 127) lets every command run",
                fix,
                entry.path,
            ),
        ]
    if not os.path.exists(program):
        return [
            *checks,
            problem(
                "interpreter",
                f"{program} does not exist (moved or deleted venv?): the agent gets exit 127 "
                "and runs the command",
                fix,
                entry.path,
            ),
        ]
    if not os.access(program, os.X_OK) or os.path.isdir(program):
        return [
            *checks,
            problem("interpreter", f"{program} is not executable", fix, entry.path),
        ]
    checks.append(ok("interpreter", f"{program} exists and is executable"))
    if words[1:3] == ["-m", "interlock.hooks"]:
        checks.append(_import_check(program, entry, fix))
    return checks


def _import_check(program: str, entry: Entry, fix: str) -> Check:
    module = "interlock.hooks." + entry.target.replace("-", "_")
    code = f"import interlock.hooks.runner, {module}"
    try:
        proc = subprocess.run(
            [program, "-c", code],
            capture_output=True,
            timeout=IMPORT_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return problem("import", f"{program} could not import the hook: {exc}", fix, entry.path)
    if proc.returncode != 0:
        last = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["?"])[-1]
        return problem(
            "import",
            f"{program} cannot import {module} ({last[:200]}): Interlock is not installed "
            "for that interpreter",
            f"install Interlock into that Python, or {fix} from the venv that has it",
            entry.path,
        )
    return ok("import", f"{program} imports {module}")
