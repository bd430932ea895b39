"""Database clients on the command line: which SQL they send, and to which environment.

Called by :mod:`.clients` for ``psql``, ``mysql``/``mariadb``, ``sqlite3``, ``redis-cli`` and
``mongosh`` (and their look-alikes). Each client's options are read the way its own option
parser reads them, because each difference hid a statement: ``psql -qtAc 'DROP …'`` (bundled
short options), ``mysql -p -e 'DROP …'`` (``-p`` takes a value only when attached),
``mysql -e"DROP …"`` / ``--execute=…`` (attached values), ``psql -W -c …`` (``-W`` takes none).

The target's environment (issue 3): a client that names no host talks to this machine (a unix
socket), and so does one that names a loopback host: the action's environment. A remote host
or URL is looked up with :func:`interlock.environments.target_environment` (as a database,
then as a host), and a target nobody can place, or one only known at run time, is
``unknown``, which the engine treats as production for what cannot be undone.

SQL the client reads from a file Interlock did not read (``psql -f x.sql``, ``psql < x.sql``,
``mongosh script.js``, ``redis-cli --eval x.lua``) is ask: not seen is not harmless.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace

from interlock.analyzers import SimpleCommand, is_dynamic, show, unknown
from interlock.decisions import Finding


@dataclass(frozen=True)
class Spec:
    """How one client reads its options."""

    values: frozenset[str]
    """Options that take a value (``-h host``, ``--host=host``)."""
    sql: frozenset[str] = frozenset()
    files: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()
    urls: frozenset[str] = frozenset()
    """Options whose value is a connection URL or conninfo string (``-d``, ``-u``, ``--url``)."""
    optional: frozenset[str] = frozenset()
    """Options that take a value only when it is attached (mysql's ``-p`` / ``--password``)."""
    bundles: bool = True
    """getopt-style short options: ``-qtAc SQL`` is ``-q -t -A -c SQL``."""
    single_dash_long: bool = False
    """sqlite3's ``-cmd``, ``-init``: long names after one dash (two work too)."""


def _f(*names: str) -> frozenset[str]:
    return frozenset(names)


_PSQL = Spec(
    values=_f("-c", "-d", "-f", "-h", "-p", "-U", "-v", "-o", "-L", "-P", "-F", "-R", "-T",
              "--command", "--dbname", "--file", "--host", "--port", "--username", "--variable",
              "--set", "--output", "--log-file", "--pset", "--field-separator",
              "--record-separator", "--table-attr"),
    sql=_f("-c", "--command"), files=_f("-f", "--file"), hosts=_f("-h", "--host"),
    urls=_f("-d", "--dbname"),
)  # fmt: skip
_MYSQL = Spec(
    values=_f("-e", "-h", "-u", "-P", "-D", "-S", "-p", "--execute", "--host", "--user", "--port",
              "--database", "--socket", "--init-command", "--defaults-file", "--password",
              "--defaults-extra-file", "--login-path", "--protocol", "--default-character-set",
              "--ssl-ca", "--ssl-cert", "--ssl-key", "--tee", "--pager", "--prompt"),
    sql=_f("-e", "--execute", "--init-command"), hosts=_f("-h", "--host"),
    optional=_f("-p", "--password", "--pager"),
)  # fmt: skip
_SQLITE = Spec(
    values=_f("-cmd", "-init", "-separator", "-nullvalue", "-newline", "-vfs", "-mmap", "-heap",
              "-maxsize", "-escape"),
    sql=_f("-cmd"), files=_f("-init"), bundles=False, single_dash_long=True,
)  # fmt: skip
_REDIS = Spec(
    values=_f("-h", "-p", "-s", "-a", "-u", "-r", "-i", "-n", "-d", "-D", "--user", "--pass",
              "--pattern", "--count", "--quoted-pattern", "--eval", "--cacert", "--cacertdir",
              "--cert", "--key", "--sni", "--rdb", "--functions-rdb", "--memkeys-samples",
              "--pipe-timeout", "--tls-ciphers", "--tls-ciphersuites", "--keystats-samples"),
    files=_f("--eval"), hosts=_f("-h"), urls=_f("-u"), bundles=False,
)  # fmt: skip
_MONGO = Spec(
    values=_f("--host", "--port", "-u", "--username", "-p", "--password", "--eval", "-f", "--file",
              "--authenticationDatabase", "--authenticationMechanism", "--tlsCAFile",
              "--tlsCertificateKeyFile", "--apiVersion", "--awsAccessKeyId"),
    sql=_f("--eval"), files=_f("-f", "--file"), hosts=_f("--host"), optional=_f("-p"),
    bundles=False,
)  # fmt: skip
_OTHER = Spec(  # pgcli, mycli, litecli, usql, cockroach sql, clickhouse-client
    values=_f("-c", "--command", "-e", "--execute", "--eval", "-x", "--query", "-q", "-f",
              "--file", "--init", "--source", "-h", "--host", "--hostname", "-u", "--uri",
              "--url", "-d", "--dbname", "-p", "--port", "-U", "--username", "-n", "-a",
              "--user", "-P", "-D", "--database", "--set", "-v", "--variable", "-o",
              "--output", "-S", "--socket", "--tls-cert"),
    sql=_f("-c", "--command", "-e", "--execute", "--eval", "-x", "--query", "-q"),
    files=_f("-f", "--file", "--init", "--source"),
    hosts=_f("-h", "--host", "--hostname"), urls=_f("-u", "--uri", "--url", "-d", "--dbname"),
    bundles=False,
)  # fmt: skip
SPECS = {"psql": _PSQL, "mysql": _MYSQL, "mariadb": _MYSQL, "sqlite3": _SQLITE,
         "sqlite": _SQLITE, "redis-cli": _REDIS, "valkey-cli": _REDIS, "mongosh": _MONGO,
         "mongo": _MONGO}  # fmt: skip
_HOST_VARIABLES = {"postgres": ("PGHOST",), "mysql": ("MYSQL_HOST",)}


@dataclass
class Parsed:
    statements: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    host: str | None = None
    url: str | None = None
    positionals: list[str] = field(default_factory=list)
    stdin_arg: bool = False
    """redis-cli ``-x``: the last argument is read from standard input."""


def parse(spec: Spec, args: tuple[str, ...]) -> Parsed:
    out = Parsed()

    def record(option: str, value: str | None) -> None:
        if value is None:
            return
        if option in spec.sql:
            out.statements.append(value)
        elif option in spec.files:
            out.files.append(value)
        elif option in spec.hosts:
            out.host = value
        elif option in spec.urls:
            out.url = value

    index = 0
    while index < len(args):
        arg = args[index]
        nxt = args[index + 1] if index + 1 < len(args) else ""
        index += 1
        if arg == "--":
            out.positionals += args[index:]
            break
        if arg.startswith("--") or (spec.single_dash_long and arg.startswith("-") and len(arg) > 2):
            name, eq, value = arg.partition("=")
            if spec.single_dash_long:
                name = "-" + name.lstrip("-")
            if eq:
                record(name, value)
            elif name in spec.values and name not in spec.optional:
                record(name, nxt)
                index += 1
            continue
        if arg.startswith("-") and len(arg) > 1:
            for j in range(1, len(arg)):
                option = "-" + arg[j]
                if option == "-x" and spec is _REDIS:
                    out.stdin_arg = True
                if option in spec.values:
                    rest = arg[j + 1 :]
                    if rest or option in spec.optional:
                        record(option, rest or None)
                    else:
                        record(option, nxt)
                        index += 1
                    break
                if not spec.bundles:
                    break
            continue
        out.positionals.append(arg)
    return out


def analyze(cmd: SimpleCommand, dialect: str) -> list[Finding]:
    """Findings for a database client command line."""
    from interlock.analyzers import sql

    spec = SPECS.get(cmd.name, _OTHER)
    parsed = parse(spec, cmd.argv[1:])
    cmd = _with_environment(cmd, dialect, parsed)
    findings: list[Finding] = []
    for path in parsed.files:
        if path in ("-", "/dev/stdin"):
            findings += stdin_sql(cmd, dialect)
        else:
            findings.append(
                opaque(cmd, f"runs the code in {show(path)}, which Interlock did not read")
            )
    if dialect == "redis":
        if not parsed.positionals:
            return findings + ([] if parsed.files else stdin_sql(cmd, dialect))
        text = shlex.join(parsed.positionals)
        if is_dynamic(text) and not _known_verb(parsed.positionals):
            return [*findings, opaque(cmd, "sends a Redis command only known at run time")]
        return findings + sql.analyze(text.replace("\x00", "…"), dialect, cmd.scope)
    positionals = parsed.positionals
    if dialect == "sqlite" and len(positionals) >= 2:
        parsed.statements += positionals[1:]
    if dialect == "mongodb":
        for k, path in enumerate(positionals):
            if path.endswith(".js") or (k > 0 and is_dynamic(path)):
                findings.append(
                    opaque(cmd, f"runs the code in {show(path)}, which Interlock did not read")
                )
    for statement in parsed.statements:
        if is_dynamic(statement):
            findings.append(opaque(cmd, "runs SQL that is only known at run time"))
        else:
            findings.extend(sql.analyze(statement, dialect, cmd.scope))
    if (
        not parsed.statements
        and not parsed.files
        and not any(f.rule == "sql.opaque" for f in findings)
    ):
        findings.extend(stdin_sql(cmd, dialect))
    return findings


def _known_verb(words: list[str]) -> bool:
    """``xargs redis-cli del``: the keys are unknown, but the command is not."""
    return bool(words) and not is_dynamic(words[0])


def stdin_sql(cmd: SimpleCommand, dialect: str) -> list[Finding]:
    from interlock.analyzers import sql

    if cmd.stdin is not None:
        return sql.analyze(cmd.stdin, dialect, cmd.scope)
    if cmd.stdin_unknown:
        return [
            opaque(
                cmd,
                f"feeds {cmd.name} SQL from a pipe or a file Interlock did not read",
            )
        ]
    return []  # an interactive session: each statement typed later is not seen here


def opaque(cmd: SimpleCommand, what: str) -> Finding:
    return unknown(
        what,
        rule="sql.opaque",
        operation="db.unparsed",
        environment=cmd.scope.environment,
        evidence=cmd.text,
    )


# ------------------------------------------------------------------------------ environment


def _with_environment(cmd: SimpleCommand, dialect: str, parsed: Parsed) -> SimpleCommand:
    environment = target_of(cmd, dialect, parsed)
    return replace(cmd, scope=replace(cmd.scope, environment=environment))


def target_of(cmd: SimpleCommand, dialect: str, parsed: Parsed) -> str | None:
    """The environment of the server the client talks to (see the module docstring)."""
    from interlock.environments import UNKNOWN, is_loopback, resolve, target_environment

    scope = cmd.scope
    url, host, dbname = parsed.url, parsed.host, None
    first = parsed.positionals[0] if parsed.positionals else None
    if first is not None and dialect in ("postgres", "mongodb", "mysql"):
        if "://" in first or (dialect == "postgres" and "=" in first):
            url = url or first
        elif dialect == "mongodb" and not first.endswith(".js") and ("/" in first or ":" in first):
            host = host or first.split("/", 1)[0].rsplit(":", 1)[0]
            dbname = first.split("/", 1)[-1] if "/" in first else None
        elif dialect != "mongodb" or not first.endswith(".js"):
            dbname = first
    if url and "://" not in url and "=" not in url and not is_dynamic(url):
        url, dbname = None, url  # psql -d name
    for name, value in cmd.assignments:
        if name in _HOST_VARIABLES.get(dialect, ()) and host is None:
            host = value
        elif name == "DATABASE_URL" and url is None:
            url = value
    if any(v is not None and is_dynamic(v) for v in (url, host)):
        return UNKNOWN  # a server only known at run time: nobody can place it
    if url:
        host = _url_host(url) or host
    if not host or host.startswith("/") or is_loopback(host):
        placed = (
            resolve(scope.policy, "database", dbname) if dbname and not is_dynamic(dbname) else None
        )
        return placed or scope.environment
    environment = target_environment(scope, "database", url or host)
    if environment == UNKNOWN:
        environment = target_environment(scope, "host", host)
    return environment


def _url_host(url: str) -> str | None:
    if "://" in url:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
            return parts.hostname or None
        except ValueError:
            return "unreadable"
    for part in url.split():
        key, _, value = part.partition("=")
        if key in ("host", "hostaddr"):
            return value.strip("'") or None
    return None
