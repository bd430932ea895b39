"""What the four agent adapters share: payload shape checks, the hook's result, messages.

Payloads are untrusted input (issue #2 item 5): every field the adapters use is checked by hand
here, without pydantic, because this module is on the hook's hot path (standard library only).
A payload of the wrong shape raises :class:`~interlock.errors.HookInputError`, which the runner
turns into a deny: all three CLIs fail open on anything but a block (realclients.md, "Ways the
hook does NOT protect"), so an adapter must never guess.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from interlock.actions import Action, Actor, ShellAction, ToolCallAction, ToolOperation
from interlock.decisions import Verdict
from interlock.errors import HookInputError

Payload = Mapping[str, Any]


@dataclass(frozen=True)
class Call:
    """One hook invocation, understood: where it runs, who sent it, what it would do."""

    cwd: str
    actor: Actor
    actions: tuple[Action, ...]
    permission_mode: str | None = None
    """Claude Code's permission mode; ``auto`` ignores a hook's ask (#89561)."""
    event: str = ""
    reason: str = ""
    """The agent's own stated reason for the call (Claude's ``description``), for the card."""


@dataclass(frozen=True)
class HookResult:
    """What the runner decided for one call, before an agent's renderer shapes it."""

    verdict: Verdict
    message: str
    """What would happen and why, one sentence per reason."""
    rule: str
    operations: tuple[str, ...] = ()
    command: str | None = None
    """The shell command, when there was exactly one, for the `policy explain` hint."""
    failure: bool = False
    """True when the hook itself could not decide (bad input, internal error): fail closed."""
    event: str = ""
    permission_mode: str | None = None
    requests: tuple[tuple[str, str], ...] = ()
    """(request id, card URL) of each approval request this call now waits on."""


@dataclass(frozen=True)
class Rendered:
    """Exactly what the hook process emits: exit status, stdout and stderr."""

    exit_code: int
    stdout: str = ""
    stderr: str = ""


# --- shape checks ------------------------------------------------------------------------


def require_str(obj: Payload, key: str, where: str = "payload") -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        got = "missing" if value is None else type(value).__name__
        raise HookInputError(f"{where}.{key} must be a string (got {got})")
    return value


def optional_str(obj: Payload, key: str, where: str = "payload") -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HookInputError(f"{where}.{key} must be a string (got {type(value).__name__})")
    return value


def require_obj(obj: Payload, key: str, where: str = "payload") -> Mapping[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        got = "missing" if value is None else type(value).__name__
        raise HookInputError(f"{where}.{key} must be an object (got {got})")
    return value


def require_event(obj: Payload, expected: tuple[str, ...]) -> str:
    event = require_str(obj, "hook_event_name")
    if event not in expected:
        raise HookInputError(
            f"hook_event_name {event!r} is not one Interlock handles here "
            f"(expected {' or '.join(expected)}); check the hook configuration"
        )
    return event


ToolActions = Callable[[str, Mapping[str, Any], str, Actor], list[Action]]


def tool_call(
    payload: Payload, agent: str, events: tuple[str, ...], tool_actions: ToolActions
) -> Call:
    """The Call of a tool-use payload (``tool_name`` + ``tool_input``): Claude, Codex, Gemini."""
    event = require_event(payload, events)
    tool = require_str(payload, "tool_name")
    tool_input = require_obj(payload, "tool_input")
    cwd = payload_cwd(payload)
    actor = Actor(agent=agent, session=optional_str(payload, "session_id"))
    return Call(
        cwd=cwd,
        actor=actor,
        actions=tuple(tool_actions(tool, tool_input, cwd, actor)),
        permission_mode=optional_str(payload, "permission_mode"),
        event=event,
        reason=stated_reason(tool_input),
    )


REASON_KEYS = ("description", "justification")
"""Where agents put their own reason: Claude Code and Gemini ``description``, Codex's
escalation ``justification``."""
MAX_REASON = 500


def stated_reason(tool_input: Mapping[str, Any]) -> str:
    """The agent's own words on why it makes this call; "" when it gave none."""
    for key in REASON_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_REASON]
    return ""


def payload_cwd(obj: Payload) -> str:
    cwd = optional_str(obj, "cwd")
    if cwd and os.path.isabs(cwd):
        return cwd
    return os.getcwd()


def absolute(path: str, cwd: str) -> str:
    """A tool's path as an absolute, lexically normalised path (``~`` expanded)."""
    if not path:
        raise HookInputError("a file path is empty")
    expanded = os.path.expanduser(path)
    return os.path.normpath(os.path.join(cwd, expanded))


def shell_command(tool_input: Mapping[str, Any], keys: tuple[str, ...] = ("command",)) -> str:
    """The command a shell tool runs: a string, or an argv list joined with shlex.join."""
    for key in keys:
        value = tool_input.get(key)
        if isinstance(value, str):
            if not value.strip():
                raise HookInputError(f"tool_input.{key} is empty")
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return shlex.join(value)
        if value is not None:
            raise HookInputError(f"tool_input.{key} must be a string or a list of strings")
    raise HookInputError(f"tool_input has no {' or '.join(keys)}")


# --- tools shared by Claude Code and Codex (Codex copies Claude's hook protocol) -----------

FILE_TOOLS: dict[str, tuple[ToolOperation, tuple[str, ...]]] = {
    "Read": ("read", ("file_path",)),
    "Write": ("write", ("file_path",)),
    "Edit": ("write", ("file_path",)),
    "MultiEdit": ("write", ("file_path",)),
    "NotebookEdit": ("write", ("notebook_path", "file_path")),
    "Glob": ("read", ("path",)),
    "Grep": ("read", ("path",)),
}
"""tool -> (operation, keys holding its path). Glob and Grep count only when given a path."""

OPTIONAL_PATH = frozenset({"Glob", "Grep"})


def file_action(tool: str, operation: ToolOperation, path: str, cwd: str, actor: Actor) -> Action:
    # File contents (Write.content, Edit.old_string/new_string) are deliberately not carried:
    # they can hold secrets and the decision is about which file, not what goes in it.
    return ToolCallAction(
        tool=tool,
        operation=operation,
        path=absolute(path, cwd),
        cwd=cwd,
        actor=actor,
        env=action_env(),
    )


def mcp_action(tool: str, arguments: Mapping[str, Any], cwd: str, actor: Actor) -> Action:
    return ToolCallAction(
        tool=tool,
        operation="call",
        arguments=dict(arguments),
        cwd=cwd,
        actor=actor,
        env=action_env(),
    )


def shell_action(command: str, cwd: str, actor: Actor) -> Action:
    return ShellAction(command=command, cwd=cwd, actor=actor, env=action_env())


def action_env() -> str | None:
    """INTERLOCK_ENV names the environment an agent session works on; unset = policy default."""
    return os.environ.get("INTERLOCK_ENV") or None


def claude_style_actions(
    tool: str, tool_input: Mapping[str, Any], cwd: str, actor: Actor
) -> list[Action] | None:
    """Actions for Claude-named file tools and ``mcp__server__tool``; None when not one of them."""
    if tool in FILE_TOOLS:
        operation, keys = FILE_TOOLS[tool]
        for key in keys:
            path = optional_str(tool_input, key, "tool_input")
            if path:
                return [file_action(tool, operation, path, cwd, actor)]
        if tool in OPTIONAL_PATH:
            return []  # searching the working directory itself
        raise HookInputError(f"{tool}: tool_input has no {' or '.join(keys)}")
    if tool.startswith("mcp__"):
        return [mcp_action(tool, tool_input, cwd, actor)]
    return None
