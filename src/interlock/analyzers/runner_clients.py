"""Clients whose argument is a query: ``sqlcmd -Q``, ``cqlsh -e``, ``gh api graphql``.

The database and HTTP clients the shell analyzer knows live in :mod:`.clients`; these were
red-team misses (2025): `sqlcmd -Q "DROP …"`, `cqlsh -e "DROP KEYSPACE …"` and GitHub's
`deleteRepository` mutation sent with `gh api graphql` were allowed. Their text goes to the SQL
and HTTP analyzers, as if sent by psql or curl.
"""

from __future__ import annotations

import json

from interlock.analyzers import SimpleCommand, is_dynamic
from interlock.decisions import Finding

__all__ = ["HANDLING", "handled"]


HANDLING = frozenset({"sqlcmd", "cqlsh", "gh"})
"""The programs :func:`handled` may answer for; it returns None for any other."""


def handled(cmd: SimpleCommand) -> list[Finding] | None:
    name = cmd.name
    if name == "sqlcmd":
        return _sql(cmd, ("-Q", "-q"), "postgres")
    if name == "cqlsh":
        return _sql(cmd, ("-e", "--execute"), "postgres")
    if name == "gh" and cmd.argv[1:3] == ("api", "graphql"):
        return _gh_graphql(cmd)
    return None


def _sql(cmd: SimpleCommand, options: tuple[str, ...], dialect: str) -> list[Finding] | None:
    from interlock.analyzers import sql
    from interlock.analyzers.commands import opaque

    args = cmd.argv[1:]
    out: list[Finding] = []
    for index, word in enumerate(args):
        name, equals, value = word.partition("=")
        if name not in options:
            continue
        text = value if equals else (args[index + 1] if index + 1 < len(args) else "")
        if is_dynamic(text):
            out.append(opaque(cmd, f"{cmd.name} runs a query only known at run time"))
        else:
            found = sql.analyze(text, dialect, cmd.scope)
            if cmd.name == "cqlsh":
                # CQL is read with the SQL lexer: DROP, TRUNCATE and DELETE read the same, but
                # cqlsh's own commands (DESCRIBE, USE, CONSISTENCY) are not SQL and are harmless.
                found = [f for f in found if f.rule != "sql.unparsed"]
            out += found
    return out


def _gh_graphql(cmd: SimpleCommand) -> list[Finding]:
    from interlock.analyzers import http
    from interlock.analyzers.commands import opaque

    args = cmd.argv[3:]
    query: str | None = None
    for index, word in enumerate(args):
        if word in ("-f", "-F", "--raw-field", "--field") and index + 1 < len(args):
            key, _, value = args[index + 1].partition("=")
            if key == "query":
                query = value
        elif word.startswith(("--raw-field=query=", "--field=query=")):
            query = word.split("=", 2)[2]
        elif word in ("--input",):
            return [opaque(cmd, "gh api graphql sends a query read from a file")]
    if query is None:
        return []
    if is_dynamic(query) or query.startswith("@"):
        return [opaque(cmd, "gh api graphql sends a query only known at run time")]
    body = json.dumps({"query": query})
    headers = {"Content-Type": "application/json"}
    return http.analyze("POST", "https://api.github.com/graphql", headers, body, cmd.scope)
