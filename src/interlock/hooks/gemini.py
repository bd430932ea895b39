"""Gemini CLI's BeforeTool hook (peers.md §c; realclients.md §3, Gemini CLI 0.61.0).

Input: ``hook_event_name: "BeforeTool"``, ``session_id``, ``cwd``, ``tool_name``
(``run_shell_command``, ``read_file``, ``read_many_files``, ``write_file``, ``replace``,
``mcp__server__tool``) and ``tool_input``. Gemini ignores Claude-style JSON (measured: the
command runs) and a ``{"decision":"ask"}`` hangs ``-p`` mode, and hooks cannot ask at all
(google-gemini/gemini-cli#17872). So: allow is exit 0 with no output, and deny and ask are
exit 2 with the reason on stderr, which Gemini hands to the model as "Tool execution blocked".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from interlock.actions import Action, Actor
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
    shell_action,
    shell_command,
    tool_call,
)
from interlock.hooks.messages import exit2_render

AGENT = "gemini"
MATCHER = "run_shell_command|read_file|read_many_files|write_file|replace|mcp__.*"
_PATH_KEYS = ("file_path", "absolute_path", "path")


def parse(payload: Payload) -> Call:
    return tool_call(payload, AGENT, ("BeforeTool",), tool_actions)


def tool_actions(tool: str, tool_input: Mapping[str, Any], cwd: str, actor: Actor) -> list[Action]:
    if tool == "run_shell_command":
        folder = tool_input.get("dir_path") or tool_input.get("directory")
        here = absolute(folder, cwd) if isinstance(folder, str) and folder else cwd
        return [shell_action(shell_command(tool_input), here, actor)]
    if tool == "read_file":
        return [file_action(tool, "read", _path(tool, tool_input), cwd, actor)]
    if tool in ("write_file", "replace"):
        return [file_action(tool, "write", _path(tool, tool_input), cwd, actor)]
    if tool == "read_many_files":
        paths = tool_input.get("paths", tool_input.get("include"))
        if not (isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths)):
            raise HookInputError("read_many_files: tool_input.paths must be a list of strings")
        return [file_action(tool, "read", p, cwd, actor) for p in paths]
    if tool.startswith("mcp__"):
        return [mcp_action(tool, tool_input, cwd, actor)]
    # glob, list_directory, web_fetch, save_memory …: nothing a hook can judge, allow.
    return []


def _path(tool: str, tool_input: Mapping[str, Any]) -> str:
    for key in _PATH_KEYS:
        value = optional_str(tool_input, key, "tool_input")
        if value:
            return value
    raise HookInputError(f"{tool}: tool_input has no {' or '.join(_PATH_KEYS)}")


def render(result: HookResult) -> Rendered:
    return exit2_render(result, "Gemini CLI")
