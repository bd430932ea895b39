"""The catalog's data model: tools, rules and launchers, as read from ``catalogs/*.toml``.

Split from catalog.py (it had grown past 800 lines; STYLE.md §1). Both loaders build these
types: the validating one (:mod:`.catalog_format`) and the hook's lazy one
(:mod:`.catalog_index`); the matcher (:mod:`.catalog_match`) reads them through :class:`Source`,
so it does not care which loader ran. The glob helper lives here because every layer needs it.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from interlock.decisions import Verdict

__all__ = ["Catalog", "Launcher", "Rule", "Source", "Tool", "glob_any", "glob_test", "matcher"]


@dataclass(frozen=True)
class Tool:
    """How one program's command line is shaped."""

    id: str
    names: tuple[str, ...]
    value_options: frozenset[str] = frozenset()
    env_options: frozenset[str] = frozenset()
    env_vars: tuple[str, ...] = ()
    env_from_targets: bool = False
    style: str = "gnu"
    abbreviations: bool = False
    remote: bool = False
    """Acts on remote resources: when nothing names their environment, it is ``unknown``."""
    env_kinds: tuple[tuple[str, str], ...] = ()
    """(option or variable, kind of identifier) for :func:`interlock.environments.resolve`."""
    endpoint_options: frozenset[str] = frozenset()
    """Options whose value is the server (``--endpoint-url``, ``-H``): loopback means local."""
    endpoint_vars: tuple[str, ...] = ()
    remote_flags: frozenset[str] = frozenset()
    """Flags that make an otherwise local command act remotely (``supabase db reset --linked``)."""
    local_programs: tuple[str, ...] = ()
    """Names of the tool that always talk to this machine (``awslocal``)."""
    local_contexts: tuple[str, ...] = ()
    """Context names (globs) that are this machine (``kind-*``, ``minikube``)."""
    kubeconfig: bool = False
    """Reads the kubeconfig's current context when no option names a context."""

    def kind_of(self, name: str, default: str = "any") -> str:
        """The kind of identifier an environment option or variable carries."""
        return next((kind for key, kind in self.env_kinds if key == name), default)


@dataclass(frozen=True)
class Rule:
    """One destructive operation of one tool, with the examples that pin its meaning."""

    id: str
    tool: str
    operation: str
    summary: str
    verdict: str
    reversible: bool | None
    subcommand: tuple[tuple[bool, tuple[str, ...]], ...] = ()
    any_options: tuple[tuple[str, ...], ...] = ()
    all_options: tuple[tuple[str, ...], ...] = ()
    none_options: tuple[tuple[str, ...], ...] = ()
    option_values: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    args_any: tuple[str, ...] = ()
    args_none: tuple[str, ...] = ()
    ignore_case: bool = False
    min_args: int | None = None
    max_args: int | None = None
    skip_positionals: int = 0
    targets: str = "none"
    target_options: tuple[str, ...] = ()
    path_prefixes: tuple[str, ...] = ()
    places: frozenset[str] = frozenset()
    fallback: bool = False
    remote: bool | None = None
    """Overrides the tool's ``remote`` (``kubectl config delete-context`` edits a local file)."""
    examples: tuple[tuple[str, Verdict | None], ...] = ()
    counter_examples: tuple[str, ...] = ()
    source: str = ""

    @functools.cached_property
    def fixed_verdict(self) -> Verdict:
        return Verdict.DENY if self.verdict == "deny" else Verdict.ASK

    # The rule's pattern lists as tests, built on first use and kept with the rule: glob_any()
    # hashed the whole pattern tuple (24 branch names for a force push) on every word.

    @functools.cached_property
    def subcommand_tests(self) -> tuple[tuple[bool, Callable[[str], bool]], ...]:
        return tuple((negated, matcher(patterns)) for negated, patterns in self.subcommand)

    @functools.cached_property
    def option_value_tests(self) -> tuple[tuple[tuple[str, ...], Callable[[str], bool]], ...]:
        return tuple((names, glob_test(p, self.ignore_case)) for names, p in self.option_values)

    @functools.cached_property
    def args_any_test(self) -> Callable[[str], bool]:
        return glob_test(self.args_any, self.ignore_case)

    @functools.cached_property
    def args_none_test(self) -> Callable[[str], bool]:
        return glob_test(self.args_none, self.ignore_case)


@dataclass(frozen=True)
class Launcher:
    """A package runner that starts the program named next (``bundle exec``, ``uv run``)."""

    id: str
    names: tuple[str, ...]
    value_options: frozenset[str] = frozenset()
    command_options: frozenset[str] = frozenset()
    skip: tuple[str, ...] = ()
    required: bool = False
    """The skip word must be there (``docker exec``, not ``docker build``)."""
    positionals: int = 0
    """Positionals between the skip word and the program (the container of ``docker exec``)."""
    env_options: frozenset[str] = frozenset()
    interpreter: bool = False
    script_options: frozenset[str] = frozenset()
    """Options whose value is a whole shell string (``fly ssh console -C 'cmd'``)."""
    script: bool = False
    """The launched words are joined and parsed again as shell (``heroku run 'rm -rf x'``)."""
    positional_is: str = "host"
    """What the skipped positionals name: ``host`` (a container or pod: paths there are not
    ours), ``environment`` (``aws-vault exec prod``) or ``local`` (``direnv exec .``)."""
    production: bool = False
    """Runs on the platform's servers: production unless the command names another."""
    exports: str | None = None
    """The variable the launched program sees the environment value in (``aws-vault exec
    PROFILE``: ``AWS_PROFILE``), so its own environment look-up finds it."""

    @functools.cached_property
    def skip_words(self) -> list[tuple[str, ...]]:
        """Each skip entry split into its words (``compose exec``), once per launcher."""
        return [tuple(entry.split()) for entry in self.skip]


@dataclass(frozen=True)
class Catalog:
    tools: dict[str, Tool]
    rules: tuple[Rule, ...]
    launchers: tuple[Launcher, ...]
    by_name: dict[str, tuple[Tool, ...]]
    globbed: tuple[tuple[str, Tool], ...]
    by_tool: dict[str, tuple[Rule, ...]]

    def tools_for(self, name: str) -> tuple[Tool, ...]:
        exact = self.by_name.get(name, ())
        extra = tuple(t for p, t in self.globbed if glob_any(name, (p,)))
        return exact + extra if extra else exact

    def rules_for(self, tool: str, first: str | None = None) -> tuple[Rule, ...]:
        return self.by_tool.get(tool, ())

    def launchers_for(self, name: str) -> tuple[Launcher, ...]:
        return tuple(x for x in self.launchers if glob_any(name, x.names))

    def knows(self, name: str) -> bool:
        return bool(self.tools_for(name) or self.launchers_for(name))


class Source(Protocol):
    """What the matcher needs: the full :class:`Catalog` or the hot path's :class:`LazyCatalog`."""

    def tools_for(self, name: str) -> tuple[Tool, ...]: ...
    def rules_for(self, tool: str, first: str | None = None) -> tuple[Rule, ...]: ...
    def launchers_for(self, name: str) -> tuple[Launcher, ...]: ...
    def knows(self, name: str) -> bool:
        """Whether any tool or launcher has this name: without one, nothing matches."""
        ...


def glob_any(word: str, patterns: tuple[str, ...], ignore_case: bool = False) -> bool:
    """True when ``word`` matches any of the shell-style ``patterns``."""
    return _compiled(patterns, ignore_case)(word.lower() if ignore_case else word)


def matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """The case-sensitive test of :func:`glob_any` for ``patterns``, to keep and call often."""
    return _compiled(patterns, False)


def glob_test(patterns: tuple[str, ...], ignore_case: bool) -> Callable[[str], bool]:
    """:func:`glob_any` for ``patterns`` as one function, to keep and call often."""
    test = _compiled(patterns, ignore_case)
    if not ignore_case:
        return test
    return lambda word: test(word.lower())


@functools.lru_cache(maxsize=1024)
def _compiled(patterns: tuple[str, ...], ignore_case: bool) -> Callable[[str], bool]:
    """One matcher per pattern list: literals by set lookup, globs through one combined regex.

    Compiling a glob costs ~100 µs and the hook is a fresh process per call, so fnmatch's own
    per-pattern cache never warms up; a rule's whole list compiles once instead.
    """
    if ignore_case:
        patterns = tuple(p.lower() for p in patterns)
    literals = frozenset(p for p in patterns if not any(ch in p for ch in "*?["))
    globs = [p for p in patterns if p not in literals]
    if not globs:
        return literals.__contains__
    regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in globs))
    return lambda word: word in literals or regex.match(word) is not None
