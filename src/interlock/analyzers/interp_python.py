"""Python one-liners, read with the standard library's ``ast``.

``python -c 'import shutil as s; s.rmtree("/srv")'`` is the most common way an agent deletes
a tree without typing ``rm`` (issue 2, ../shared/notes/peers.md), and Python, unlike the other
interpreters, can be parsed exactly. The scanner walks the module in source order, resolving
imports and aliases (``import shutil as s``, ``from os import remove``, ``from subprocess
import *``, ``__import__("os")``, ``getattr(os, "system")``), following names bound to literals
and ``Path(…) / "x"``, and looks calls up in the ``PY_*`` tables of :mod:`.interp_tables`.

Fail closed: a path or command built at run time gives a target of None, ``exec``/``eval`` of
anything but a literal is ``opaque`` (a literal is scanned in turn), and code that does not
parse is one ``opaque`` effect. ``ast`` is imported on first use: hooks that never see
``python -c`` do not pay for it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from interlock.analyzers.interp_effect import Effect
from interlock.analyzers.interp_tables import (
    PY_DB,
    PY_DELETE,
    PY_HTTP,
    PY_OPAQUE,
    PY_SHELL_FIRST,
)

__all__ = ["scan_python"]


def scan_python(code: str) -> list[Effect]:
    """The effects of Python ``code`` in source order; code that does not parse is ``opaque``."""
    import ast

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        return [
            Effect("opaque", detail=f"python code that does not parse: {getattr(exc, 'msg', exc)}")
        ]
    scanner = _PyScanner(ast)
    scanner.visit(tree)
    return scanner.effects


class _PyScanner:
    """Walks a module in source order, tracking imports and names bound to literal values."""

    def __init__(self, ast: object) -> None:
        import ast as _ast

        self.ast = _ast
        self.aliases: dict[str, str] = {}
        self.star: list[str] = []
        self.consts: dict[str, object] = {}
        self.effects: list[Effect] = []

    def visit(self, node: object) -> None:
        ast = self.ast
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    self.aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                if a.name == "*":
                    self.star.append(node.module)
                else:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    resolved = self.value(value) if value is not None else None
                    if resolved is None:
                        self.consts.pop(target.id, None)
                        module = self.resolve(value) if isinstance(value, ast.Call) else None
                        if module and module.count(".") == 0 and module in self.aliases.values():
                            self.aliases[target.id] = module  # m = __import__("os")
                    else:
                        self.consts[target.id] = resolved
        elif isinstance(node, ast.Call):
            self.call(node)
        for child in ast.iter_child_nodes(node):  # type: ignore[arg-type,unused-ignore]
            self.visit(child)

    def resolve(self, node: object) -> str | None:
        """The dotted name a callee refers to: ``s.rmtree`` -> ``shutil.rmtree``."""
        ast = self.ast
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            for module in self.star:
                if f"{module}.{node.id}" in PY_DELETE or f"{module}.{node.id}" in PY_SHELL_FIRST:
                    return f"{module}.{node.id}"
            return str(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            name = self.resolve(node.func)
            if name in ("__import__", "importlib.import_module") and node.args:
                imported = self.value(node.args[0])
                if isinstance(imported, str):
                    self.aliases.setdefault(imported.split(".")[0], imported.split(".")[0])
                    return imported
            if name == "getattr" and len(node.args) >= 2:
                attr = self.value(node.args[1])
                base = self.resolve(node.args[0])
                return f"{base}.{attr}" if isinstance(attr, str) and base else None
            if name in ("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"):
                return "pathlib.Path()"
        if isinstance(node, ast.Name | ast.Attribute | ast.Call | ast.BinOp) and isinstance(
            self.value(node), _PathValue
        ):
            return "pathlib.Path()"
        return None

    def value(self, node: object) -> object:
        """A literal value: str, list of str, a path, or None when it is built at run time."""
        ast = self.ast
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes | int | bool):
            return node.value.decode() if isinstance(node.value, bytes) else node.value
        if isinstance(node, ast.Name):
            return self.consts.get(node.id)
        if isinstance(node, ast.JoinedStr):
            parts = [self.value(v) for v in node.values]
            return (
                "".join(str(p) for p in parts) if all(isinstance(p, str) for p in parts) else None
            )
        if isinstance(node, ast.FormattedValue):
            return self.value(node.value)
        if isinstance(node, ast.List | ast.Tuple):
            items = [self.value(e) for e in node.elts]
            return items if all(isinstance(i, str) for i in items) else None
        if isinstance(node, ast.BinOp):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
                return left + right
            if (
                isinstance(node.op, ast.Div)
                and isinstance(left, _PathValue)
                and isinstance(right, str | _PathValue)
            ):
                return _PathValue(f"{left.path.rstrip('/')}/{right}")
            return None
        if isinstance(node, ast.Call):
            name = self.resolve(node.func) if not isinstance(node.func, ast.Call) else None
            args = [self.value(a) for a in node.args]
            if name in ("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "os.path.join"):
                if args and all(isinstance(a, str | _PathValue) for a in args):
                    joined = "/".join(
                        str(a).rstrip("/") if i < len(args) - 1 else str(a)
                        for i, a in enumerate(args)
                    )
                    return _PathValue(joined) if name != "os.path.join" else joined
                return None if args else _PathValue(".")
            if name in ("pathlib.Path.home", "os.path.expanduser") or (
                name and name.endswith("Path.home")
            ):
                return (
                    _PathValue("~")
                    if not args
                    else (str(args[0]) if isinstance(args[0], str) else None)
                )
        return None

    def text(self, node: object) -> str | None:
        value = self.value(node)
        if isinstance(value, _PathValue):
            return value.path
        return value if isinstance(value, str) else None

    def call(self, node: object) -> None:
        ast = self.ast
        assert isinstance(node, ast.Call)
        name = self.resolve(node.func) or ""
        args = node.args
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        add = self.effects.append
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in ("unlink", "rmdir")
            and name not in PY_DELETE
            and not name.startswith("os.")
        ):
            # An unknown object's .unlink()/.rmdir() is almost surely a pathlib path.
            add(
                Effect(
                    "delete", self.text(node.func.value), detail=f"pathlib.Path.{node.func.attr}"
                )
            )
            return
        if name in PY_DELETE:
            target = self.text(args[0]) if args else self.text(kwargs.get("path"))
            add(Effect("delete", target, recursive=PY_DELETE[name], detail=name))
        elif name in PY_SHELL_FIRST:
            add(Effect("shell", self.shell_text(name, args, kwargs), detail=name))
        elif name in ("exec", "eval", "compile", "builtins.exec", "builtins.eval"):
            source = self.text(args[0]) if args else None
            self.effects.extend(
                scan_python(source) if source is not None else [Effect("opaque", detail=name)]
            )
        elif name in ("__import__", "importlib.import_module", "getattr") and args:
            index = 1 if name == "getattr" else 0
            if len(args) > index and self.value(args[index]) is None:
                add(Effect("opaque", detail=f"{name} of a name built at run time"))
        elif name in PY_OPAQUE:
            add(Effect("opaque", detail=name))
        elif name == "open" or name in ("io.open", "builtins.open", "os.open"):
            mode = self.value(args[1]) if len(args) > 1 else self.value(kwargs.get("mode"))
            if (isinstance(mode, str) and set(mode) & set("wax+")) or name == "os.open":
                add(Effect("write", self.text(args[0]) if args else None, detail=name))
        elif isinstance(node.func, ast.Attribute) and node.func.attr in (
            "write_text",
            "write_bytes",
        ):
            add(
                Effect("write", self.text(node.func.value), detail=f"pathlib.Path.{node.func.attr}")
            )
        elif name in ("os.rename", "os.replace", "shutil.move", "os.truncate"):
            target = (
                args[1] if name != "os.truncate" and len(args) > 1 else (args[0] if args else None)
            )
            add(Effect("write", self.text(target), detail=name))
        else:
            self.call_io(node, name, args, kwargs)

    def call_io(
        self, node: object, name: str, args: list[object], kwargs: dict[str, object]
    ) -> None:
        ast = self.ast
        assert isinstance(node, ast.Call)
        module, _, verb = name.rpartition(".")
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if module.split(".")[0] in PY_HTTP and verb in (
            "delete",
            "post",
            "put",
            "patch",
            "request",
        ):
            method = verb.upper()
            if verb == "request":
                given = self.value(args[0]) if args else self.value(kwargs.get("method"))
                method = given.upper() if isinstance(given, str) else ""
                args = args[1:]
            if method not in ("GET", "HEAD", "OPTIONS"):
                url = self.text(args[0]) if args else self.text(kwargs.get("url"))
                self.effects.append(Effect("http", url, method=method or None, detail=name))
        elif name in ("urllib.request.Request", "urllib.request.urlopen"):
            given_method = self.value(kwargs.get("method"))
            data = kwargs.get("data") or (args[1] if len(args) > 1 else None)
            if (isinstance(given_method, str) and given_method.upper() not in ("GET", "HEAD")) or (
                given_method is None and data is not None
            ):
                url = self.text(args[0]) if args else None
                self.effects.append(
                    Effect(
                        "http",
                        url,
                        method=given_method.upper() if isinstance(given_method, str) else "POST",
                        detail=name,
                    )
                )
        elif attr in ("execute", "executemany", "executescript", "exec_driver_sql"):
            db = next(
                (m for m in PY_DB if m in {a.split(".")[0] for a in self.aliases.values()}), None
            )
            sql = self.text(args[0]) if args else None
            if db is not None or (
                sql is not None
                and re.match(
                    r"\s*(drop|delete|update|truncate|alter|insert|create|grant|select)\b",
                    sql,
                    re.I,
                )
            ):
                self.effects.append(Effect("sql", sql, detail=f"{db or 'unknown'}:{attr}"))
        elif attr in ("flushall", "flushdb") and "redis" in {
            a.split(".")[0] for a in self.aliases.values()
        }:
            self.effects.append(Effect("sql", attr.upper(), detail=f"redis:{attr}"))
        elif attr == "drop_database" and "pymongo" in {
            a.split(".")[0] for a in self.aliases.values()
        }:
            db_name = self.text(args[0]) if args else None
            self.effects.append(
                Effect(
                    "sql",
                    f"db.getSiblingDB({db_name!r}).dropDatabase()" if db_name else None,
                    detail="pymongo:drop_database",
                )
            )
        elif attr.startswith(_API_DELETES):
            # `boto3.client("rds").delete_db_instance(…)`, `s3.delete_bucket(…)`,
            # `ec2.terminate_instances(…)`: an SDK client deleting what it manages.
            shown = ", ".join(
                f"{k}={v!r}" if k else repr(v)
                for k, v in [(None, self.value(a)) for a in args]
                + [(k, self.value(v)) for k, v in kwargs.items()]
                if v is not None
            )
            self.effects.append(Effect("api", f"{attr}({shown})", detail=name or attr))

    def shell_text(self, name: str, args: list[object], kwargs: dict[str, object]) -> str | None:
        if name.startswith(("os.execl", "os.spawnl")):
            skip = 2 if name.startswith("os.spawn") else 1  # (mode,) path, then argv
            words = [self.value(a) for a in args[skip:]]
            return (
                shlex.join(str(w) for w in words)
                if words and all(isinstance(w, str) for w in words)
                else None
            )
        if name.startswith(("os.execv", "os.spawnv", "os.posix_spawn")):
            argv = args[2 if name.startswith("os.spawn") else 1] if len(args) > 1 else None
            value = self.value(argv)
            return shlex.join(str(v) for v in value) if isinstance(value, list) else None
        if name == "asyncio.create_subprocess_exec":
            words = [self.value(a) for a in args]
            return (
                shlex.join(str(w) for w in words)
                if words and all(isinstance(w, str) for w in words)
                else None
            )
        first = args[0] if args else kwargs.get("args")
        value = self.value(first)
        if isinstance(value, list):
            shell = self.value(kwargs.get("shell"))
            return str(value[0]) if shell is True and value else shlex.join(str(v) for v in value)
        return value if isinstance(value, str) else None


_API_DELETES = ("delete_", "drop_", "terminate_", "destroy_", "purge_")


@dataclass(frozen=True)
class _PathValue:
    path: str

    def __str__(self) -> str:
        return self.path
