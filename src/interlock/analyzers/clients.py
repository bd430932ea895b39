"""Database and HTTP clients: what they send is judged as SQL or as an HTTP request.

``psql -c``, ``mysql -e``, ``sqlite3 db 'SQL'``, ``redis-cli CMD``, ``mongosh --eval`` and SQL in
heredocs, herestrings or ``echo … |`` become SQL for :mod:`.sql`; ``curl``, ``wget`` and
``http``/``xh`` become requests for :mod:`.http` (the PocketOS deletion was one ``curl``-able
GraphQL POST). The environment comes from the host the client talks to, when the policy knows it.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from interlock.analyzers import SimpleCommand, is_dynamic, show, unknown
from interlock.decisions import Finding

_SQL_CLIENTS = {
    "psql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite3": "sqlite",
    "sqlite": "sqlite", "redis-cli": "redis", "valkey-cli": "redis", "mongosh": "mongodb",
    "mongo": "mongodb", "cockroach": "postgres", "pgcli": "postgres", "mycli": "mysql",
    "litecli": "sqlite", "usql": "postgres", "clickhouse-client": "mysql",
}  # fmt: skip
_HTTP_CLIENTS = frozenset({"curl", "wget", "http", "https", "xh", "xhs", "curlie"})

# Options that carry SQL, per client; and options that name the host.
_SQL_OPTIONS = {"-c", "--command", "-e", "--execute", "--eval", "-x", "--query", "-q"}
_FILE_OPTIONS = {"-f", "--file", "--init", "--source"}
_HOST_OPTIONS = {"-h", "--host", "--hostname", "-u", "--uri", "--url", "-d", "--dbname"}
_VALUE_OPTIONS = _SQL_OPTIONS | _FILE_OPTIONS | _HOST_OPTIONS | {
    "-p", "--port", "-U", "--username", "-n", "-a", "--user", "-P", "-D", "--database",
    "-W", "--set", "-v", "--variable", "-o", "--output", "-S", "--socket", "--tls-cert",
}  # fmt: skip


def analyze(cmd: SimpleCommand) -> list[Finding] | None:
    """Findings when ``cmd`` is a database or HTTP client, None when it is neither."""
    name = cmd.name
    if name in _SQL_CLIENTS:
        return _sql_client(cmd, _SQL_CLIENTS[name])
    if name in _HTTP_CLIENTS:
        return _http_client(cmd)
    return None


def _environment(cmd: SimpleCommand, host: str | None) -> SimpleCommand:
    names = [host] if host else []
    names += [v for k, v in cmd.assignments if k in ("PGHOST", "DATABASE_URL", "MYSQL_HOST")]
    for candidate in names:
        if not candidate or is_dynamic(candidate):
            continue
        hostname = _hostname(candidate) if "://" in candidate else candidate
        environment = cmd.scope.policy.environment_of(hostname or candidate)
        if environment:
            return replace(cmd, scope=replace(cmd.scope, environment=environment))
    return cmd


def _hostname(url: str) -> str | None:
    """The URL's host, or None when urllib cannot split it (``http://[::1``): the HTTP analyzer
    then asks about a request it cannot read, instead of the analysis crashing."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _sql_client(cmd: SimpleCommand, dialect: str) -> list[Finding]:
    from interlock.analyzers import sql

    args = list(cmd.argv[1:])
    statements: list[str] = []
    files: list[str] = []
    host: str | None = None
    positionals: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        option, eq, attached = arg.partition("=")
        value = attached if eq else (args[index + 1] if index + 1 < len(args) else "")
        step = 1 if eq else 2
        if option in _SQL_OPTIONS and dialect != "redis":
            statements.append(value)
        elif option in _FILE_OPTIONS and dialect != "redis":
            files.append(value)
        elif option in ("-h", "--host", "--hostname", "--uri", "--url") or (
            option in ("-d", "--dbname") and "://" in value
        ):
            host = value
        elif option in _VALUE_OPTIONS:
            pass
        elif option.startswith("-") and len(option) > 1:
            if option.startswith("-c") and dialect == "postgres" and len(option) > 2:
                statements.append(option[2:])
            step = 1
        else:
            positionals.append(arg)
            step = 1
        index += step
    if positionals and "://" in positionals[0]:
        host = positionals[0]
    cmd = _environment(cmd, host)
    if dialect == "redis":
        text = " ".join(positionals)
        if not positionals:
            return _stdin_sql(cmd, dialect)
        return (
            sql.analyze(text, dialect, cmd.scope)
            if not is_dynamic(text)
            else [_opaque_sql(cmd, "sends a Redis command only known at run time")]
        )
    if dialect == "sqlite" and len(positionals) >= 2:
        statements.append(" ".join(positionals[1:]))
    findings: list[Finding] = []
    for statement in statements:
        if is_dynamic(statement):
            findings.append(_opaque_sql(cmd, "runs SQL that is only known at run time"))
        else:
            findings.extend(sql.analyze(statement, dialect, cmd.scope))
    for path in files:
        if path not in ("-", "/dev/stdin"):
            findings.append(
                _opaque_sql(cmd, f"runs the SQL in {show(path)}, which Interlock did not read")
            )
        else:
            findings.extend(_stdin_sql(cmd, dialect))
    if not statements and not files:
        findings.extend(_stdin_sql(cmd, dialect))
    return findings


def _stdin_sql(cmd: SimpleCommand, dialect: str) -> list[Finding]:
    from interlock.analyzers import sql

    if cmd.stdin is not None:
        return sql.analyze(cmd.stdin, dialect, cmd.scope)
    if cmd.stdin_unknown:
        return [_opaque_sql(cmd, f"pipes SQL that cannot be inspected into {cmd.name}")]
    return []  # an interactive session: each statement typed later is not seen here


def _opaque_sql(cmd: SimpleCommand, what: str) -> Finding:
    return unknown(
        what,
        rule="sql.opaque",
        operation="db.unparsed",
        environment=cmd.scope.environment,
        evidence=cmd.text,
    )


def _http_client(cmd: SimpleCommand) -> list[Finding]:
    from interlock.analyzers import http_clients

    return http_clients.analyze(cmd)
