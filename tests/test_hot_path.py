"""The shortcuts decide() takes for speed (docs/performance.md) answer as the long way does.

Each shortcut skips a call for names a module does not handle; these tests pin that the name
sets are exactly what the functions answer for, so a program added to a function without its
set is caught here, not by a command that slips through.
"""

from __future__ import annotations

import pytest

from interlock.analyzers import Scope, SimpleCommand, catalog, clients, prompts, runners
from interlock.config import Policy

SCOPE = Scope(
    policy=Policy(project_root="/home/dev/app", home="/home/dev"), cwd=None, environment=None
)

# Every name some part of the analysis dispatches on, and a few none of them know.
NAMES = sorted(
    {*runners.EMBEDDING, *runners.HANDLING, *clients.NAMES, *prompts.PROMPTED}
    | {"ls", "cat", "frobnicate", "rm", "kubectl", "mkfs.ext4", "python3.12", "bundle", ""}
)
ARGUMENTS = (
    (),
    ("-c", "rm -rf ~"),
    ("api", "graphql", "-f", "query=mutation { x }"),
    ("run", "-v", "/:/h", "img"),
    ("-e", "DROP TABLE t"),
    ("send-keys", "rm -rf ~", "Enter"),
    ("-r",),
    ("apply", "delete", "remove"),
)


def command(name: str, args: tuple[str, ...], stdin: str | None = "yes\n") -> SimpleCommand:
    return SimpleCommand(argv=(name, *args), text=name, scope=SCOPE, stdin=stdin)


@pytest.mark.parametrize("name", NAMES)
def test_knows_is_whether_any_tool_or_launcher_has_the_name(name: str) -> None:
    for source in (catalog.load(), catalog.LazyCatalog.scan(catalog.CATALOG_DIR)):
        assert source.knows(name) == bool(source.tools_for(name) or source.launchers_for(name))


@pytest.mark.parametrize("name", NAMES)
def test_name_sets_cover_every_name_the_functions_answer_for(name: str) -> None:
    def never(cmd: SimpleCommand) -> list[object]:
        raise AssertionError("no nested analysis expected")

    for args in ARGUMENTS:
        cmd = command(name, args)
        if name not in runners.EMBEDDING:
            assert runners.embedded(cmd, never) == []  # type: ignore[arg-type]
        if name not in runners.HANDLING:
            assert runners.handled(cmd, never) is None  # type: ignore[arg-type]
        if name not in clients.NAMES:
            assert clients.analyze(cmd) is None
        if name not in prompts.PROMPTED:
            assert prompts.answered(cmd) is None
