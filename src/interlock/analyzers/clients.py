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
from interlock.decisions import Finding, Verdict

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
    from interlock.analyzers import http

    name = cmd.name
    if name == "curl" or name == "curlie":
        request = _curl(cmd.argv[1:])
    elif name == "wget":
        request = _wget(cmd.argv[1:])
    else:
        request = _httpie(cmd.argv[1:], https=name in ("https", "xhs"))
    method, urls, headers, body = request
    findings: list[Finding] = _uploads(cmd)
    for url in urls:
        if is_dynamic(url) and method not in ("GET", "HEAD", "OPTIONS"):
            findings.append(
                unknown(
                    f"sends a {method} request to an address only known at run time",
                    rule="http.opaque",
                    operation="http.unknown_target",
                    environment=cmd.scope.environment,
                    evidence=cmd.text,
                )
            )
            continue
        host = _hostname(url if "://" in url else "https://" + url)
        scoped = _environment(cmd, host)
        findings.extend(http.analyze(method, url, headers, body, scoped.scope))
    return findings


Request = tuple[str, list[str], dict[str, str], str]

_UPLOAD_OPTIONS = ("-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "--json",
                   "-F", "--form", "-T", "--upload-file", "--post-file", "--body-file")  # fmt: skip


def _uploads(cmd: SimpleCommand) -> list[Finding]:
    """A credential file sent anywhere is exfiltration: ``curl -F f=@~/.ssh/id_rsa …``."""
    from interlock.paths import is_credential, resolve

    findings: list[Finding] = []
    args = cmd.argv[1:]
    for index, arg in enumerate(args):
        option, eq, attached = arg.partition("=")
        if option not in _UPLOAD_OPTIONS:
            continue
        value = (
            attached
            if eq and option.startswith("--")
            else (args[index + 1] if index + 1 < len(args) else "")
        )
        path = value.split("@", 1)[1] if "@" in value else value
        if option in ("-T", "--upload-file", "--post-file", "--body-file") or "@" in value:
            path = path.split(";", 1)[0]
            if path and is_credential(resolve(path, cmd.scope), cmd.scope):
                findings.append(
                    Finding(
                        operation="secret.exfiltrate",
                        summary=f"uploads the credential file {show(path)} to another host",
                        verdict=Verdict.DENY,
                        rule="http.credential_upload",
                        targets=(show(path),),
                        environment=cmd.scope.environment,
                        reversible=False,
                        evidence=cmd.text,
                    )
                )
    return findings


_CURL_DATA = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode",
              "--json", "-F", "--form", "--form-string"}  # fmt: skip
_CURL_VALUE = {"-o", "--output", "-u", "--user", "-A", "--user-agent", "-e", "--referer",
               "-b", "--cookie", "-c", "--cookie-jar", "-m", "--max-time", "--connect-timeout",
               "-w", "--write-out", "-x", "--proxy", "--retry", "-K", "--config", "--cacert",
               "--cert", "--key", "-E", "-r", "--range", "--resolve", "-U", "--proxy-user",
               "--oauth2-bearer", "--aws-sigv4", "-C", "--continue-at", "-y", "-Y", "-z",
               "--limit-rate", "--max-filesize", "--unix-socket", "--interface"}  # fmt: skip


def _curl(args: tuple[str, ...]) -> Request:
    method: str | None = None
    urls: list[str] = []
    headers: dict[str, str] = {}
    body_parts: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        value = args[index + 1] if index + 1 < len(args) else ""
        if arg in ("-X", "--request"):
            method = value.upper()
            index += 2
        elif arg.startswith("-X") and len(arg) > 2:
            method = arg[2:].upper()
            index += 1
        elif arg in ("-H", "--header"):
            key, _, val = value.partition(":")
            headers[key.strip()] = val.strip()
            index += 2
        elif arg in _CURL_DATA or arg.split("=", 1)[0] in _CURL_DATA:
            body_parts.append(
                arg.split("=", 1)[1] if "=" in arg and arg.startswith("--") else value
            )
            if arg == "--json":
                headers.setdefault("Content-Type", "application/json")
            index += 1 if "=" in arg and arg.startswith("--") else 2
        elif arg.startswith("-d") and len(arg) > 2:
            body_parts.append(arg[2:])
            index += 1
        elif arg in ("-T", "--upload-file"):
            method = method or "PUT"
            index += 2
        elif arg in ("-I", "--head"):
            method = method or "HEAD"
            index += 1
        elif arg == "--url":
            urls.append(value)
            index += 2
        elif arg in _CURL_VALUE:
            index += 2
        elif arg.startswith("-") and len(arg) > 1:
            index += 1
        else:
            urls.append(arg)
            index += 1
    body = "&".join(body_parts)
    if method is None:
        method = "POST" if body_parts else "GET"
    return method, urls, headers, body


def _wget(args: tuple[str, ...]) -> Request:
    method, body = "GET", ""
    urls: list[str] = []
    headers: dict[str, str] = {}
    for index, arg in enumerate(args):
        option, eq, value = arg.partition("=")
        if not eq and index + 1 < len(args):
            value = args[index + 1]
        if option == "--method":
            method = value.upper()
        elif option in ("--post-data", "--body-data", "--post-file", "--body-file"):
            body = value
            method = "POST" if method == "GET" else method
        elif option == "--header":
            key, _, val = value.partition(":")
            headers[key.strip()] = val.strip()
        elif not arg.startswith("-") and (
            index == 0 or "=" in args[index - 1] or not args[index - 1].startswith("--")
        ):
            urls.append(arg)
    return method, urls, headers, body


def _httpie(args: tuple[str, ...], https: bool) -> Request:
    positionals = [a for a in args if not a.startswith("-")]
    method = "GET"
    if positionals and positionals[0].isalpha() and positionals[0].isupper():
        method = positionals.pop(0)
    url = positionals.pop(0) if positionals else ""
    if url and "://" not in url and not is_dynamic(url):
        url = ("https://" if https else "http://") + url.lstrip(":")
    headers: dict[str, str] = {}
    fields: list[str] = []
    for item in positionals:
        if ":=" in item or "=" in item:
            fields.append(item)
        elif ":" in item:
            key, _, val = item.partition(":")
            headers[key] = val
    if fields and method == "GET" and not any(a in ("-f", "--form") for a in args):
        method = "POST"
    return method, [url] if url else [], headers, "&".join(fields)
