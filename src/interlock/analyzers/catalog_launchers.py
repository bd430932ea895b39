"""Launchers: programs that start the program named next (``bundle exec``, ``docker exec``).

Split from catalog.py (STYLE.md §1). What a launcher starts is analyzed as a command of its
own, in the container's or pod's environment, so ``kubectl exec db-0 -- psql -c 'DROP TABLE
users'`` is judged like the ``psql`` it runs. The same holds for runners that inject secrets
(``doppler run -- …``, ``aws-vault exec prod -- …``) and for platforms that run a command on
their servers (``heroku run …``, ``fly ssh console -C …``): a command that runs another command
is judged by the inner one.
"""

from __future__ import annotations

from dataclasses import dataclass

from interlock.analyzers import SimpleCommand
from interlock.analyzers.catalog_match import env_name
from interlock.analyzers.catalog_model import Launcher, Source
from interlock.decisions import Finding
from interlock.frozen import replace

__all__ = ["Launch", "launched", "unwrap_launcher"]


@dataclass(frozen=True)
class Launch:
    """What one launcher starts."""

    argv: tuple[str, ...] = ()
    script: str | None = None
    """A shell string to parse again (``heroku run 'rm -rf x'``, ``doppler run --command …``)."""
    environment: str | None = None
    """The value of an environment option, or an ``environment`` positional (a profile)."""
    host: str | None = None
    """The container, pod or server the program runs on, when it is not this machine."""


def launched(cmd: SimpleCommand, catalog: Source) -> list[Finding]:
    """Findings for what a launcher starts, analyzed as a whole command of its own.

    The program started may be anything the shell analyzer understands (``kubectl exec db-0 --
    psql -c 'DROP TABLE users'``, ``uv run python -c …``), so it goes back through
    :func:`interlock.analyzers.commands.analyze_command`, one level deeper.
    """
    launchers = catalog.launchers_for(cmd.name)
    if not launchers:
        return []
    # Imported here: commands imports catalog, which imports this module.
    from interlock.analyzers import commands, shell

    findings: list[Finding] = []
    for launcher in launchers:
        launch = unwrap_launcher(launcher, cmd.argv[1:])
        if not launch.argv and launch.script is None:
            continue
        policy = cmd.scope.policy
        named = env_name(launch.environment or "", policy) or env_name(launch.host or "", policy)
        if named is None and launcher.production and cmd.scope.environment is None:
            # Heroku dynos, Fly machines, cloud VMs: what an agent reaches there is usually
            # production, so a destructive command there is judged as production's.
            named = policy.production[0] if policy.production else "production"
        remote = launch.host is not None or launcher.production
        scope = replace(
            cmd.scope,
            depth=cmd.scope.depth + 1,
            environment=named or cmd.scope.environment,
            # Inside a container, pod or server, relative paths mean nothing here (like ssh).
            remote=(launch.host or cmd.name) if remote else cmd.scope.remote,
            cwd=None if remote else cmd.scope.cwd,
        )
        if launch.script is not None:
            outer = replace(scope, depth=cmd.scope.depth)
            findings += shell.analyze_nested(launch.script, outer, scope.cwd)
            continue
        assignments = cmd.assignments
        if launcher.exports and launch.environment:
            # `aws-vault exec staging -- aws s3 rb …`: the inner aws runs with that profile.
            assignments = (*assignments, (launcher.exports, launch.environment))
        nested = replace(
            cmd, argv=launch.argv, via=(*cmd.via, cmd.name), scope=scope, assignments=assignments
        )
        findings += commands.analyze_command(nested)  # bounded: it asks beyond its nesting limit
        if any(x.interpreter for x in catalog.launchers_for(nested.name)):
            findings += launched(nested, catalog)  # `uv run python manage.py flush`
    return findings


def unwrap_launcher(launcher: Launcher, args: tuple[str, ...]) -> Launch:
    """``bundle exec rake db:drop`` -> ``rake db:drop``; empty when nothing is launched.

    Also gives the value of the launcher's environment option (``kubectl --context prod``)
    and the container or pod the program runs in (``docker exec db psql``), if any. A skip
    entry may be several words (``compose exec``), with options between them.
    """
    index, matched = 0, 0
    candidates = launcher.skip_words
    environment: str | None = None
    dropped: list[str] = []

    def skipped() -> bool:
        return matched > 0 and any(len(s) == matched for s in candidates)

    while index < len(args):
        word = args[index]
        if word == "--":
            if launcher.required and not skipped():
                return Launch(environment=environment)
            return _launch(launcher, args[index + 1 :], environment, dropped)
        if word.startswith("-") and len(word) > 1:
            name, equals, value = word.partition("=")
            if name in launcher.command_options or name in launcher.script_options:
                if launcher.required and not skipped():
                    return Launch(environment=environment)
                module = value if equals else (args[index + 1] if index + 1 < len(args) else "")
                rest = args[index + (1 if equals else 2) :]
                if name in launcher.script_options:
                    return replace(_launch(launcher, (), environment, dropped), script=module)
                return Launch(argv=(module, *rest) if module else (), environment=environment)
            takes = name in launcher.value_options or name in launcher.env_options
            if takes and not equals and index + 1 < len(args):
                value = args[index + 1]
            if name in launcher.env_options:
                environment = value
            index += 2 if takes and not equals else 1
            continue
        if not skipped():
            following = [s for s in candidates if len(s) > matched and s[matched] == word]
            if following:
                candidates, matched = following, matched + 1
                index += 1
                continue
            if launcher.required or matched:
                return Launch(environment=environment)
        if len(dropped) < launcher.positionals:
            dropped.append(word)
            index += 1
            continue
        return _launch(launcher, args[index:], environment, dropped)
    return Launch(environment=environment)


def _launch(
    launcher: Launcher, words: tuple[str, ...], environment: str | None, dropped: list[str]
) -> Launch:
    host = dropped[0] if dropped and launcher.positional_is == "host" else None
    if dropped and launcher.positional_is == "environment" and environment is None:
        environment = dropped[0]
    if launcher.script:
        script = " ".join(words) if words else None
        return Launch(script=script, environment=environment, host=host)
    return Launch(argv=words, environment=environment, host=host)
