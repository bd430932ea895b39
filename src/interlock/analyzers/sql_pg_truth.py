"""Is a WHERE clause always true? Constant folding over PostgreSQL's parse tree.

Internal to ``interlock.analyzers.sql``. ``DELETE FROM users WHERE 1=1`` deletes every row just
as ``DELETE FROM users`` does, and an agent (or an injection) that adds ``OR 'a'='a'`` to a
narrow condition widens it to the whole table, so a WHERE that is always true counts as no
WHERE at all. ``truth`` folds what is easy to fold and answers None for anything else (a
column, a function call, a subquery over a table): unknown is "not always true", so the
statement is judged by its other findings, never allowed because of this module.

Folded: constants (``1``, ``true``, ``'a'``, ``NULL``), casts of constants (``'t'::boolean``),
arithmetic on numbers, comparisons of constants, ``x = x`` on the same column, AND / OR / NOT,
``IS [NOT] NULL`` of a constant, ``LIKE '%'``, ``EXISTS (SELECT 1)`` and
``x IS NULL OR x IS NOT NULL``.
"""

from __future__ import annotations

import json
from typing import Any

Node = dict[str, Any]

_NOTHING = object()
"""Not a constant we can fold (distinct from a folded NULL, which is None)."""

_BOOL_WORDS = {"t": True, "true": True, "y": True, "yes": True, "on": True, "1": True,
               "f": False, "false": False, "n": False, "no": False, "off": False, "0": False}  # fmt: skip
_INT_TYPES = frozenset({"int2", "int4", "int8", "integer", "smallint", "bigint"})
_FLOAT_TYPES = frozenset({"numeric", "float4", "float8", "real", "decimal"})
_TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "name", "char"})


def unwrap(node: Any) -> tuple[str, Node]:
    """``{"A_Const": {...}}`` -> ("A_Const", {...}); anything else -> ("", {})."""
    if isinstance(node, dict) and len(node) == 1:
        kind, fields = next(iter(node.items()))
        if kind[:1].isupper() and isinstance(fields, dict):
            return kind, fields
    return "", {}


def truth(node: Any) -> bool | None:
    """True when the condition holds for every row, False when for none, else None."""
    kind, f = unwrap(node)
    if kind == "BoolExpr":
        values = [truth(a) for a in f.get("args", [])]
        op = f.get("boolop")
        if op == "OR_EXPR":
            if True in values or _null_or_not_null(f.get("args", [])):
                return True
            return False if values and all(v is False for v in values) else None
        if op == "AND_EXPR":
            if False in values:
                return False
            return True if values and all(v is True for v in values) else None
        if op == "NOT_EXPR" and values:
            return None if values[0] is None else not values[0]
        return None
    if kind == "A_Expr":
        return _compare(f)
    if kind == "NullTest":
        value = const(f.get("arg"))
        if value is _NOTHING:
            return None
        return (value is None) == (f.get("nulltesttype") == "IS_NULL")
    if kind == "SubLink" and f.get("subLinkType") == "EXISTS_SUBLINK":
        _, sub = unwrap(f.get("subselect"))
        if sub and not sub.get("fromClause") and truth(sub.get("whereClause", True)) is True:
            return True
        return None
    value = const(node) if kind else (node if node is True else _NOTHING)
    if value is _NOTHING or value is None:
        return None if value is _NOTHING else False
    if isinstance(value, str):
        value = _BOOL_WORDS.get(value.strip().lower(), _NOTHING)
        return None if value is _NOTHING else bool(value)
    return bool(value)


def const(node: Any) -> Any:
    """The Python value of a constant expression, None for NULL, ``_NOTHING`` if not constant."""
    kind, f = unwrap(node)
    if kind == "A_Const":
        if f.get("isnull"):
            return None
        for key, caster in (("ival", int), ("fval", float), ("boolval", bool), ("sval", str)):
            if key in f:
                inner = f[key].get(key, caster())
                try:
                    return caster(inner)
                except ValueError:
                    return _NOTHING
        return _NOTHING
    if kind == "TypeCast":
        value = const(f.get("arg"))
        names = [
            n.get("String", {}).get("sval", "") for n in f.get("typeName", {}).get("names", [])
        ]
        return _cast(value, names[-1] if names else "")
    if kind == "A_Expr" and f.get("kind") == "AEXPR_OP":
        op = _op(f)
        left = const(f["lexpr"]) if "lexpr" in f else 0
        right = const(f.get("rexpr"))
        if _NOTHING in (left, right) or left is None or right is None:
            return _NOTHING
        return _arith(op, left, right)
    return _NOTHING


def _cast(value: Any, typ: str) -> Any:
    if value is _NOTHING or value is None:
        return value
    try:
        if typ in ("bool", "boolean"):
            if isinstance(value, str):
                return _BOOL_WORDS.get(value.strip().lower(), _NOTHING)
            return bool(value)
        if typ in _INT_TYPES:
            return int(value)
        if typ in _FLOAT_TYPES:
            return float(value)
        if typ in _TEXT_TYPES:
            return str(value).lower() if isinstance(value, bool) else str(value)
    except (TypeError, ValueError):
        return _NOTHING
    return _NOTHING


def _arith(op: str, left: Any, right: Any) -> Any:
    numbers = (int, float)
    if op == "||" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if not (isinstance(left, numbers) and isinstance(right, numbers)):
        return _NOTHING
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/" and right != 0:
        return left / right
    return _NOTHING


def _op(f: Node) -> str:
    names = f.get("name", [])
    return str(names[-1].get("String", {}).get("sval", "")) if names else ""


def _compare(f: Node) -> bool | None:
    op = _op(f)
    left, right = f.get("lexpr"), f.get("rexpr")
    if f.get("kind") in ("AEXPR_LIKE", "AEXPR_ILIKE") and op in ("~~", "~~*"):
        pattern = const(right)
        if isinstance(pattern, str) and pattern and set(pattern) == {"%"}:
            return True  # every row whose value is not NULL
        return None
    if f.get("kind") != "AEXPR_OP":
        return None
    if unwrap(left)[0] == "ColumnRef" == unwrap(right)[0] and _same(left, right):
        return {"=": True, "<=": True, ">=": True, "<>": False, "!=": False}.get(op)
    a, b = const(left), const(right)
    if a is _NOTHING or b is _NOTHING:
        return None
    if a is None or b is None:
        return False  # a comparison with NULL holds for no row
    a, b = _comparable(a, b)
    try:
        result = {
            "=": a == b,
            "<>": a != b,
            "!=": a != b,
            "<": a < b,
            ">": a > b,
            "<=": a <= b,
            ">=": a >= b,
        }.get(op)
    except TypeError:
        return None
    return result


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """PostgreSQL reads an untyped literal as the other side's type: ``'1' = 1`` is true."""
    for x, y in ((a, b), (b, a)):
        if isinstance(x, str) and isinstance(y, (int, float)) and not isinstance(y, bool):
            try:
                converted = float(x)
            except ValueError:
                return a, b
            return (converted, b) if x is a else (a, converted)
    return a, b


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k != "location"}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _same(a: Any, b: Any) -> bool:
    return json.dumps(_strip(a), sort_keys=True) == json.dumps(_strip(b), sort_keys=True)


def _null_or_not_null(args: list[Any]) -> bool:
    """``x IS NULL OR x IS NOT NULL``: every row, whatever x is."""
    tests: dict[str, set[str]] = {}
    for arg in args:
        kind, f = unwrap(arg)
        if kind == "NullTest":
            key = json.dumps(_strip(f.get("arg")), sort_keys=True)
            tests.setdefault(key, set()).add(str(f.get("nulltesttype")))
    return any(len(types) == 2 for types in tests.values())
