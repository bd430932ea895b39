"""Item 5 of issue 4: the suite notices a hook that the client silently skips.

Each case breaks the setup the way realclients.md found clients to fail open, without a word,
then runs the destructive scenario of test_agents.py. Its assertions must fail, and the target
must really be gone: if a skipped hook still passed, the suite would prove nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.e2e.clients import CLIENTS, Client, Sandbox
from tests.e2e.conftest import client_exe
from tests.e2e.test_agents import check_destructive_stopped


def schema_error(box: Sandbox) -> None:
    """Claude Code ignores a settings file with a schema error (here ``type: "cmd"``)."""
    path = box.project / ".claude" / "settings.json"
    data = json.loads(path.read_text("utf-8"))
    for group in data["hooks"]["PreToolUse"]:
        for hook in group["hooks"]:
            hook["type"] = "cmd"
    path.write_text(json.dumps(data), "utf-8")


def disable_all_hooks(box: Sandbox) -> None:
    """``disableAllHooks`` in settings.local.json switches every hook off."""
    local = box.project / ".claude" / "settings.local.json"
    local.write_text(json.dumps({"disableAllHooks": True}), "utf-8")


def nothing(box: Sandbox) -> None:
    """Codex: the hook is installed, but nobody trusted it (mode "untrusted")."""


CASES = [
    pytest.param(CLIENTS["claude-code"], "default", schema_error, id="claude-code-schema-error"),
    pytest.param(
        CLIENTS["claude-code"], "default", disable_all_hooks, id="claude-code-disableAllHooks"
    ),
    pytest.param(CLIENTS["codex"], "untrusted", nothing, id="codex-untrusted-hook"),
]


@pytest.mark.parametrize(("client", "mode", "breakage"), CASES)
def test_a_skipped_hook_makes_the_destructive_scenario_fail(
    client: Client,
    mode: str,
    breakage: Callable[[Sandbox], None],
    box: Sandbox,
    request: pytest.FixtureRequest,
) -> None:
    client_exe(client.name)
    client.install_hook(box)
    breakage(box)
    victim = box.project / "victim"
    with pytest.raises(AssertionError, match="was deleted"):
        check_destructive_stopped(client, box, mode, request.node.name)
    assert not victim.exists()
