"""Cursor's agent hooks (peers.md §c; cursor.com/docs/hooks as cited there).

Events handled: ``beforeShellExecution`` (``command``, ``cwd``), ``beforeReadFile``
(``file_path``; its ``content`` is ignored and never logged), ``beforeMCPExecution``
(``tool_name``, ``tool_input`` as an object or a JSON string) and the newer ``preToolUse``
(``tool_name``, ``tool_input``). All carry ``conversation_id`` and ``workspace_roots``.

Output is ``{"permission": "allow|deny|ask", "user_message", "agent_message"}`` on stdout.
Cursor reads exit 0 as "use the JSON" and exit 2 as a block; any other code, a crash or a
timeout lets the action run unless the hook entry says ``"failClosed": true`` (which
`interlock init` sets). A deny is therefore both: the JSON and exit 2. ``beforeReadFile``
answers with a permission only and documents no ask, so there an ask becomes a deny that
says a person is needed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from interlock.actions import Action, Actor, ToolOperation
from interlock.decisions import Verdict
from interlock.errors import HookInputError
from interlock.hooks.common import (
    Call,
    HookResult,
    Payload,
    Rendered,
    absolute,
    file_action,
    mcp_action,
    optional_str,
    require_event,
    require_str,
    shell_action,
    shell_command,
    stated_reason,
)
from interlock.hooks.messages import ask_text, deny_text, needs_person_text

AGENT = "cursor"
EVENTS = ("beforeShellExecution", "beforeReadFile", "beforeMCPExecution", "preToolUse")
INSTALLED_EVENTS = ("beforeShellExecution", "beforeReadFile", "beforeMCPExecution")
_FILE_TOOLS = {"Read": "read", "Write": "write", "Edit": "write", "Delete": "write"}
_PATH_KEYS = ("file_path", "path", "target_file")


def parse(payload: Payload) -> Call:
    event = require_event(payload, EVENTS)
    cwd = _cwd(payload)
    actor = Actor(agent=AGENT, session=optional_str(payload, "conversation_id"))
    actions: list[Action]
    if event == "beforeShellExecution":
        actions = [shell_action(require_str(payload, "command"), cwd, actor)]
    elif event == "beforeReadFile":
        actions = [file_action("read_file", "read", require_str(payload, "file_path"), cwd, actor)]
    elif event == "beforeMCPExecution":
        tool = require_str(payload, "tool_name")
        actions = [mcp_action(f"mcp__{tool}", _mcp_arguments(payload), cwd, actor)]
    else:
        actions = _pre_tool_use(payload, cwd, actor)
    tool_input = payload.get("tool_input")
    reason = stated_reason(tool_input) if isinstance(tool_input, dict) else ""
    return Call(cwd=cwd, actor=actor, actions=tuple(actions), event=event, reason=reason)


def _cwd(payload: Payload) -> str:
    cwd = optional_str(payload, "cwd")
    if cwd:
        return cwd
    roots = payload.get("workspace_roots")
    if isinstance(roots, list) and roots and isinstance(roots[0], str) and roots[0]:
        return roots[0]
    return os.getcwd()


def _mcp_arguments(payload: Payload) -> Mapping[str, Any]:
    raw = payload.get("tool_input", {})
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return {"input": raw}
    if not isinstance(raw, dict):
        raise HookInputError("beforeMCPExecution: tool_input must be an object or a JSON string")
    return raw


def _pre_tool_use(payload: Payload, cwd: str, actor: Actor) -> list[Action]:
    tool = require_str(payload, "tool_name")
    tool_input = payload.get("tool_input")
    if not isinstance(tool_input, dict):
        raise HookInputError("preToolUse: tool_input must be an object")
    if tool == "Shell":
        folder = tool_input.get("cwd")
        here = absolute(folder, cwd) if isinstance(folder, str) and folder else cwd
        return [shell_action(shell_command(tool_input), here, actor)]
    if tool in _FILE_TOOLS:
        for key in _PATH_KEYS:
            path = optional_str(tool_input, key, "tool_input")
            if path:
                operation: ToolOperation = "read" if _FILE_TOOLS[tool] == "read" else "write"
                return [file_action(tool, operation, path, cwd, actor)]
        raise HookInputError(f"preToolUse {tool}: tool_input has no {' or '.join(_PATH_KEYS)}")
    if tool.startswith(("mcp__", "MCP:")):
        return [mcp_action(tool, tool_input, cwd, actor)]
    return []


def render(result: HookResult) -> Rendered:
    if result.verdict is Verdict.ALLOW:
        return Rendered(0, stdout=json.dumps({"permission": "allow"}) + "\n")
    if result.verdict is Verdict.ASK and not result.failure:
        if result.event == "beforeReadFile":
            text = needs_person_text(result, "Cursor's file-read hook")
            return _deny(text)
        text = ask_text(result)
        body = {"permission": "ask", "user_message": text, "agent_message": text}
        return Rendered(0, stdout=json.dumps(body, ensure_ascii=False) + "\n")
    return _deny(deny_text(result))


def _deny(text: str) -> Rendered:
    body = {"permission": "deny", "user_message": text, "agent_message": text}
    return Rendered(2, stdout=json.dumps(body, ensure_ascii=False) + "\n", stderr=text + "\n")
