"""Launchers: programs that start the program named next (``bundle exec``, ``docker exec``).

Split from catalog.py (STYLE.md §1). What a launcher starts is analyzed as a command of its
own, in the container's or pod's environment, so ``kubectl exec db-0 -- psql -c 'DROP TABLE
users'`` is judged like the ``psql`` it runs.
"""

from __future__ import annotations

from dataclasses import replace

from interlock.analyzers import SimpleCommand
from interlock.analyzers.catalog_match import env_name
from interlock.analyzers.catalog_model import Launcher, Source
from interlock.decisions import Finding

__all__ = ["launched", "unwrap_launcher"]


def launched(cmd: SimpleCommand, catalog: Source) -> list[Finding]:
    """Findings for what a launcher starts, analyzed as a whole command of its own.

    The program started may be anything the shell analyzer understands (``kubectl exec db-0 --
    psql -c 'DROP TABLE users'``, ``uv run python -c …``), so it goes back through
    :func:`interlock.analyzers.commands.analyze_command`, one level deeper.
    """
    from interlock.analyzers.commands import analyze_command

    findings: list[Finding] = []
    for launcher in catalog.launchers_for(cmd.name):
        inner, environment, host = unwrap_launcher(launcher, cmd.argv[1:])
        if not inner:
            continue
        policy = cmd.scope.policy
        named = env_name(environment or "", policy) or env_name(host or "", policy)
        scope = replace(
            cmd.scope,
            depth=cmd.scope.depth + 1,
            environment=named or cmd.scope.environment,
            # Inside a container or pod, relative paths mean nothing here (like ssh).
            remote=host if host is not None else cmd.scope.remote,
            cwd=None if host is not None else cmd.scope.cwd,
        )
        nested = replace(cmd, argv=inner, via=(*cmd.via, cmd.name), scope=scope)
        findings += analyze_command(nested)  # bounded: it asks beyond its nesting limit
        if any(x.interpreter for x in catalog.launchers_for(nested.name)):
            findings += launched(nested, catalog)  # `uv run python manage.py flush`
    return findings


def unwrap_launcher(
    launcher: Launcher, args: tuple[str, ...]
) -> tuple[tuple[str, ...], str | None, str | None]:
    """``bundle exec rake db:drop`` -> ``rake db:drop``; empty when nothing is launched.

    Also returns the value of the launcher's environment option (``kubectl --context prod``)
    and the container or pod the program runs in (``docker exec db psql``), if any.
    """
    index, skipped = 0, False
    environment: str | None = None
    dropped: list[str] = []
    while index < len(args):
        word = args[index]
        if word == "--":
            if launcher.required and not skipped:
                return (), environment, None
            return args[index + 1 :], environment, (dropped[0] if dropped else None)
        if word.startswith("-") and len(word) > 1:
            name, equals, value = word.partition("=")
            if name in launcher.command_options:
                module = value if equals else (args[index + 1] if index + 1 < len(args) else "")
                rest = args[index + (1 if equals else 2) :]
                return ((module, *rest) if module else ()), environment, None
            takes = name in launcher.value_options or name in launcher.env_options
            if takes and not equals and index + 1 < len(args):
                value = args[index + 1]
            if name in launcher.env_options:
                environment = value
            index += 2 if takes and not equals else 1
            continue
        if not skipped and word in launcher.skip:
            skipped = True
            index += 1
            continue
        if launcher.required and not skipped:
            return (), environment, None
        if len(dropped) < launcher.positionals:
            dropped.append(word)
            index += 1
            continue
        return args[index:], environment, (dropped[0] if dropped else None)
    return (), environment, None
