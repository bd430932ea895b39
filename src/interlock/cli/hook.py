"""`interlock hook <agent>`: the hook, run through the CLI.

The same runner as ``python -m interlock.hooks <agent>`` (what `interlock init` installs), for
people who wire hooks by hand. It pays for click's import on every call, which is why init
installs the module form. The runner never raises and exits only 0 or 2 (docs/hooks.md).
"""

from __future__ import annotations

import sys

import click


@click.command("hook")
@click.argument("agent")
def hook(agent: str) -> int:
    """Answer one agent hook call read from stdin (AGENT: claude-code, cursor, codex, gemini)."""
    from interlock.hooks.runner import emit, run

    return emit(run(agent, sys.stdin.buffer))
