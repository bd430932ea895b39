"""The hook's hot-path index of the catalogs: a text scan once, each block parsed when needed.

Split from catalog.py (STYLE.md §1). The hook is a fresh process on every call, and tomllib
needs ~25 ms for the whole 100 kB of catalogs (issue #2 item 9), so :func:`hot` splits the
files at their block headers and parses only the blocks of the tools a command names, through
the validating readers of :mod:`.catalog_format`. tests/test_catalog.py checks that both
loaders agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from interlock.analyzers.catalog_format import (
    CATALOG_DIR,
    OTHER_FORMATS,
    read_launcher,
    read_rule,
    read_toml,
    read_tool,
)
from interlock.analyzers.catalog_model import Launcher, Rule, Tool, glob_any, matcher
from interlock.errors import ConfigError

__all__ = ["LazyCatalog", "hot"]

_lazy: LazyCatalog | None = None

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
    any_globbed: Callable[[str], bool] | None = None
    any_name: Callable[[str], bool] | None = None
    named_tools: dict[str, tuple[Tool, ...]] = field(default_factory=dict)
    """tools_for() of the names the catalogs spell out, once each (a bounded set)."""
    rule_indexes: dict[str, _FirstWords] = field(default_factory=dict)
    launcher_matchers: tuple[Callable[[str], bool], list[Callable[[str], bool]]] | None = None
    launcher_literals: frozenset[str] = frozenset()
    parsed_launchers: dict[int, Launcher] = field(default_factory=dict)
    named_launchers: dict[str, tuple[Launcher, ...]] = field(default_factory=dict)
    """launchers_for() of the names the launcher blocks spell out, once each."""

    @classmethod
    def scan(cls, folder: Path) -> LazyCatalog:
        lazy = cls()
        for path in sorted(folder.glob("*.toml")):
            if path.name in OTHER_FORMATS:
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
            raw = read_toml(block, where).get("tools", {})
            self.tools[tool_id] = read_tool(tool_id, raw.get(tool_id), where)
        return self.tools[tool_id]

    def knows(self, name: str) -> bool:
        """Whether any tool or launcher has this name, from the names alone (nothing parsed):
        false for most programs a command runs, and then no catalog rule can match."""
        if self.any_name is None:
            tools = (*self.by_name, *(pattern for pattern, _ in self.globbed))
            launchers = (n for _, _, names in self.launcher_blocks for n in names.split())
            self.any_name = matcher((*tools, *launchers))
        return self.any_name(name)

    def tools_for(self, name: str) -> tuple[Tool, ...]:
        known = self.named_tools.get(name)
        if known is not None:
            return known
        ids = self.by_name.get(name, ())
        globbed: list[str] = []
        if self.globbed:
            if self.any_globbed is None:
                self.any_globbed = matcher(tuple(p for p, _ in self.globbed))
            if self.any_globbed(name):
                globbed = [t for p, t in self.globbed if glob_any(name, (p,))]
        if not ids and not globbed:
            return ()
        tools = tuple(self._tool(i) for i in (*ids, *globbed))
        if ids and not globbed:
            self.named_tools[name] = tools  # keyed by catalog names only: `mkfs.*` is not kept
        return tools

    def rules_for(self, tool: str, first: str | None = None) -> tuple[Rule, ...]:
        """The tool's rules; with ``first``, only those whose subcommand can start with it.

        The first-word test runs on the raw text, so ``git status`` parses none of git's rules.
        Which blocks a first word selects comes from an index built once per tool
        (:class:`_FirstWords`), not from testing each of git's 22 blocks on every command.
        """
        blocks = self.rule_blocks.get(tool, ())
        if not blocks:
            return ()
        index = self.rule_indexes.get(tool)
        if index is None:
            index = self.rule_indexes[tool] = _FirstWords.of([p for _, _, p in blocks])
        if first is None:
            return self._rules(tool, range(len(blocks)))
        key = index.key(first)
        chosen = index.chosen.get(key)
        if chosen is None:
            chosen = index.chosen[key] = self._rules(tool, index.blocks(key))
        return chosen

    def _rules(self, tool: str, indexes: Iterable[int]) -> tuple[Rule, ...]:
        """The rules of the tool's blocks at ``indexes`` (parsed on first use), fallbacks last."""
        blocks = self.rule_blocks[tool]
        out: list[Rule] = []
        for index in indexes:
            key = (tool, index)
            rule = self.parsed.get(key)
            if rule is None:
                where, block, _ = blocks[index]
                (raw,) = read_toml(block, where).get("rules", [None])
                rule = self.parsed[key] = read_rule(raw, index, where, {tool: self._tool(tool)})
            out.append(rule)
        out.sort(key=_fallback)
        return tuple(out)

    def launchers_for(self, name: str) -> tuple[Launcher, ...]:
        known = self.named_launchers.get(name)
        if known is not None:
            return known
        if self.launcher_matchers is None:
            every = tuple(n for b in self.launcher_blocks for n in b[2].split())
            self.launcher_literals = frozenset(n for n in every if not any(c in n for c in "*?["))
            self.launcher_matchers = (
                matcher(every),
                [matcher(tuple(b[2].split())) for b in self.launcher_blocks],
            )
        any_launcher, each = self.launcher_matchers
        if not any_launcher(name):
            return ()
        out: list[Launcher] = []
        for index, (where, block, _) in enumerate(self.launcher_blocks):
            if not each[index](name):
                continue
            if index not in self.parsed_launchers:
                ((launcher_id, raw),) = read_toml(block, where)["launchers"].items()
                self.parsed_launchers[index] = read_launcher(launcher_id, raw, where)
            out.append(self.parsed_launchers[index])
        launchers = tuple(out)
        if name in self.launcher_literals:
            self.named_launchers[name] = launchers  # a launcher's own name: a bounded set
        return launchers


@dataclass
class _FirstWords:
    """Which of one tool's rule blocks a command's first positional can select.

    A block whose subcommand starts with a literal word is listed under that word; one that
    starts with a glob is tested; one with no first word (or a negated one) is always chosen.
    The blocks a first word selects are fixed by the catalog, so the parsed rules for each
    selection (:attr:`chosen`) are kept: their number is bounded by the catalog, not the input.
    """

    always: tuple[int, ...]
    by_word: dict[str, tuple[int, ...]]
    globbed: tuple[tuple[int, Callable[[str], bool]], ...]
    chosen: dict[tuple[str, tuple[int, ...]], tuple[Rule, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, patterns: list[tuple[str, ...]]) -> _FirstWords:
        always: list[int] = []
        by_word: dict[str, list[int]] = {}
        globbed: list[tuple[int, Callable[[str], bool]]] = []
        for index, words in enumerate(patterns):
            if not words:
                always.append(index)
                continue
            for word in words:
                if any(ch in word for ch in "*?["):
                    globbed.append((index, matcher(words)))
                    break
                by_word.setdefault(word, []).append(index)
        return cls(tuple(always), {w: tuple(i) for w, i in by_word.items()}, tuple(globbed))

    def key(self, first: str) -> tuple[str, tuple[int, ...]]:
        """What decides the selection: ``first`` when the index lists it, and the globs it
        matches."""
        word = first if first in self.by_word else ""
        if not self.globbed:
            return word, ()
        return word, tuple(index for index, test in self.globbed if test(first))

    def blocks(self, key: tuple[str, tuple[int, ...]]) -> list[int]:
        word, globs = key
        return sorted({*self.always, *self.by_word.get(word, ()), *globs})


def _fallback(rule: Rule) -> bool:
    return rule.fallback


def hot() -> LazyCatalog:
    """The built-in catalogs for the hook's hot path: scanned once per process, parsed lazily."""
    global _lazy
    if _lazy is None:
        _lazy = LazyCatalog.scan(CATALOG_DIR)
    return _lazy
