"""Catalogs of destructive operations: data files, their loaders, and the matcher.

Issue #2 item 3: what is destructive per tool lives in ``catalogs/*.toml`` with a ``match`` and a
``no_match`` example per rule (tests/test_catalog.py runs every one), not in chains of ``if``.
The format is documented in docs/catalogs.md.

This module is the public face; the work is done in modules split along the seams (the whole
lived here until it passed 800 lines, STYLE.md §1), each layer importing only those above it:

- :mod:`.catalog_model`: the data types (tools, rules, launchers) and the glob helper.
- :mod:`.catalog_format`: :func:`load`, which parses and validates every file (tests,
  ``interlock policy``).
- :mod:`.catalog_index`: :func:`hot`, the hook's loader, which scans the files as text once per
  process and parses only the blocks a command needs, because the hook is a fresh process on
  every call and ``tomllib`` needs ~25 ms for the whole 100 kB.
- :mod:`.catalog_match`: options versus positionals, subcommands, environments, paths; a rule
  matches the parsed command line, never the raw string (peers.md §b.2: dcg#132, dcg#170), so
  ``git commit -m 'push --force main'`` is a commit.
- :mod:`.catalog_launchers`: programs started by launchers (``bundle exec``, ``uv run``,
  ``docker exec``, ``kubectl exec``) go back through the shell analysis as commands of their own.
"""

from __future__ import annotations

from interlock.analyzers import SimpleCommand, is_dynamic
from interlock.analyzers.catalog_format import CATALOG_DIR, load, parse_catalog
from interlock.analyzers.catalog_index import LazyCatalog, hot
from interlock.analyzers.catalog_launchers import launched, unwrap_launcher
from interlock.analyzers.catalog_match import Parsed, parse_args, rule_findings
from interlock.analyzers.catalog_model import Catalog, Launcher, Rule, Source, Tool
from interlock.decisions import Finding

__all__ = [
    "CATALOG_DIR",
    "Catalog",
    "Launcher",
    "LazyCatalog",
    "Parsed",
    "Rule",
    "Source",
    "Tool",
    "hot",
    "load",
    "match",
    "parse_args",
    "parse_catalog",
    "unwrap_launcher",
]


def match(cmd: SimpleCommand, catalog: Source | None = None) -> list[Finding]:
    """All catalog findings for one simple command (wrappers already removed).

    Without ``catalog``, the built-in catalogs are read lazily (:func:`hot`); a malformed block
    that the command needs raises ConfigError, which the hook turns into a deny.
    """
    source = catalog or hot()
    if not cmd.argv or is_dynamic(cmd.argv[0]) or not source.knows(cmd.name):
        return []
    found = rule_findings(cmd, source) + launched(cmd, source)
    if len(found) < 2:
        return found
    unique = {(f.rule, f.targets, f.summary): f for f in found}  # one finding per effect
    return list(unique.values())
