"""Database and HTTP clients: what they send is judged as SQL or as an HTTP request.

``psql -c``, ``mysql -e``, ``sqlite3 db 'SQL'``, ``redis-cli CMD``, ``mongosh --eval`` and SQL in
heredocs, herestrings or ``echo … |`` become SQL for :mod:`.sql`; ``curl``, ``wget`` and
``http``/``xh`` become requests for :mod:`.http` (the PocketOS deletion was one ``curl``-able
GraphQL POST). Each finds the environment of the server it talks to (:mod:`.sql_clients`,
:mod:`.http_clients`).
"""

from __future__ import annotations

from interlock.analyzers import SimpleCommand
from interlock.decisions import Finding

_SQL_CLIENTS = {
    "psql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite3": "sqlite",
    "sqlite": "sqlite", "redis-cli": "redis", "valkey-cli": "redis", "mongosh": "mongodb",
    "mongo": "mongodb", "cockroach": "postgres", "pgcli": "postgres", "mycli": "mysql",
    "litecli": "sqlite", "usql": "postgres", "clickhouse-client": "mysql",
}  # fmt: skip
_HTTP_CLIENTS = frozenset({"curl", "wget", "http", "https", "xh", "xhs", "curlie"})
NAMES = frozenset({*_SQL_CLIENTS, *_HTTP_CLIENTS})
"""The programs :func:`analyze` answers for; it returns None for any other."""

# How each database client reads its options, and where it connects: sql_clients.


def analyze(cmd: SimpleCommand) -> list[Finding] | None:
    """Findings when ``cmd`` is a database or HTTP client, None when it is neither."""
    name = cmd.name
    if name in _SQL_CLIENTS:
        from interlock.analyzers import sql_clients

        return sql_clients.analyze(cmd, _SQL_CLIENTS[name])
    if name in _HTTP_CLIENTS:
        return _http_client(cmd)
    return None


def _http_client(cmd: SimpleCommand) -> list[Finding]:
    from interlock.analyzers import http_clients

    return http_clients.analyze(cmd)
