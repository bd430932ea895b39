"""Where each agent keeps its hooks, and how Interlock's entry is added to and removed from them.

Used by `interlock init` (interlock.installer), never by the hook process itself. Shapes, as
measured or documented (peers.md §c, realclients.md):

- Claude Code ``settings.json`` and Codex ``hooks.json``:
  ``hooks.PreToolUse[{matcher, hooks:[{type:"command", command, timeout}]}]``, timeout in s.
- Gemini CLI ``settings.json``: ``hooks.BeforeTool[…]``, same shape, timeout in **ms**.
- Cursor ``hooks.json``: ``{"version":1, "hooks":{event:[{command, failClosed:true}]}}``.
  ``failClosed`` makes a crash or timeout block instead of allow; no ``timeout`` is written
  because sources disagree on its unit (seconds or ms) and a 30 ms budget would block all work.

An entry is Interlock's when its command ends in ``-m interlock.hooks <agent>``, whatever the
interpreter path, so a moved venv is updated in place instead of installed twice.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interlock.errors import SetupError
from interlock.hooks import claude_code, codex, cursor, gemini

HOOK_TIMEOUT_S = 30
"""Above the runner's own 20 s deadline, so the hook answers (deny) before it is killed."""


@dataclass(frozen=True)
class HookSpec:
    agent: str
    events: tuple[str, ...]
    grouped: bool
    """Claude-style ``{matcher, hooks:[…]}`` groups (True) or Cursor's flat entries (False)."""
    matcher: str | None = None
    timeout: int | None = None

    def entry(self, command: str) -> dict[str, Any]:
        if not self.grouped:
            return {"command": command, "failClosed": True}
        hook: dict[str, Any] = {"type": "command", "command": command}
        if self.timeout is not None:
            hook["timeout"] = self.timeout
        return {"matcher": self.matcher, "hooks": [hook]}


HOOK_SPECS = {
    "claude-code": HookSpec(
        "claude-code", ("PreToolUse",), True, claude_code.MATCHER, HOOK_TIMEOUT_S
    ),
    "codex": HookSpec("codex", ("PreToolUse",), True, codex.MATCHER, HOOK_TIMEOUT_S),
    "gemini": HookSpec("gemini", ("BeforeTool",), True, gemini.MATCHER, HOOK_TIMEOUT_S * 1000),
    "cursor": HookSpec("cursor", cursor.INSTALLED_EVENTS, False),
}


def is_ours(command: object, agent: str) -> bool:
    if not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return words[-3:] == ["-m", "interlock.hooks", agent]


def _event_list(spec: HookSpec, data: dict[str, Any], event: str, path: Path) -> list[Any]:
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise SetupError(f"{path}: 'hooks' is not an object; nothing was changed")
    entries = hooks.setdefault(event, [])
    if not isinstance(entries, list):
        raise SetupError(f"{path}: 'hooks.{event}' is not a list; nothing was changed")
    return entries


def _our_hooks(spec: HookSpec, entries: list[Any]) -> list[dict[str, Any]]:
    """Interlock's hook dicts inside an event's list (inner hooks for grouped shapes)."""
    found: list[dict[str, Any]] = []
    for item in entries:
        if not isinstance(item, dict):
            continue
        inner = item.get("hooks") if spec.grouped else [item]
        if isinstance(inner, list):
            found.extend(
                h for h in inner if isinstance(h, dict) and is_ours(h.get("command"), spec.agent)
            )
    return found


def merge_hook(spec: HookSpec, data: dict[str, Any], command: str, path: Path) -> str:
    """Add (or update) Interlock's entry in ``data``; 'added', 'updated' or 'already installed'."""
    if not spec.grouped and "version" not in data:
        data["version"] = 1
    outcome = "already installed"
    for event in spec.events:
        entries = _event_list(spec, data, event, path)
        ours = _our_hooks(spec, entries)
        if not ours:
            entries.append(spec.entry(command))
            outcome = "added"
        for hook in ours:
            if hook.get("command") != command:
                hook["command"] = command
                outcome = "updated" if outcome != "added" else outcome
            if not spec.grouped and hook.get("failClosed") is not True:
                hook["failClosed"] = True
                outcome = "updated" if outcome != "added" else outcome
    return outcome


def remove_hook(spec: HookSpec, data: dict[str, Any]) -> int:
    """Remove Interlock's entries (and the containers left empty by it); how many were removed."""
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return 0
    removed = 0
    for event in spec.events:
        entries = hooks.get(event)
        if not isinstance(entries, list):
            continue
        kept = []
        before = removed
        for item in entries:
            if not isinstance(item, dict):
                kept.append(item)
            elif not spec.grouped:
                if is_ours(item.get("command"), spec.agent):
                    removed += 1
                else:
                    kept.append(item)
            else:
                inner = item.get("hooks")
                if not isinstance(inner, list):
                    kept.append(item)
                    continue
                rest = [
                    h
                    for h in inner
                    if not (isinstance(h, dict) and is_ours(h.get("command"), spec.agent))
                ]
                removed += len(inner) - len(rest)
                if rest or len(inner) == len(rest):
                    kept.append({**item, "hooks": rest})
        if kept:
            hooks[event] = kept
        elif removed > before:
            del hooks[event]
    if removed and not hooks:
        del data["hooks"]
    return removed
