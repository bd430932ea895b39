"""Codex CLI's PreToolUse hook (peers.md §c; realclients.md §2, Codex 0.169.0).

Codex copied Claude Code's protocol: the same input (``tool_name`` "Bash" with
``tool_input.command``; newer builds also send ``exec_command``, ``apply_patch`` and
``mcp__server__tool``) and the same output shapes. But Codex cannot ask from a hook: a JSON
``ask`` is ignored and the command runs (measured). So ``ask`` is a block whose message says
what a person must do, and every block is exit 2 with the reason on stderr.

``apply_patch`` was once skipped by Codex's hooks (openai/codex#16732, #26733); when it does
arrive, each ``*** Add/Update/Delete File:`` (and ``*** Move to:``) line is one write action, so
a patch that touches ``~/.ssh/config`` is judged like a write to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from interlock.actions import Action, Actor, ToolCallAction
from interlock.errors import HookInputError
from interlock.hooks.common import (
    Call,
    HookResult,
    Payload,
    Rendered,
    absolute,
    action_env,
    claude_style_actions,
    shell_action,
    shell_command,
    tool_call,
)
from interlock.hooks.messages import exit2_render

AGENT = "codex"
MATCHER = "Bash|exec_command|shell|local_shell|apply_patch|Read|Write|Edit|mcp__.*"
SHELL_TOOLS = frozenset({"Bash", "exec_command", "shell", "local_shell"})
PATCH_TOOLS = frozenset({"apply_patch"})
_PATCH_HEADERS = {
    "*** Add File: ": "add",
    "*** Update File: ": "update",
    "*** Delete File: ": "delete",
    "*** Move to: ": "move",
}


def parse(payload: Payload) -> Call:
    return tool_call(payload, AGENT, ("PreToolUse",), tool_actions)


def tool_actions(tool: str, tool_input: Mapping[str, Any], cwd: str, actor: Actor) -> list[Action]:
    if tool in SHELL_TOOLS:
        workdir = tool_input.get("workdir")
        here = absolute(workdir, cwd) if isinstance(workdir, str) and workdir else cwd
        command = shell_command(tool_input, ("command", "cmd"))
        # exec_command sometimes arrives as ["apply_patch", "<patch>"]: judge it as the patch.
        raw = tool_input.get("command")
        if isinstance(raw, list) and raw and raw[0] == "apply_patch":
            return patch_actions("\n".join(raw[1:]), here, actor)
        return [shell_action(command, here, actor)]
    if tool in PATCH_TOOLS:
        return patch_actions(patch_text(tool_input), cwd, actor)
    found = claude_style_actions(tool, tool_input, cwd, actor)
    return found if found is not None else []


def patch_text(tool_input: Mapping[str, Any]) -> str:
    for key in ("input", "patch", "command"):
        value = tool_input.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "\n".join(v for v in value if v != "apply_patch")
    raise HookInputError("apply_patch: tool_input has no patch text (input, patch or command)")


def patch_files(text: str) -> list[tuple[str, str]]:
    """(change, path) for every file a patch in Codex's ``*** Begin Patch`` format touches."""
    found: list[tuple[str, str]] = []
    for line in text.splitlines():
        for header, change in _PATCH_HEADERS.items():
            if line.startswith(header):
                path = line[len(header) :].strip()
                if path:
                    found.append((change, path))
    return found


def patch_actions(text: str, cwd: str, actor: Actor) -> list[Action]:
    files = patch_files(text)
    if not files:
        raise HookInputError("apply_patch: the patch names no file (no '*** Update File:' line)")
    return [
        ToolCallAction(
            tool="apply_patch",
            operation="write",
            path=absolute(path, cwd),
            arguments={"change": change},
            cwd=cwd,
            actor=actor,
            env=action_env(),
        )
        for change, path in files
    ]


def render(result: HookResult) -> Rendered:
    rendered = exit2_render(result, "Codex")
    # Codex hands the model "Command blocked by PreToolUse hook: <stderr>. Command: <cmd>":
    # without our final period the model reads one, not "why.. Command" (seen end to end).
    if rendered.stderr.endswith(".\n"):
        return Rendered(rendered.exit_code, rendered.stdout, rendered.stderr[:-2] + "\n")
    return rendered
