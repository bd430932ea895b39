"""SQL client commands: psql's backslash commands, the mysql client's, sqlite3's dot-commands.

Internal to ``interlock.analyzers.sql``. These never reach the server: the client on the
agent's machine runs them, so ``\\!``, ``.shell``, ``\\copy … program`` and ``\\o |cmd`` are a
shell on the workstation (deny, ``db.shell_escape``) whatever the SQL around them is. ``\\i``,
``source`` and ``.read`` run a file Interlock has not read, and ``\\gexec`` runs query results
as SQL: both ask with floor ask. The lexer hands each such line over whole as a ``meta`` token;
mysql's ``system …`` and ``source …`` written as words arrive here too.
"""

from __future__ import annotations

from interlock.analyzers.sql_context import Ctx, short
from interlock.analyzers.sql_lexer import Tok, kw
from interlock.decisions import Finding, Verdict


def on_meta(line: str, ev: str, ctx: Ctx) -> list[Finding]:
    """psql backslash commands, the mysql client's ``\\!``/``\\.``, sqlite3's dot-commands."""
    cmd, _, arg = line.partition(" ")
    cmd, arg = cmd.lower(), arg.strip()
    shell = cmd in {"\\!", ".shell", ".system", "\\system"} or (
        "`" in arg and ctx.dialect == "postgres"
    )
    piped = cmd in {
        "\\o",
        "\\out",
        "\\g",
        "\\w",
        "\\write",
        ".output",
        ".once",
        ".read",
        "\\copy",
    } and (arg.startswith("|") or (cmd == "\\copy" and " program " in f" {arg.lower()} "))
    if shell or piped:
        return [
            ctx.find(
                "db.shell_escape",
                f"runs a shell command from the SQL client ({short(line, 80)})",
                "sql.client_shell",
                ev,
                targets=(arg,),
                verdict=Verdict.DENY,
            )
        ]
    if cmd in {"\\i", "\\ir", "\\include", "\\include_relative", "\\.", ".read"}:
        return [
            ctx.find(
                "db.include_file",
                f"runs the SQL in {arg or 'a file'}, which Interlock has not read",
                "sql.include",
                ev,
                targets=(arg,),
                floor=Verdict.ASK,
            )
        ]
    if cmd == "\\gexec":
        return [
            ctx.find(
                "db.dynamic_sql",
                "runs each result of the query as SQL (\\gexec)",
                "sql.dynamic",
                ev,
                floor=Verdict.ASK,
            )
        ]
    return []


def _join(toks: list[Tok]) -> str:
    """Text rebuilt from tokens, for client commands whose arguments were lexed as SQL."""
    return " ".join(repr(t.text) if t.kind == "str" else t.text for t in toks)


def on_client(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    """MySQL's client commands ``system …`` and ``source file`` written as words."""
    if ctx.dialect != "mysql":
        return []
    return on_meta(("\\! " if kw(toks, i) == "SYSTEM" else "\\. ") + _join(toks[i + 1 :]), ev, ctx)
