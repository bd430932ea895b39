"""Claude Code's PreToolUse hook (peers.md §c, realclients.md §1).

Input: ``session_id``, ``cwd``, ``permission_mode``, ``hook_event_name: "PreToolUse"``,
``tool_name`` and ``tool_input``. Output, as measured in Claude Code 2.1.197:

- deny: exit 2 with the reason on stderr. Blocks in all seven permission modes.
- ask: exit 0 with ``permissionDecision: "ask"``. The TUI shows its dialog; ``-p`` blocks.
  In ``auto`` mode a hook's ask is not honoured (anthropics/claude-code#89561), so there ask
  is rendered as a block that says a person is needed.
- allow: exit 0 and no output. A JSON ``allow`` would override Claude Code's own permission
  checks, even for ``rm -rf`` outside the project, so Interlock never sends one.
"""

from __future__ import annotations

import json

from interlock.actions import Action, Actor
from interlock.decisions import Verdict
from interlock.hooks.common import (
    Call,
    HookResult,
    Payload,
    Rendered,
    claude_style_actions,
    shell_action,
    shell_command,
    tool_call,
)
from interlock.hooks.messages import ask_text, deny_text, needs_person_text

AGENT = "claude-code"
MATCHER = "Bash|Read|Write|Edit|MultiEdit|NotebookEdit|Glob|Grep|mcp__.*"
SHELL_TOOLS = frozenset({"Bash"})
NO_ASK_MODES = frozenset({"auto"})


def parse(payload: Payload) -> Call:
    return tool_call(payload, AGENT, ("PreToolUse",), tool_actions)


def tool_actions(tool: str, tool_input: Payload, cwd: str, actor: Actor) -> list[Action]:
    if tool in SHELL_TOOLS:
        return [shell_action(shell_command(tool_input), cwd, actor)]
    found = claude_style_actions(tool, tool_input, cwd, actor)
    # Any other tool (WebFetch, Task, TodoWrite …) carries no risk a hook can see: allow.
    return found if found is not None else []


def render(result: HookResult) -> Rendered:
    if result.verdict is Verdict.ALLOW:
        return Rendered(0)
    if result.verdict is Verdict.ASK and not result.failure:
        if result.permission_mode in NO_ASK_MODES:
            return Rendered(2, stderr=needs_person_text(result, "Claude Code in auto mode") + "\n")
        body = {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "ask",
                "permissionDecisionReason": ask_text(result),
            }
        }
        return Rendered(0, stdout=json.dumps(body, ensure_ascii=False) + "\n")
    return Rendered(2, stderr=deny_text(result) + "\n")
