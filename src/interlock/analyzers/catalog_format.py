"""The catalog file format and its validating loader: every file parsed, every entry checked.

Split from catalog.py (STYLE.md §1). :func:`load` reads all of ``catalogs/*.toml`` with
``tomllib`` and validates each table, so a typo in a catalog is a ConfigError naming the file
and the entry, never a rule that silently matches nothing. It serves the tests and
``interlock policy``; the hook uses :mod:`.catalog_index`, which parses only the blocks a
command needs through the same :func:`read_tool`, :func:`read_rule` and :func:`read_launcher`,
so both loaders accept exactly the same entries.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from interlock.analyzers.catalog_model import Catalog, Launcher, Rule, Tool
from interlock.decisions import Verdict
from interlock.errors import ConfigError
from interlock.paths import Place

__all__ = [
    "CATALOG_DIR",
    "OTHER_FORMATS",
    "load",
    "parse_catalog",
    "read_launcher",
    "read_rule",
    "read_toml",
    "read_tool",
]

CATALOG_DIR = Path(__file__).parent / "catalogs"
# Catalogs in this folder with another owner and format (the Terraform plan analyzer's).
OTHER_FORMATS = frozenset({"terraform.toml"})
_cache: Catalog | None = None
_VERDICTS = ("ask", "deny", "by-path", "by-path:write")
_TARGETS = ("paths", "last_path", "source_paths", "args", "args_after", "none", "credentials",
            "credential_sources")  # fmt: skip
_PATH_TARGETS = ("paths", "last_path", "source_paths")
_STYLES = ("gnu", "go")


def load(directory: Path | None = None) -> Catalog:
    """All catalogs in ``directory`` (default: the built-in ones, parsed once per process)."""
    global _cache
    if directory is None and _cache is not None:
        return _cache
    folder = directory or CATALOG_DIR
    documents: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(folder.glob("*.toml")):
        if path.name in OTHER_FORMATS:
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


def read_toml(text: str, where: str) -> dict[str, Any]:
    """One catalog file or block parsed; bad TOML is a ConfigError naming where it came from."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"catalog {where} is not valid TOML: {exc}") from None


_TOOL_KEYS = {"names", "value_options", "env_options", "env_vars", "env_from_targets", "style",
              "abbreviations", "remote", "env_kinds", "endpoint_options", "endpoint_vars",
              "remote_flags", "local_programs", "local_contexts", "kubeconfig"}  # fmt: skip
_LAUNCHER_KEYS = {"names", "value_options", "command_options", "skip", "required", "positionals",
                  "env_options", "interpreter", "script_options", "script", "positional_is",
                  "production", "exports"}  # fmt: skip
_POSITIONAL_KINDS = ("host", "environment", "local")
_RULE_KEYS = {
    "id", "tool", "operation", "summary", "verdict", "reversible", "subcommand", "any_options",
    "all_options", "none_options", "option_values", "args_any", "args_none", "ignore_case",
    "min_args", "max_args", "skip_positionals", "targets", "target_options", "path_prefixes",
    "places", "fallback", "remote", "match", "no_match",
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


def read_tool(tool_id: str, raw: object, where: str) -> Tool:
    r = _Reader(raw, f"{where} [tools.{tool_id}]", _TOOL_KEYS)
    style = r.text("style", "gnu")
    if style not in _STYLES:
        raise ConfigError(f"{r.where}: style must be one of {', '.join(_STYLES)}")
    names = r.words("names")
    if not names:
        raise ConfigError(f"{r.where}: names must list at least one program name")
    value_options = frozenset(r.words("value_options"))
    env_options, env_vars = frozenset(r.words("env_options")), r.words("env_vars")
    endpoint_options, endpoint_vars = (
        frozenset(r.words("endpoint_options")),
        r.words("endpoint_vars"),
    )
    for group, key in ((env_options, "env_options"), (endpoint_options, "endpoint_options")):
        if group - value_options:
            missing = ", ".join(sorted(group - value_options))
            raise ConfigError(f"{r.where}: {key} {missing} must also be in value_options")
    return Tool(
        id=tool_id, names=names, value_options=value_options, env_options=env_options,
        env_vars=env_vars, env_from_targets=r.flag("env_from_targets"), style=style,
        abbreviations=r.flag("abbreviations"), remote=r.flag("remote"),
        env_kinds=_env_kinds(r, {*env_options, *env_vars, *endpoint_options, *endpoint_vars}),
        endpoint_options=endpoint_options, endpoint_vars=endpoint_vars,
        remote_flags=frozenset(r.words("remote_flags")), local_programs=r.words("local_programs"),
        local_contexts=r.words("local_contexts"), kubeconfig=r.flag("kubeconfig"),
    )  # fmt: skip


def _env_kinds(r: _Reader, named: set[str]) -> tuple[tuple[str, str], ...]:
    """``env_kinds = { "--profile" = "aws_profile" }``: each key an environment option or
    variable of the tool, each value a kind of :mod:`interlock.environments` (or ``any``)."""
    from interlock.environments import KINDS

    raw = r.raw.get("env_kinds", {})
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(f"{r.where}: env_kinds must map options or variables to kinds")
    for key, kind in raw.items():
        if key not in named:
            raise ConfigError(f"{r.where}: env_kinds names {key!r}, not an env or endpoint option")
        if kind not in KINDS and kind != "any":
            raise ConfigError(f"{r.where}: env_kinds.{key} must be one of {', '.join(KINDS)}, any")
    return tuple(raw.items())


def read_launcher(launcher_id: str, raw: object, where: str) -> Launcher:
    r = _Reader(raw, f"{where} [launchers.{launcher_id}]", _LAUNCHER_KEYS)
    positional_is = r.text("positional_is", "host")
    if positional_is not in _POSITIONAL_KINDS:
        raise ConfigError(f"{r.where}: positional_is must be one of {', '.join(_POSITIONAL_KINDS)}")
    return Launcher(
        id=launcher_id, names=r.words("names"), value_options=frozenset(r.words("value_options")),
        command_options=frozenset(r.words("command_options")), skip=r.words("skip"),
        required=r.flag("required"), positionals=r.count("positionals") or 0,
        env_options=frozenset(r.words("env_options")), interpreter=r.flag("interpreter"),
        script_options=frozenset(r.words("script_options")), script=r.flag("script"),
        positional_is=positional_is, production=r.flag("production"),
        exports=r.text("exports") if "exports" in r.raw else None,
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


def read_rule(raw: object, index: int, where: str, tools: dict[str, Tool]) -> Rule:
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
    remote = r.flag("remote") if "remote" in r.raw else None
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
        fallback=r.flag("fallback"), remote=remote, examples=_examples(r.raw["match"], r.where),
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
            tools[tool_id] = read_tool(tool_id, raw, where)
        for launcher_id, raw in data.get("launchers", {}).items():
            launchers.append(read_launcher(launcher_id, raw, where))
    rules: list[Rule] = []
    seen: set[str] = set()
    for where, data in documents:
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            raise ConfigError(f"catalog {where}: rules must be an array of tables ([[rules]])")
        for index, raw in enumerate(raw_rules):
            rule = read_rule(raw, index, where, tools)
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
