"""SQL rules for statements that reach outside the database: the server's files, shell and state.

Internal to ``interlock.analyzers.sql``. A database role that may run ``COPY … TO PROGRAM`` or
``pg_read_file`` has a shell or the file system of the database host, which is worse than any
DROP: those are deny (``db.shell_escape``, ``db.server_file_access``), as are MySQL's ``INTO
OUTFILE`` and SQLite's ``load_extension()``. Statements that act on the server as a whole are
ask: ``pg_terminate_backend(…)``, MySQL ``SET GLOBAL``/``SET PERSIST`` (its ALTER SYSTEM; the
PostgreSQL one is read with the other ALTERs) and ``SHUTDOWN``, SQLite ``ATTACH`` (which
creates the file it names).
"""

from __future__ import annotations

from interlock.analyzers.sql_context import Ctx
from interlock.analyzers.sql_lexer import Tok, kw, top_level
from interlock.decisions import Finding, Verdict


def on_copy(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    top = top_level(toks, i, len(toks))
    for k, idx in enumerate(top):
        if kw(toks, idx) in {"TO", "FROM"} and k + 1 < len(top):
            nxt = toks[top[k + 1]]
            if nxt.kind == "word" and nxt.text == "PROGRAM":
                cmd = toks[top[k + 2]].text if k + 2 < len(top) else ""
                return [
                    ctx.find(
                        "db.shell_escape",
                        f"runs the shell command {cmd!r} on the database server",
                        "sql.copy_program",
                        ev,
                        targets=(cmd,),
                        verdict=Verdict.DENY,
                    )
                ]
            if nxt.kind == "str":
                return [
                    ctx.find(
                        "db.server_file_access",
                        f"reads or writes the server file {nxt.text}",
                        "sql.server_file",
                        ev,
                        targets=(nxt.text,),
                        verdict=Verdict.DENY,
                    )
                ]
    return []


def on_into_outfile(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    """MySQL's ``SELECT … INTO OUTFILE/DUMPFILE``: INTO anywhere at the statement's top level."""
    findings: list[Finding] = []
    if ctx.dialect == "mysql":
        top = [kw(toks, j) for j in top_level(toks, i, len(toks))]
        if "INTO" in top and ("OUTFILE" in top or "DUMPFILE" in top):
            findings.append(
                ctx.find(
                    "db.server_file_access",
                    "writes query results to a file on the database server",
                    "sql.server_file",
                    ev,
                    verdict=Verdict.DENY,
                )
            )
    return findings


def on_set(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    """MySQL's ``SET GLOBAL`` / ``SET PERSIST``: its ALTER SYSTEM."""
    if ctx.dialect != "mysql" or kw(toks, i + 1) not in {"GLOBAL", "PERSIST", "PERSIST_ONLY"}:
        return []
    return [
        ctx.find(
            "db.alter_system", "changes the database server's configuration", "sql.alter_system", ev
        )
    ]


def on_shutdown(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    if ctx.dialect != "mysql":
        return []
    return [ctx.find("db.shutdown", "shuts the database server down", "sql.shutdown", ev)]


def on_attach(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    if ctx.dialect != "sqlite":
        return []
    return [
        ctx.find("db.attach", "attaches (and may create) another database file", "sql.attach", ev)
    ]


_SERVER_FILES = frozenset(
    {
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "lo_import",
        "lo_export",
        "pg_file_write",
        "pg_file_unlink",
        "pg_file_rename",
        "load_file",
    }
)


def on_call(tok: Tok, ev: str, ctx: Ctx) -> list[Finding]:
    if tok.kind not in ("word", "qident"):
        return []
    name = tok.text.lower()
    if name == "pg_terminate_backend":
        return [
            ctx.find(
                "db.terminate_backend",
                "terminates other database sessions",
                "sql.terminate_backend",
                ev,
            )
        ]
    if name in _SERVER_FILES:
        return [
            ctx.find(
                "db.server_file_access",
                f"reads or writes files on the database server ({name})",
                "sql.server_file",
                ev,
                verdict=Verdict.DENY,
            )
        ]
    if name == "load_extension":
        return [
            ctx.find(
                "db.shell_escape",
                "loads native code into the database process",
                "sql.load_extension",
                ev,
                verdict=Verdict.DENY,
            )
        ]
    return []
