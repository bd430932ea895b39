"""Agent hooks: one adapter per agent CLI, one runner, one decision point.

``python -m interlock.hooks <agent>`` (agent = claude-code, cursor, codex or gemini) is the
command `interlock init` installs into each agent's settings. Each adapter turns that agent's
payload into actions and renders the decision in the form that agent honours (docs/hooks.md).
Nothing here imports click or any other third-party package: the hook runs on every tool call,
so its start-up time is the user's latency (issue #2 item 9: within 20 ms of bare Python).
"""

from __future__ import annotations

AGENTS = ("claude-code", "cursor", "codex", "gemini")
