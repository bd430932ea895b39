"""The rules for PostgreSQL's parse tree: one handler per node type, found at any depth.

Internal to ``interlock.analyzers.sql``. ``Walker`` visits every node of a statement, so a
DELETE inside a CTE, a ``pg_terminate_backend`` deep in a subquery or a DROP inside a rule
action is found wherever it sits. Nodes that hold a statement which does *not* run now are
not descended blindly: plain ``EXPLAIN`` (only ``EXPLAIN ANALYZE`` runs it), ``PREPARE``
(judged with a note, runs on EXECUTE), function bodies (run when called) and DO blocks.

Operation names are those of the lexical rules of issue 2 (docs/analyzers.md), so policies
written against them keep working.
"""

from __future__ import annotations

from typing import Any

from interlock.analyzers.sql_context import Ctx
from interlock.analyzers.sql_pg_truth import Node, const, truth, unwrap
from interlock.decisions import Finding, Verdict
from interlock.environments import is_loopback, target_environment


def _svals(items: Any) -> list[str]:
    out: list[str] = []
    for item in items if isinstance(items, list) else [items]:
        kind, f = unwrap(item)
        if kind == "String":
            out.append(str(f.get("sval", "")))
        elif kind == "List":
            out += _svals(f.get("items", []))
    return out


def _object_name(obj: Any) -> str:
    kind, f = unwrap(obj)
    if kind in ("String", "List"):
        return ".".join(_svals(obj))
    if kind == "ObjectWithArgs":
        return ".".join(_svals(f.get("objname", [])))
    if kind == "TypeName":
        return ".".join(_svals(f.get("names", [])))
    return ""


def _relation(rv: Any) -> str:
    f = unwrap(rv)[1] or (rv if isinstance(rv, dict) else {})
    return ".".join(p for p in (f.get("schemaname"), f.get("relname")) if p)


def _role(spec: Any) -> str:
    f = unwrap(spec)[1] or (spec if isinstance(spec, dict) else {})
    if f.get("roletype") == "ROLESPEC_PUBLIC":
        return "PUBLIC"
    return str(f.get("rolename") or f.get("roletype", "a role")).lower().replace("rolespec_", "")


def _defelems(options: Any) -> dict[str, Any]:
    """``DefElem`` options by name, each with its argument (True when none is given)."""
    out: dict[str, Any] = {}
    for item in options or []:
        kind, f = unwrap(item)
        if kind == "DefElem":
            out[str(f.get("defname"))] = f.get("arg", True)
    return out


def _on(arg: Any) -> bool:
    """An option's argument read as a boolean: ``ANALYZE``, ``ANALYZE true``, ``(FULL 1)``."""
    if arg is True:
        return True
    kind, f = unwrap(arg)
    if kind == "Boolean":
        return bool(f.get("boolval", False))
    if kind == "Integer":
        return bool(f.get("ival", 0))
    value = truth(arg)
    if value is None:
        kind, f = unwrap(arg)
        if kind == "String":
            return str(f.get("sval", "")).lower() not in ("false", "off", "0", "no")
        return True  # not understood: read as on, the strict reading
    return value


_DROP_REVERSIBLE: dict[str, bool | None] = {
    "table": False,
    "schema": False,
    "database": False,
    "sequence": False,
    "materialized_view": False,
    "foreign_table": None,
    "index": True,
}
_DROP_NOUN = {"matview": "materialized view", "foreign_table": "foreign table"}
_SERVER_FILES = frozenset(
    {"pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "lo_import", "lo_export",
     "pg_file_write", "pg_file_unlink", "pg_file_rename", "pg_file_sync"}
)  # fmt: skip
_RUNS_SQL = {"dblink_exec": 1, "dblink": 1, "dblink_send_query": 1, "dblink_open": 2,
             "query_to_xml": 0, "query_to_xml_and_xmlschema": 0, "query_to_xmlschema": 0}  # fmt: skip
"""Functions that run SQL text, and which argument is the text (the last given, for dblink)."""
_ROLE_POWERS = {"superuser", "createrole", "bypassrls", "isreplication"}


class Walker:
    """Visits one statement's tree and appends findings to ``out``."""

    def __init__(self, ctx: Ctx, ev: str, out: list[Finding], text: str = "") -> None:
        self.ctx, self.ev, self.out = ctx, ev, out
        self.text = text
        """The whole statement (``ev`` is shortened for display)."""

    def add(
        self,
        operation: str,
        summary: str,
        rule: str,
        *,
        targets: tuple[str, ...] = (),
        reversible: bool | None = None,
        verdict: Verdict = Verdict.ASK,
        floor: Verdict = Verdict.ALLOW,
    ) -> None:
        self.out.append(
            self.ctx.find(
                operation,
                summary,
                rule,
                self.ev,
                targets=targets,
                reversible=reversible,
                verdict=verdict,
                floor=floor,
            )
        )

    def inner(self, note: str) -> Walker:
        return Walker(self.ctx.inner(note=note), self.ev, self.out, self.text)

    def visit(self, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                if isinstance(item, (dict, list)):
                    self.visit(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, dict):
                    if "A" <= key[0] <= "Z":
                        self.node(key, item)
                    else:
                        self.visit(item)
                elif isinstance(item, list):
                    self.visit(item)

    def node(self, kind: str, f: Node) -> None:
        rule = _RULES.get(kind)
        if rule is not None:
            rule(self, f)
        elif kind.startswith("Drop") and kind.endswith("Stmt"):
            self.drop_other(kind[4:-4], f)
        if kind not in _OWN_DESCENT:
            self.visit(f)

    # ----------------------------------------------------------------------------- DROP

    def drop(self, f: Node) -> None:
        raw = str(f.get("removeType", "OBJECT_OBJECT"))[7:].lower()
        noun = _DROP_NOUN.get(raw, raw.replace("_", " "))
        key = noun.replace(" ", "_")
        names = tuple(n for n in (_object_name(o) for o in f.get("objects", [])) if n)
        self._dropped(key, noun, names, cascade=f.get("behavior") == "DROP_CASCADE")

    def _dropped(
        self, key: str, noun: str, names: tuple[str, ...], *, cascade: bool, extra: str = ""
    ) -> None:
        reversible = _DROP_REVERSIBLE.get(key)
        what = ", ".join(names) or "an object"
        summary = f"drops {noun}{'s' if len(names) > 1 else ''} {what}{extra}"
        if cascade:
            summary += ", and with CASCADE every object that depends on it"
            reversible = False if reversible is not True else None
        if reversible is False:
            summary += "; the data is lost"
        self.add(f"db.drop_{key}", summary, "sql.drop", targets=names, reversible=reversible)

    def drop_database(self, f: Node) -> None:
        force = "force" in _defelems(f.get("options"))
        extra = ", forcibly disconnecting its sessions" if force else ""
        self._dropped("database", "database", (str(f.get("dbname", "")),), cascade=False,
                      extra=extra)  # fmt: skip

    def drop_role(self, f: Node) -> None:
        names = tuple(_role(r) for r in f.get("roles", []))
        self._dropped("role", "role", names, cascade=False)

    def drop_owned(self, f: Node) -> None:
        names = tuple(_role(r) for r in f.get("roles", []))
        summary = f"drops every object owned by {', '.join(names)}"
        if f.get("behavior") == "DROP_CASCADE":
            summary += ", and with CASCADE every object that depends on them"
        self.add("db.drop_owned", summary + "; the data is lost", "sql.drop", targets=names,
                 reversible=False)  # fmt: skip

    def drop_other(self, what: str, f: Node) -> None:
        """DropTableSpaceStmt, DropSubscriptionStmt, … : any other DROP is ask too."""
        names = tuple(str(v) for k, v in f.items() if isinstance(v, str) and k.endswith("name"))
        key = what.lower()
        self._dropped(key, key, names, cascade=f.get("behavior") == "DROP_CASCADE")

    # ------------------------------------------------------------- rows, tables, columns

    def truncate(self, f: Node) -> None:
        names = tuple(_relation(r) for r in f.get("relations", []))
        self.add("db.truncate", f"deletes every row of {', '.join(names)} (TRUNCATE)",
                 "sql.truncate", targets=names, reversible=False)  # fmt: skip

    def delete(self, f: Node) -> None:
        self._every_row("DELETE", f)

    def update(self, f: Node) -> None:
        self._every_row("UPDATE", f)

    def _every_row(self, verb: str, f: Node) -> None:
        where = f.get("whereClause")
        always = ""
        if where is not None:
            if truth(where) is not True:
                return
            always = " (its WHERE is always true)"
        target = _relation(f.get("relation"))
        what = f"every row of {target or 'a table'}{always}"
        if verb == "DELETE":
            self.add("db.delete_all_rows", f"deletes {what}", "sql.delete_all",
                     targets=(target,), reversible=False)  # fmt: skip
        else:
            self.add("db.update_all_rows", f"updates {what}", "sql.update_all",
                     targets=(target,), reversible=False)  # fmt: skip

    def merge(self, f: Node) -> None:
        target = _relation(f.get("relation"))
        for clause in f.get("mergeWhenClauses", []):
            if unwrap(clause)[1].get("commandType") == "CMD_DELETE":
                self.add("db.merge_delete", f"deletes the rows of {target} its MERGE matches",
                         "sql.merge_delete", targets=(target,), reversible=False)  # fmt: skip
                return

    def alter_table(self, f: Node) -> None:
        table = _relation(f.get("relation"))
        for cmd in f.get("cmds", []):
            sub = unwrap(cmd)[1]
            subtype, name = sub.get("subtype"), str(sub.get("name", ""))
            if subtype == "AT_DropColumn":
                summary = f"drops column {name} of table {table}; its data is lost"
                self.add("db.alter_drop", summary, "sql.alter_drop", targets=(table,),
                         reversible=False)  # fmt: skip
            elif subtype == "AT_DropConstraint":
                self.add("db.alter_drop", f"drops constraint {name} of table {table}",
                         "sql.alter_drop", targets=(table,))  # fmt: skip

    # --------------------------------------------------------- statements holding statements

    def explain(self, f: Node) -> None:
        options = _defelems(f.get("options"))
        if "analyze" in options and _on(options["analyze"]):
            self.inner(" (EXPLAIN ANALYZE runs it)").visit(f.get("query"))

    def prepare(self, f: Node) -> None:
        name = str(f.get("name", ""))
        self.ctx.prepared.add(name)
        self.visit(f.get("argtypes"))
        self.inner(f" (prepared as {name}; it runs on EXECUTE)").visit(f.get("query"))

    def execute(self, f: Node) -> None:
        if str(f.get("name", "")) not in self.ctx.prepared:
            self.add("db.dynamic_sql", "executes SQL whose text is not in this input",
                     "sql.dynamic", floor=Verdict.ASK)  # fmt: skip

    def do(self, f: Node) -> None:
        from interlock.analyzers.sql_pg_body import judge_body

        options = _defelems(f.get("args"))
        language = _sval(options.get("language")) or "plpgsql"
        self.add("db.dynamic_sql", "runs a procedural DO block Interlock cannot fully follow",
                 "sql.do_block", floor=Verdict.ASK)  # fmt: skip
        body = _sval(options.get("as"))
        judge_body(self, language.lower(), body, None, " (inside a DO block)")

    def create_function(self, f: Node) -> None:
        from interlock.analyzers.sql_pg_body import judge_body

        name = ".".join(_svals(f.get("funcname", [])))
        self.ctx.routines.add(name.lower())
        self.visit(f.get("parameters"))
        options = _defelems(f.get("options"))
        language = (_sval(options.get("language")) or "sql").lower()
        noun = "procedure" if f.get("is_procedure") else "function"
        note = f" (inside {noun} {name}, when it runs)"
        body = options.get("as")
        parts = _svals(body) if body is not None else []
        if language == "c":
            self.add("db.shell_escape", f"creates {noun} {name} from native code "
                     f"({', '.join(parts)}), which runs with the server's rights",
                     "sql.native_function", targets=tuple(parts), verdict=Verdict.DENY)  # fmt: skip
            return
        if "sql_body" in f:
            self.inner(note).visit(f.get("sql_body"))
        if parts:
            judge_body(self, language, parts[0], self.text if language == "plpgsql" else None, note)

    def call(self, f: Node) -> None:
        call = f.get("funccall")
        fields = unwrap(call)[1] or (call if isinstance(call, dict) else {})
        name = ".".join(_svals(fields.get("funcname", [])))
        if name.lower() not in self.ctx.routines:
            self.add("db.call_procedure",
                     f"calls procedure {name}, whose body Interlock has not read",
                     "sql.call", targets=(name,))  # fmt: skip

    # -------------------------------------------------------------- functions in expressions

    def func_call(self, f: Node) -> None:
        name = (_svals(f.get("funcname", [])) or [""])[-1].lower()
        if name in ("pg_terminate_backend", "pg_cancel_backend"):
            what = "terminates" if "terminate" in name else "cancels the queries of"
            self.add("db.terminate_backend", f"{what} other database sessions",
                     "sql.terminate_backend")  # fmt: skip
        elif name in _SERVER_FILES:
            self.add("db.server_file_access",
                     f"reads or writes files on the database server ({name})",
                     "sql.server_file", verdict=Verdict.DENY)  # fmt: skip
        elif name in _RUNS_SQL:
            self._runs_sql(name, f.get("args", []))

    def _runs_sql(self, name: str, args: list[Any]) -> None:
        from interlock.analyzers.sql_pg import parse_and_walk

        index = _RUNS_SQL[name]
        if name.startswith("dblink"):
            index = min(index, len(args) - 1)
            if len(args) > 1 and isinstance(const(args[-1]), bool) and name == "dblink_exec":
                index = len(args) - 2  # dblink_exec(sql, fail_on_error)
        text = const(args[index]) if 0 <= index < len(args) else None
        if not isinstance(text, str):
            self.add("db.dynamic_sql", f"runs SQL built at run time through {name}",
                     "sql.dynamic", floor=Verdict.ASK)  # fmt: skip
            return
        if not name.startswith("dblink"):
            self.out.extend(parse_and_walk(text, self.ctx.inner(note=f" (run by {name})")))
            return
        conn = const(args[0]) if index > 0 else None
        ctx = self.ctx.elsewhere(
            _dblink_environment(self.ctx, conn), f" (run through {name} on another database)"
        )
        self.out.extend(parse_and_walk(text, ctx))

    # --------------------------------------------------------------------- the server itself

    def alter_system(self, f: Node) -> None:
        self.add("db.alter_system", "changes the database server's configuration",
                 "sql.alter_system")  # fmt: skip

    def grant(self, f: Node) -> None:
        names = tuple(_role(r) for r in f.get("grantees", []) or f.get("grantee_roles", []))
        who = ", ".join(names) or "a role"
        if f.get("is_grant"):
            self.add("db.grant", f"grants privileges to {who}", "sql.grant", targets=names)
        else:
            self.add("db.revoke", f"revokes privileges from {who}", "sql.revoke", targets=names)

    def role_powers(self, f: Node) -> None:
        options = _defelems(f.get("options"))
        granted = sorted(p for p in _ROLE_POWERS if p in options and _on(options[p]))
        if granted:
            role = f.get("role")
            name = role if isinstance(role, str) else _role(role)
            powers = ", ".join(p.replace("isreplication", "replication") for p in granted)
            self.add("db.grant", f"gives role {name} {powers}", "sql.grant", targets=(name,))

    def reassign_owned(self, f: Node) -> None:
        names = tuple(_role(r) for r in f.get("roles", []))
        to = _role(f.get("newrole"))
        self.add("db.grant", f"gives every object owned by {', '.join(names)} to {to}",
                 "sql.grant", targets=(to,))  # fmt: skip

    def copy(self, f: Node) -> None:
        target = str(f.get("filename", ""))
        if f.get("is_program"):
            self.add("db.shell_escape", f"runs the shell command {target!r} on the database "
                     "server", "sql.copy_program", targets=(target,), verdict=Verdict.DENY)  # fmt: skip
        elif "filename" in f:
            self.add("db.server_file_access", f"reads or writes the server file {target}",
                     "sql.server_file", targets=(target,), verdict=Verdict.DENY)  # fmt: skip

    def load(self, f: Node) -> None:
        lib = str(f.get("filename", ""))
        self.add("db.shell_escape", f"loads the native library {lib} into the database server",
                 "sql.load_extension", targets=(lib,), verdict=Verdict.DENY)  # fmt: skip

    def vacuum(self, f: Node) -> None:
        options = _defelems(f.get("options"))
        if f.get("is_vacuumcmd") and "full" in options and _on(options["full"]):
            names = tuple(_relation(unwrap(r)[1].get("relation")) for r in f.get("rels", []) or [])
            what = ", ".join(names) or "every table"
            self.add("db.vacuum_full", f"rewrites {what} under an exclusive lock (VACUUM FULL); "
                     "reads and writes wait until it ends", "sql.vacuum_full", targets=names,
                     reversible=True)  # fmt: skip


def _sval(arg: Any) -> str:
    values = _svals(arg) if arg is not None and arg is not True else []
    return values[0] if values else ""


def _dblink_environment(ctx: Ctx, conn: Any) -> str | None:
    """The environment of the server a dblink connection string names (host=… / a URL)."""
    if not isinstance(conn, str):
        return target_environment(ctx.scope, "database", None)
    host = ""
    if "://" in conn:
        from urllib.parse import urlsplit

        try:
            host = urlsplit(conn).hostname or ""
        except ValueError:
            return target_environment(ctx.scope, "database", None)
    else:
        for part in conn.split():
            key, _, value = part.partition("=")
            if key in ("host", "hostaddr"):
                host = value.strip("'")
    if not host or host.startswith("/") or is_loopback(host):
        return ctx.scope.environment
    found = target_environment(ctx.scope, "database", conn)
    return found if found != "unknown" else target_environment(ctx.scope, "host", host)


_RULES = {
    "DropStmt": Walker.drop,
    "DropdbStmt": Walker.drop_database,
    "DropRoleStmt": Walker.drop_role,
    "DropOwnedStmt": Walker.drop_owned,
    "TruncateStmt": Walker.truncate,
    "DeleteStmt": Walker.delete,
    "UpdateStmt": Walker.update,
    "MergeStmt": Walker.merge,
    "AlterTableStmt": Walker.alter_table,
    "ExplainStmt": Walker.explain,
    "PrepareStmt": Walker.prepare,
    "ExecuteStmt": Walker.execute,
    "DoStmt": Walker.do,
    "CreateFunctionStmt": Walker.create_function,
    "CallStmt": Walker.call,
    "FuncCall": Walker.func_call,
    "AlterSystemStmt": Walker.alter_system,
    "GrantStmt": Walker.grant,
    "GrantRoleStmt": Walker.grant,
    "AlterRoleStmt": Walker.role_powers,
    "CreateRoleStmt": Walker.role_powers,
    "ReassignOwnedStmt": Walker.reassign_owned,
    "CopyStmt": Walker.copy,
    "LoadStmt": Walker.load,
    "VacuumStmt": Walker.vacuum,
}
_OWN_DESCENT = frozenset({"ExplainStmt", "PrepareStmt", "DoStmt", "CreateFunctionStmt"})
"""Nodes whose handler decides which children run now (and with what note)."""
