"""Catalogs of destructive operations: data files, their loader, and the matcher.

Issue #2 item 3: what is destructive per tool lives in ``catalogs/*.toml`` with a ``match`` and a
``no_match`` example per rule (tests/test_catalog.py runs every one), not in chains of ``if``.
The format is documented in docs/catalogs.md. This module only knows how command lines are
shaped: options versus positionals (``--opt=value``, ``-rf`` clusters, ``--``, Go-style
``-auto-approve``), subcommands, where the environment is named (``--context prod``,
``RAILS_ENV=production``) and how paths are judged (:mod:`interlock.paths`).

Text that only mentions danger must stay allowed (peers.md §b.2: dcg#132, dcg#170): a rule
matches the parsed command line, never the raw string, so ``git commit -m 'push --force main'``
is a commit.

Two loaders: :func:`load` parses and validates every file (tests, ``interlock policy``), and
:func:`hot`, used by :func:`match`, scans the files as text once per process and parses only
the blocks a command needs, because the hook is a fresh process on every call and ``tomllib``
needs ~25 ms for the whole 100 kB. Programs started by launchers (``bundle exec``, ``uv run``,
``docker exec``, ``kubectl exec``) go back through the shell analysis as commands of their own.

Layout: the data types, the two loaders and their validation, then the matcher.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from interlock.analyzers import DYN, SimpleCommand, is_dynamic, show
from interlock.config import Policy
from interlock.decisions import Finding, Verdict
from interlock.errors import ConfigError
from interlock.paths import (
    DELETE_VERDICT,
    WRITE_VERDICT,
    Place,
    describe,
    is_credential,
    place_of,
    resolve,
)

__all__ = ["Catalog", "Launcher", "LazyCatalog", "Rule", "Tool", "hot", "load", "match"]

CATALOG_DIR = Path(__file__).parent / "catalogs"
_NAMED_ENVS = {"staging": "staging", "stage": "staging", "development": "development"}
# Public halves of credential folders: `cat ~/.ssh/id_rsa.pub` shows no secret.
_PUBLIC_FILES = ("*.pub", "known_hosts", "known_hosts.old", "authorized_keys")
_cache: Catalog | None = None
_lazy: LazyCatalog | None = None
_HELP = frozenset({"--help", "-help", "--version", "-version"})
_VERDICTS = ("ask", "deny", "by-path", "by-path:write")
_TARGETS = ("paths", "last_path", "source_paths", "args", "args_after", "none", "credentials",
            "credential_sources")  # fmt: skip
# Catalogs in this folder with another owner and format (the Terraform plan analyzer's).
_OTHER_FORMATS = frozenset({"terraform.toml"})
_PATH_TARGETS = ("paths", "last_path", "source_paths")
_STYLES = ("gnu", "go")


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
    examples: tuple[tuple[str, Verdict | None], ...] = ()
    counter_examples: tuple[str, ...] = ()
    source: str = ""

    @property
    def fixed_verdict(self) -> Verdict:
        return Verdict.DENY if self.verdict == "deny" else Verdict.ASK


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
        extra = tuple(t for p, t in self.globbed if _glob_any(name, (p,)))
        return exact + extra if extra else exact

    def rules_for(self, tool: str, first: str | None = None) -> tuple[Rule, ...]:
        return self.by_tool.get(tool, ())

    def launchers_for(self, name: str) -> tuple[Launcher, ...]:
        return tuple(x for x in self.launchers if _glob_any(name, x.names))


def load(directory: Path | None = None) -> Catalog:
    """All catalogs in ``directory`` (default: the built-in ones, parsed once per process)."""
    global _cache
    if directory is None and _cache is not None:
        return _cache
    folder = directory or CATALOG_DIR
    documents: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(folder.glob("*.toml")):
        if path.name in _OTHER_FORMATS:
            continue
        try:
            documents.append((path.name, tomllib.loads(path.read_text(encoding="utf-8"))))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"catalog {path.name} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read catalog {path}: {exc.strerror}") from None
    catalog = parse_catalog(documents)
    if directory is None:
        _cache = catalog
    return catalog


class Source(Protocol):
    """What the matcher needs: the full :class:`Catalog` or the hot path's :class:`LazyCatalog`."""

    def tools_for(self, name: str) -> tuple[Tool, ...]: ...
    def rules_for(self, tool: str, first: str | None = None) -> tuple[Rule, ...]: ...
    def launchers_for(self, name: str) -> tuple[Launcher, ...]: ...


# Block headers of the catalog files. tomllib parses ~4 µs per byte, and the catalogs are about
# 100 kB: 25 ms, more than the hook's whole budget (issue #2 item 9). The hook therefore splits
# the files at these headers (one regex pass, C speed) and parses only the blocks of the tools a
# command names. `load()` still parses and validates everything; a test checks both agree.
_HEADER = re.compile(
    r"^(?:\[tools\.([A-Za-z0-9_-]+)\]|\[launchers\.([A-Za-z0-9_-]+)\]|(\[\[rules\]\]))[ \t]*$",
    re.M,
)
_NAMES = re.compile(r"^names\s*=\s*\[([^\]]*)\]", re.M)
_TOOL_REF = re.compile(r'^tool\s*=\s*"([^"]+)"', re.M)
_SUBCOMMAND = re.compile(r"^subcommand\s*=\s*\[\s*\"([^\"]*)\"", re.M)
_QUOTED = re.compile(r'"([^"]*)"')


@dataclass
class LazyCatalog:
    """The catalogs split into blocks by a text scan, each block parsed when first needed."""

    tool_blocks: dict[str, tuple[str, str]] = field(default_factory=dict)
    rule_blocks: dict[str, list[tuple[str, str, tuple[str, ...]]]] = field(default_factory=dict)
    """tool -> (file, block, first subcommand word's patterns; empty when any word will do)."""
    launcher_blocks: list[tuple[str, str, str]] = field(default_factory=list)
    by_name: dict[str, list[str]] = field(default_factory=dict)
    globbed: list[tuple[str, str]] = field(default_factory=list)
    tools: dict[str, Tool] = field(default_factory=dict)
    parsed: dict[tuple[str, int], Rule] = field(default_factory=dict)
    launcher_names: tuple[str, ...] | None = None
    parsed_launchers: dict[int, Launcher] = field(default_factory=dict)

    @classmethod
    def scan(cls, folder: Path) -> LazyCatalog:
        lazy = cls()
        for path in sorted(folder.glob("*.toml")):
            if path.name in _OTHER_FORMATS:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read catalog {path}: {exc}") from None
            heads = list(_HEADER.finditer(text))
            for head, after in zip(heads, [*heads[1:], None], strict=True):
                block = text[head.start() : after.start() if after else len(text)]
                lazy._add(path.name, head, block)
        return lazy

    def _add(self, where: str, head: re.Match[str], block: str) -> None:
        tool_id, launcher_id, _ = head.groups()
        if tool_id is not None:
            if tool_id in self.tool_blocks:
                raise ConfigError(f"catalog {where}: tool {tool_id!r} is defined twice")
            self.tool_blocks[tool_id] = (where, block)
            names = _NAMES.search(block)
            for name in _QUOTED.findall(names.group(1)) if names else ():
                if any(ch in name for ch in "*?["):
                    self.globbed.append((name, tool_id))
                else:
                    self.by_name.setdefault(name, []).append(tool_id)
        elif launcher_id is not None:
            names = _NAMES.search(block)
            patterns = tuple(_QUOTED.findall(names.group(1))) if names else ()
            self.launcher_blocks.append((where, block, " ".join(patterns)))
        else:
            ref = _TOOL_REF.search(block)
            if ref is None:
                raise ConfigError(f"catalog {where}: a rule has no `tool = ...` line")
            first = _SUBCOMMAND.search(block)
            words = first.group(1) if first else ""
            patterns = () if not words or words.startswith("!") else tuple(words.split("|"))
            self.rule_blocks.setdefault(ref.group(1), []).append((where, block, patterns))

    def _tool(self, tool_id: str) -> Tool:
        if tool_id not in self.tools:
            where, block = self.tool_blocks[tool_id]
            raw = _toml(block, where).get("tools", {})
            self.tools[tool_id] = _tool(tool_id, raw.get(tool_id), where)
        return self.tools[tool_id]

    def tools_for(self, name: str) -> tuple[Tool, ...]:
        ids = list(self.by_name.get(name, ()))
        if self.globbed and _glob_any(name, tuple(p for p, _ in self.globbed)):
            ids += [t for p, t in self.globbed if _glob_any(name, (p,))]
        return tuple(self._tool(i) for i in ids)

    def rules_for(self, tool: str, first: str | None = None) -> tuple[Rule, ...]:
        """The tool's rules; with ``first``, only those whose subcommand can start with it.

        The first-word test runs on the raw text, so ``git status`` parses none of git's rules.
        """
        out: list[Rule] = []
        for index, (where, block, patterns) in enumerate(self.rule_blocks.get(tool, ())):
            if first is not None and patterns and not _glob_any(first, patterns):
                continue
            key = (tool, index)
            if key not in self.parsed:
                (raw,) = _toml(block, where).get("rules", [None])
                self.parsed[key] = _rule(raw, index, where, {tool: self._tool(tool)})
            out.append(self.parsed[key])
        return tuple(sorted(out, key=lambda r: r.fallback))

    def launchers_for(self, name: str) -> tuple[Launcher, ...]:
        if self.launcher_names is None:
            self.launcher_names = tuple(n for b in self.launcher_blocks for n in b[2].split())
        if not _glob_any(name, self.launcher_names):
            return ()
        out: list[Launcher] = []
        for index, (where, block, names) in enumerate(self.launcher_blocks):
            if not _glob_any(name, tuple(names.split())):
                continue
            if index not in self.parsed_launchers:
                ((launcher_id, raw),) = _toml(block, where)["launchers"].items()
                self.parsed_launchers[index] = _launcher(launcher_id, raw, where)
            out.append(self.parsed_launchers[index])
        return tuple(out)


def _toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"catalog {where} is not valid TOML: {exc}") from None


def hot() -> LazyCatalog:
    """The built-in catalogs for the hook's hot path: scanned once per process, parsed lazily."""
    global _lazy
    if _lazy is None:
        _lazy = LazyCatalog.scan(CATALOG_DIR)
    return _lazy


# --- loading -------------------------------------------------------------------------------

_TOOL_KEYS = {"names", "value_options", "env_options", "env_vars", "env_from_targets", "style",
              "abbreviations"}  # fmt: skip
_LAUNCHER_KEYS = {"names", "value_options", "command_options", "skip", "required", "positionals",
                  "env_options", "interpreter"}  # fmt: skip
_RULE_KEYS = {
    "id", "tool", "operation", "summary", "verdict", "reversible", "subcommand", "any_options",
    "all_options", "none_options", "option_values", "args_any", "args_none", "ignore_case",
    "min_args", "max_args", "skip_positionals", "targets", "target_options", "path_prefixes",
    "places", "fallback", "match", "no_match",
}  # fmt: skip
_REQUIRED = ("id", "tool", "operation", "summary", "verdict", "match", "no_match")


class _Reader:
    """Typed access to one table of a catalog, with errors that name the file and entry."""

    def __init__(self, raw: object, where: str, keys: set[str]) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table")
        unknown = set(raw) - keys
        if unknown:
            raise ConfigError(f"{where} has unknown key(s) {', '.join(sorted(unknown))}")
        self.raw, self.where = raw, where

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self.where}: {key} must be a non-empty string")
        return value

    def words(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if not (isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
            raise ConfigError(f"{self.where}: {key} must be a list of strings")
        return tuple(value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where}: {key} must be true or false")
        return value

    def count(self, key: str) -> int | None:
        value = self.raw.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise ConfigError(f"{self.where}: {key} must be a whole number")
        return value


def _alternatives(words: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(w.split("|")) for w in words)


def _tool(tool_id: str, raw: object, where: str) -> Tool:
    r = _Reader(raw, f"{where} [tools.{tool_id}]", _TOOL_KEYS)
    style = r.text("style", "gnu")
    if style not in _STYLES:
        raise ConfigError(f"{r.where}: style must be one of {', '.join(_STYLES)}")
    names = r.words("names")
    if not names:
        raise ConfigError(f"{r.where}: names must list at least one program name")
    return Tool(
        id=tool_id, names=names, value_options=frozenset(r.words("value_options")),
        env_options=frozenset(r.words("env_options")), env_vars=r.words("env_vars"),
        env_from_targets=r.flag("env_from_targets"), style=style,
        abbreviations=r.flag("abbreviations"),
    )  # fmt: skip


def _launcher(launcher_id: str, raw: object, where: str) -> Launcher:
    r = _Reader(raw, f"{where} [launchers.{launcher_id}]", _LAUNCHER_KEYS)
    return Launcher(
        id=launcher_id, names=r.words("names"), value_options=frozenset(r.words("value_options")),
        command_options=frozenset(r.words("command_options")), skip=r.words("skip"),
        required=r.flag("required"), positionals=r.count("positionals") or 0,
        env_options=frozenset(r.words("env_options")), interpreter=r.flag("interpreter"),
    )  # fmt: skip


def _examples(raw: object, where: str) -> tuple[tuple[str, Verdict | None], ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: match must list at least one example")
    out: list[tuple[str, Verdict | None]] = []
    for item in raw:
        if isinstance(item, str):
            out.append((item, None))
        elif isinstance(item, dict) and isinstance(item.get("cmd"), str):
            verdict = item.get("verdict")
            out.append((item["cmd"], Verdict.parse(verdict) if isinstance(verdict, str) else None))
        else:
            raise ConfigError(f"{where}: a match example is a string or {{cmd, verdict}}")
    return tuple(out)


def _rule(raw: object, index: int, where: str, tools: dict[str, Tool]) -> Rule:
    r = _Reader(raw, f"{where} rules[{index}]", _RULE_KEYS)
    for key in _REQUIRED:
        if key not in r.raw:
            raise ConfigError(f"{r.where}: {key} is required")
    rule_id = r.text("id")
    r.where = f"{where} rule {rule_id}"
    tool = r.text("tool")
    if tool not in tools:
        raise ConfigError(f"{r.where}: tool {tool!r} is not defined in any catalog")
    verdict, targets = r.text("verdict"), r.text("targets", "none")
    if verdict not in _VERDICTS:
        raise ConfigError(f"{r.where}: verdict must be one of {', '.join(_VERDICTS)}")
    if targets not in _TARGETS:
        raise ConfigError(f"{r.where}: targets must be one of {', '.join(_TARGETS)}")
    if targets == "args_after" and "args_any" not in r.raw:
        raise ConfigError(f'{r.where}: targets = "args_after" needs args_any')
    if verdict.startswith("by-path") and targets not in _PATH_TARGETS:
        raise ConfigError(f"{r.where}: a by-path verdict needs path targets")
    places = r.words("places")
    bad = [p for p in places if p not in Place.__members__]
    if bad:
        raise ConfigError(f"{r.where}: unknown place(s) {', '.join(bad)}")
    option_values = r.raw.get("option_values", {})
    if not isinstance(option_values, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in option_values.values()
    ):
        raise ConfigError(f"{r.where}: option_values must map options to lists of globs")
    reversible = r.raw.get("reversible")
    if reversible is not None and not isinstance(reversible, bool):
        raise ConfigError(f"{r.where}: reversible must be true or false")
    summary = r.text("summary")
    try:
        summary.format(targets="", place="", subcommand="")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"{r.where}: summary has a bad placeholder ({exc})") from None
    no_match = r.words("no_match")
    if not no_match:
        raise ConfigError(f"{r.where}: no_match must list at least one example")
    return Rule(
        id=rule_id, tool=tool, operation=r.text("operation"), summary=summary, verdict=verdict,
        reversible=reversible,
        subcommand=tuple(
            (w.startswith("!"), tuple(w.lstrip("!").split("|"))) for w in r.words("subcommand")
        ),
        any_options=_alternatives(r.words("any_options")),
        all_options=_alternatives(r.words("all_options")),
        none_options=_alternatives(r.words("none_options")),
        option_values=tuple((tuple(k.split("|")), tuple(v)) for k, v in option_values.items()),
        args_any=r.words("args_any"), args_none=r.words("args_none"),
        ignore_case=r.flag("ignore_case"), min_args=r.count("min_args"),
        max_args=r.count("max_args"), skip_positionals=r.count("skip_positionals") or 0,
        targets=targets, target_options=tuple(
            o for group in _alternatives(r.words("target_options")) for o in group
        ),
        path_prefixes=r.words("path_prefixes"), places=frozenset(places),
        fallback=r.flag("fallback"), examples=_examples(r.raw["match"], r.where),
        counter_examples=no_match, source=where,
    )  # fmt: skip


def parse_catalog(documents: list[tuple[str, dict[str, Any]]]) -> Catalog:
    """Validate and index parsed catalog files; a ConfigError names the file and the entry."""
    tools: dict[str, Tool] = {}
    launchers: list[Launcher] = []
    for where, data in documents:
        unknown = set(data) - {"tools", "rules", "launchers"}
        if unknown:
            raise ConfigError(f"catalog {where}: unknown section(s) {', '.join(sorted(unknown))}")
        for section in ("tools", "launchers"):
            if not isinstance(data.get(section, {}), dict):
                raise ConfigError(f"catalog {where}: [{section}.NAME] tables expected")
        for tool_id, raw in data.get("tools", {}).items():
            if tool_id in tools:
                raise ConfigError(f"catalog {where}: tool {tool_id!r} is defined twice")
            tools[tool_id] = _tool(tool_id, raw, where)
        for launcher_id, raw in data.get("launchers", {}).items():
            launchers.append(_launcher(launcher_id, raw, where))
    rules: list[Rule] = []
    seen: set[str] = set()
    for where, data in documents:
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            raise ConfigError(f"catalog {where}: rules must be an array of tables ([[rules]])")
        for index, raw in enumerate(raw_rules):
            rule = _rule(raw, index, where, tools)
            if rule.id in seen:
                raise ConfigError(f"catalog {where}: rule id {rule.id!r} is used twice")
            seen.add(rule.id)
            rules.append(rule)
    by_name: dict[str, list[Tool]] = {}
    globbed: list[tuple[str, Tool]] = []
    for tool in tools.values():
        for name in tool.names:
            if any(ch in name for ch in "*?["):
                globbed.append((name, tool))
            else:
                by_name.setdefault(name, []).append(tool)
    by_tool: dict[str, list[Rule]] = {}
    for rule in sorted(rules, key=lambda r: r.fallback):  # fallbacks after the rest
        by_tool.setdefault(rule.tool, []).append(rule)
    return Catalog(
        tools=tools, rules=tuple(rules), launchers=tuple(launchers),
        by_name={k: tuple(v) for k, v in by_name.items()}, globbed=tuple(globbed),
        by_tool={k: tuple(v) for k, v in by_tool.items()},
    )  # fmt: skip


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """A command line split by one tool's conventions."""

    options: tuple[tuple[str, str | None], ...]
    """(name, value) in order; ``--`` itself is recorded as an option named ``--``."""
    positionals: tuple[str, ...]
    help_at: int | None = None
    """Positionals before the first ``--help``/``--version``, if one was given."""
    dashdash_at: int | None = None
    """Positionals before ``--``, if it was given (``git checkout main -- src/a.py``)."""


def parse_args(args: tuple[str, ...], tool: Tool) -> Parsed:
    options: list[tuple[str, str | None]] = []
    positionals: list[str] = []
    index, ended = 0, False
    help_at: int | None = None
    dashdash_at: int | None = None
    while index < len(args):
        word = args[index]
        index += 1
        if help_at is None and not ended and word.split("=", 1)[0] in _HELP:
            help_at = len(positionals)
        if ended or len(word) < 2 or not word.startswith("-") or is_dynamic(word[:2]):
            positionals.append(word)
            continue
        if word == "--":
            ended, dashdash_at = True, len(positionals)
            options.append(("--", None))
            continue
        if word.startswith("--") or tool.style == "go":
            name, equals, value = word.partition("=")
            if tool.style == "go" and name.startswith("--"):
                name = name[1:]  # Go's flag package reads --x as -x
            if not equals and name in tool.value_options and index < len(args):
                value, index = args[index], index + 1
                equals = "="
            options.append((name, value if equals else None))
            continue
        for position in range(1, len(word)):  # "-rf" is -r -f; "-nprod" is -n prod
            flag = "-" + word[position]
            if flag in tool.value_options:
                value = word[position + 1 :]
                if not value and index < len(args):
                    value, index = args[index], index + 1
                options.append((flag, value))
                break
            options.append((flag, None))
    return Parsed(tuple(options), tuple(positionals), help_at, dashdash_at)


def _option_values(parsed: Parsed, names: tuple[str, ...], tool: Tool) -> list[str | None]:
    """Values of every occurrence of any of ``names`` (None for a flag)."""
    found: list[str | None] = []
    for option, value in parsed.options:
        for name in names:
            if option == name or (
                tool.abbreviations
                and len(option) >= 5
                and option.startswith("--")
                and name.startswith(option)
            ):
                found.append(value)
                break
    return found


def _glob_any(word: str, patterns: tuple[str, ...], ignore_case: bool = False) -> bool:
    return _compiled(patterns, ignore_case)(word.lower() if ignore_case else word)


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


def _rule_matches(rule: Rule, parsed: Parsed, tool: Tool) -> tuple[str, ...] | None:
    """The positionals after the subcommand when ``rule`` matches, else None."""
    positionals = parsed.positionals
    if len(positionals) < len(rule.subcommand):
        return None
    if parsed.help_at is not None and parsed.help_at <= len(rule.subcommand):
        # `terraform destroy -help` prints help. Only before the operands: BSD rm reads
        # `rm -rf / --help` as three operands, so a later --help proves nothing.
        return None
    for word, (negated, patterns) in zip(positionals, rule.subcommand, strict=False):
        if _glob_any(word, patterns) == negated:
            return None
    rest = positionals[len(rule.subcommand) + rule.skip_positionals :]
    if rule.min_args is not None and len(rest) < rule.min_args:
        return None
    if rule.max_args is not None and len(rest) > rule.max_args:
        return None
    if rule.any_options and not any(_option_values(parsed, g, tool) for g in rule.any_options):
        return None
    if not all(_option_values(parsed, g, tool) for g in rule.all_options):
        return None
    if any(_option_values(parsed, g, tool) for g in rule.none_options):
        return None
    for names, patterns in rule.option_values:
        values = _option_values(parsed, names, tool)
        if not any(v is not None and _glob_any(v, patterns, rule.ignore_case) for v in values):
            return None
    if rule.args_any and not any(_glob_any(w, rule.args_any, rule.ignore_case) for w in rest):
        return None
    if rule.args_none and any(_glob_any(w, rule.args_none, rule.ignore_case) for w in rest):
        return None
    return rest


def _environment(cmd: SimpleCommand, tool: Tool, parsed: Parsed, targets: list[str]) -> str | None:
    """The environment the command names (production first), else the scope's."""
    policy = cmd.scope.policy
    names: list[str] = []
    for name, value in parsed.options:
        if value is not None and name in tool.env_options:
            names.append(value)
    pairs = list(cmd.assignments)
    pairs += [(w.split("=", 1)[0], w.split("=", 1)[1]) for w in parsed.positionals if "=" in w]
    names += [value for key, value in pairs if key in tool.env_vars]
    if tool.env_from_targets:
        names += targets
    found = [e for e in (_env_name(n, policy) for n in names) if e]
    for environment in found:
        if policy.is_production(environment):
            return environment
    return found[0] if found else cmd.scope.environment


def _env_name(name: str, policy: Policy) -> str | None:
    """The environment a context, profile, project or host name belongs to, if any."""
    if not name or is_dynamic(name):
        return None
    return policy.environment_of(name) or _NAMED_ENVS.get(name.lower())


def _is_remote(word: str) -> bool:
    """``host:/path`` or ``user@host:dir`` (rsync, scp): not a local path."""
    head, colon, _ = word.partition(":")
    return bool(colon) and bool(head) and "/" not in head and not word.startswith(("~", "."))


def _path_words(rule: Rule, rest: tuple[str, ...]) -> list[str]:
    words = list(rest)
    if rule.path_prefixes:
        words = [
            w[len(p) :] for w in words for p in rule.path_prefixes if w.startswith(p) and w != p
        ]
    if rule.targets == "last_path":
        if len(words) >= 2 and words[-1].endswith("/"):
            # "mv build.log /tmp/": the file lands inside the folder, not over it.
            return [words[-1] + words[0].rstrip("/").rsplit("/", 1)[-1]]
        return words[-1:] if words else []
    if rule.targets == "source_paths":
        return words[:-1]
    return words


def _judge_paths(
    rule: Rule, words: list[str], cmd: SimpleCommand
) -> tuple[Verdict, list[str], str] | None:
    """Strictest verdict over the path targets, the targets shown, and the worst place."""
    table = WRITE_VERDICT if rule.verdict == "by-path:write" else DELETE_VERDICT
    worst: tuple[Verdict, str] | None = None
    shown: list[str] = []
    for word in words:
        place = Place.UNKNOWN if _is_remote(word) else place_of(word, cmd.scope)
        if place is Place.UNKNOWN and resolve(word, cmd.scope).startswith("/" + DYN):
            place = Place.ROOT  # "/$X" (find / -exec rm {}) can be anything below the root
        if rule.places and place.name not in rule.places:
            continue
        verdict = table[place] if rule.verdict.startswith("by-path") else rule.fixed_verdict
        if is_dynamic(word) and verdict is Verdict.ALLOW:
            # Part of the path is only known at run time ("build/$X" may be "build/../.."):
            # the brief's rule is that an unknown place is at least ask.
            place, verdict = Place.UNKNOWN, Verdict.ASK
        if verdict is Verdict.ALLOW:
            continue
        shown.append(show(word) if _is_remote(word) else show(resolve(word, cmd.scope)))
        if worst is None or verdict.rank > worst[0].rank:
            worst = (verdict, describe(word, place))
    if worst is None:
        return None
    return worst[0], shown, worst[1]


def _finding(
    rule: Rule, tool: Tool, parsed: Parsed, rest: tuple[str, ...], cmd: SimpleCommand
) -> Finding | None:
    place = ""
    option_targets = [v for v in _option_values(parsed, rule.target_options, tool) if v is not None]
    if rule.targets in ("credentials", "credential_sources"):
        words = [*(rest[:-1] if rule.targets == "credential_sources" else rest), *option_targets]
        targets = [
            show(resolve(w, cmd.scope))
            for w in words
            if not _is_remote(w)
            and not _glob_any(w.rsplit("/", 1)[-1], _PUBLIC_FILES)
            and is_credential(resolve(w, cmd.scope), cmd.scope)
        ]
        if not targets:
            return None
        verdict = rule.fixed_verdict
    elif rule.targets in ("paths", "last_path", "source_paths"):
        judged = _judge_paths(rule, [*_path_words(rule, rest), *option_targets], cmd)
        if judged is None:
            return None
        verdict, targets, place = judged
    else:
        targets = [show(w) for w in _arg_targets(rule, parsed, rest)] + [
            show(v) for v in option_targets
        ]
        verdict = rule.fixed_verdict
    subcommand = " ".join(parsed.positionals[: len(rule.subcommand)])
    summary = rule.summary.format(
        targets=_list(targets), place=place, subcommand=subcommand or cmd.name
    )
    return Finding(
        operation=rule.operation,
        summary=summary,
        verdict=verdict,
        rule=rule.id,
        targets=tuple(targets),
        environment=_environment(cmd, tool, parsed, [*targets, *rest]),
        reversible=rule.reversible,
        evidence=cmd.text,
    )


def _arg_targets(rule: Rule, parsed: Parsed, rest: tuple[str, ...]) -> tuple[str, ...]:
    """The arguments a rule is about: those its ``args_any`` matched, else all that remain.

    ``kubectl delete ns/prod`` names its target inside the subcommand word: the part after "/".
    """
    if rule.targets == "args_after":
        hits = [i for i, w in enumerate(rest) if _glob_any(w, rule.args_any, rule.ignore_case)]
        return rest[hits[0] + 1 :] if hits else rest
    if rule.targets != "args":
        return ()
    if ("--",) in rule.all_options and parsed.dashdash_at is not None:
        return parsed.positionals[max(parsed.dashdash_at, len(rule.subcommand)) :]
    if rule.args_any:
        return tuple(w for w in rest if _glob_any(w, rule.args_any, rule.ignore_case))
    if not rest and rule.subcommand:
        last = parsed.positionals[len(rule.subcommand) - 1]
        if "/" in last:
            return (last.split("/", 1)[1],)
    return rest


def _list(targets: list[str]) -> str:
    if not targets:
        return "(not named)"
    if len(targets) > 3:
        return ", ".join(targets[:3]) + f" and {len(targets) - 3} more"
    return ", ".join(targets)


def match(cmd: SimpleCommand, catalog: Source | None = None) -> list[Finding]:
    """All catalog findings for one simple command (wrappers already removed).

    Without ``catalog``, the built-in catalogs are read lazily (:func:`hot`); a malformed block
    that the command needs raises ConfigError, which the hook turns into a deny.
    """
    found = _match(cmd, catalog or hot())
    unique = {(f.rule, f.targets, f.summary): f for f in found}  # one finding per effect
    return list(unique.values())


def _match(cmd: SimpleCommand, catalog: Source) -> list[Finding]:
    if not cmd.argv or is_dynamic(cmd.argv[0]):
        return []
    name = cmd.name
    findings: list[Finding] = []
    for tool in catalog.tools_for(name):
        parsed = parse_args(cmd.argv[1:], tool)
        primary = False
        first = parsed.positionals[0] if parsed.positionals else ""
        for rule in catalog.rules_for(tool.id, first):
            if rule.fallback and primary:
                continue
            rest = _rule_matches(rule, parsed, tool)
            if rest is None:
                continue
            finding = _finding(rule, tool, parsed, rest, cmd)
            if finding is not None:
                findings.append(finding)
                primary = primary or not rule.fallback
    return findings + _launched(cmd, catalog)


def _launched(cmd: SimpleCommand, catalog: Source) -> list[Finding]:
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
        named = _env_name(environment or "", policy) or _env_name(host or "", policy)
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
            findings += _launched(nested, catalog)  # `uv run python manage.py flush`
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
