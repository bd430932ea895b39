"""Redis and MongoDB: redis-cli command lines and mongosh JavaScript that destroy data.

Internal to ``interlock.analyzers.sql``, which sends the ``redis`` and ``mongodb`` dialects
here. Neither is SQL, but an agent wipes a cache with ``FLUSHALL`` or a collection with
``db.users.deleteMany({})`` just as it drops a table, so they are judged the same way and give
the same findings (``db.flushall``, ``db.drop_table``, ``db.delete_all_rows``, …).

Redis: one command a line, split with redis-cli's quoting; an unclosed quote is ask, and
``EVAL``/``FCALL`` run server-side scripts Interlock does not read, so they are ask too.
MongoDB: method calls found on real JavaScript tokens (the interpreters lexer, imported
lazily: it is only needed for this dialect), so strings and comments cannot fake or hide one;
``deleteMany``/``updateMany``/``remove`` count only with an empty filter.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from interlock.analyzers.sql_context import Ctx, short
from interlock.decisions import Finding, Verdict

if TYPE_CHECKING:
    from interlock.analyzers.interpreters import Token

# --------------------------------------------------------------------------------------- Redis

_REDIS: dict[str, tuple[str, str, bool | None]] = {
    "FLUSHALL": ("db.flushall", "deletes every key in every Redis database", False),
    "FLUSHDB": ("db.flushdb", "deletes every key in the selected Redis database", False),
    "DEL": ("db.delete_keys", "deletes Redis keys {args}", False),
    "UNLINK": ("db.delete_keys", "deletes Redis keys {args}", False),
    "CONFIG SET": ("db.config_set", "changes the Redis server's configuration ({args})", None),
    "SHUTDOWN": ("db.shutdown", "shuts the Redis server down", None),
    "DEBUG": ("db.debug", "runs DEBUG {args}, which can crash or stall the server", None),
    "SCRIPT FLUSH": ("db.script_flush", "removes every cached Lua script", None),
    "FUNCTION FLUSH": ("db.script_flush", "removes every Redis function library", None),
    "FUNCTION DELETE": ("db.script_flush", "removes the Redis function library {args}", None),
    "SWAPDB": ("db.swapdb", "swaps two Redis databases ({args})", None),
    "REPLICAOF": (
        "db.replicaof",
        "makes the server a replica, replacing its data with the primary's",
        False,
    ),
    "SLAVEOF": (
        "db.replicaof",
        "makes the server a replica, replacing its data with the primary's",
        False,
    ),
    "MODULE LOAD": ("db.native_code", "loads a native module into Redis ({args})", None),
}
_REDIS_OPAQUE = frozenset({"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})


def analyze_redis(text: str, ctx: Ctx) -> list[Finding]:
    """redis-cli input: one command a line; quotes as redis-cli reads them."""
    out: list[Finding] = []
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=False)
        except ValueError:
            out.append(
                ctx.find(
                    "db.unparsed",
                    "contains a Redis command Interlock cannot read (unclosed quote)",
                    "redis.unparsed",
                    short(line),
                    floor=Verdict.ASK,
                )
            )
            continue
        if words and words[0].isdigit():  # redis-cli's "N COMMAND" repeats a command N times
            words = words[1:]
        if not words:
            continue
        cmd = words[0].upper()
        pair = f"{cmd} {words[1].upper()}" if len(words) > 1 else cmd
        key, args = (pair, words[2:]) if pair in _REDIS else (cmd, words[1:])
        if cmd in _REDIS_OPAQUE:
            out.append(
                ctx.find(
                    "db.eval",
                    "runs a server-side Redis script Interlock does not read",
                    "redis.eval",
                    short(line),
                    floor=Verdict.ASK,
                )
            )
            continue
        if key not in _REDIS or (
            cmd in {"REPLICAOF", "SLAVEOF"} and [a.upper() for a in args] == ["NO", "ONE"]
        ):
            continue
        operation, summary, reversible = _REDIS[key]
        shown = " ".join(args[:5]) + (" …" if len(args) > 5 else "")
        out.append(
            ctx.find(
                operation,
                summary.format(args=shown).replace(" ()", ""),
                f"redis.{key.lower().replace(' ', '_')}",
                short(line),
                targets=tuple(args) if cmd in {"DEL", "UNLINK"} else (),
                reversible=reversible,
            )
        )
    return out


# ------------------------------------------------------------------------------------- MongoDB

_MONGO: dict[str, tuple[str, str, str]] = {
    # method: (operation, summary with {target}, when: "always" | "empty" (no filter or {}))
    "dropDatabase": (
        "db.drop_database",
        "drops MongoDB database {target}; the data is lost",
        "always",
    ),
    "drop": ("db.drop_table", "drops the MongoDB collection {target}; the data is lost", "always"),
    "deleteMany": ("db.delete_all_rows", "deletes every document of {target}", "empty"),
    "remove": ("db.delete_all_rows", "deletes every document of {target}", "empty"),
    "updateMany": ("db.update_all_rows", "updates every document of {target}", "empty"),
    "dropUser": ("db.drop_role", "drops a MongoDB user", "always"),
    "dropAllUsers": ("db.drop_role", "drops every user of the MongoDB database {target}", "always"),
}
_MONGO_COMMANDS = re.compile(
    r"""["']?\b(dropDatabase|drop|dropAllUsersFromDatabase|dropUser)\b["']?\s*:"""
)


def analyze_mongo(code: str, ctx: Ctx) -> list[Finding]:
    """mongosh JavaScript: destructive collection and database methods, found on real tokens."""
    from interlock.analyzers.interpreters import lex

    toks, error = lex("node", code)
    out: list[Finding] = []
    for k in range(1, len(toks) - 1):
        tok = toks[k]
        if tok.kind != "name" or toks[k - 1].text != "." or toks[k + 1].text != "(":
            continue
        close = _js_close(toks, k + 1)
        ev = short(
            code[_js_receiver(toks, k - 1) : toks[close].end if close < len(toks) else len(code)]
        )
        if tok.text in ("runCommand", "adminCommand"):
            args = code[toks[k + 1].end : toks[close].start if close < len(toks) else len(code)]
            m = _MONGO_COMMANDS.search(args)
            if m:
                operation = "db.drop_database" if m.group(1) == "dropDatabase" else "db.drop_table"
                out.append(
                    ctx.find(
                        operation,
                        f"runs the MongoDB command {m.group(1)}; the data is lost",
                        "mongo.command",
                        ev,
                        reversible=False,
                    )
                )
            continue
        if tok.text not in _MONGO:
            continue
        operation, summary, when = _MONGO[tok.text]
        inside = [t.text for t in toks[k + 2 : close]]
        if when == "empty" and not (
            inside == [] or (inside[:2] == ["{", "}"] and inside[2:3] in ([], [","]))
        ):
            continue
        receiver = code[_js_receiver(toks, k - 1) : toks[k - 1].start]
        target = _mongo_target(receiver)
        out.append(
            ctx.find(
                operation,
                summary.format(target=target),
                f"mongo.{tok.text.lower()}",
                ev,
                targets=(target,),
                reversible=False,
            )
        )
    if error is not None:
        out.append(
            ctx.find(
                "db.unparsed",
                f"contains MongoDB shell code Interlock cannot read: {error}",
                "mongo.unparsed",
                short(code),
                floor=Verdict.ASK,
            )
        )
    return out


def _js_close(toks: list[Token], k: int) -> int:
    """Index of the bracket closing the one at ``k`` (len(toks) when it never closes)."""
    depth = 0
    for j in range(k, len(toks)):
        if toks[j].kind == "op" and toks[j].text in "([{":
            depth += 1
        elif toks[j].kind == "op" and toks[j].text in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return len(toks)


def _js_receiver(toks: list[Token], dot: int) -> int:
    """Start offset of the member chain before ``toks[dot]``: ``db.getCollection("x")``."""
    start, j = toks[dot].start, dot - 1
    while j >= 0:
        t = toks[j]
        if t.kind == "op" and t.text in ")]":
            depth = 0
            while j >= 0:
                if toks[j].kind == "op" and toks[j].text in ")]":
                    depth += 1
                elif toks[j].kind == "op" and toks[j].text in "([":
                    depth -= 1
                    if depth == 0:
                        break
                j -= 1
            if j < 0:
                break
            start, j = toks[j].start, j - 1
        elif t.kind in ("name", "str"):
            start = t.start
            if j >= 1 and toks[j - 1].kind == "op" and toks[j - 1].text == ".":
                j -= 2
            else:
                break
        else:
            break
    return start


def _mongo_target(receiver: str) -> str:
    m = re.fullmatch(
        r"""\s*db\s*\.\s*(?:getCollection\s*\(\s*["'](.+?)["']\s*\)|(\w+))\s*""", receiver
    )
    if m:
        return m.group(1) or m.group(2)
    m = re.fullmatch(r"""\s*db\s*\.\s*getSiblingDB\s*\(\s*["'](.+?)["']\s*\)\s*""", receiver)
    if m:
        return m.group(1)
    if re.fullmatch(r"\s*db\s*", receiver):
        return "(the current one)"
    return receiver.strip() or "(the current one)"
