"""GraphQL inside an HTTP request: where documents hide, and what every mutation asks for.

The PocketOS deletion (April 2026) was ``mutation { volumeDelete(volumeId: "…") }`` in one POST
(../shared/notes/anchors.md §0). A guard that looks for the word, or trusts ``operationName``,
is beaten by an alias (``keep: volumeDelete``), a second operation, a fragment or a variable. So
the document is parsed with graphql-core, the reference parser, and *every* top-level field of
*every* mutation operation is reported, with its arguments resolved against the request's
variables. Which operation the server would run is not guessed.

Documents are looked for in: a JSON body ``{"query": …}`` or a batched array of them; a form body
or query string ``query=…`` (with ``variables=`` as JSON); an ``application/graphql`` body; a raw
body that starts like a document. graphql-core costs ~80 ms to import, so it is imported only when
a document was found (../shared/notes/deps.md).

Deep nesting never crashes the analysis: JSON that Python cannot load for depth, and documents the
parser refuses for depth, are unreadable (ask); flattening stops at :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from graphql.language import ValueNode

__all__ = ["MAX_DEPTH", "Extracted", "MutationField", "extract", "flatten", "mutation_fields"]

MAX_DEPTH = 24
"""Nesting followed when flattening arguments and variables; deeper values are left out."""
MAX_TOKENS = 50_000
"""Documents longer than this are unreadable (ask), not parsed for seconds."""


@dataclass(frozen=True)
class MutationField:
    """One top-level field of a mutation: ``keep: volumeDelete(volumeId: $id)``."""

    name: str
    """The field's schema name (``volumeDelete``), never its alias."""
    arguments: dict[str, str]
    """Arguments flattened to dotted keys (``input.environmentId``), variables resolved."""
    alias: str | None = None
    operation: str | None = None
    """The name of the operation it is in, for the summary only."""


@dataclass
class Extracted:
    """The GraphQL a request carries."""

    documents: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    """(document, variables) pairs."""
    unreadable: list[str] = field(default_factory=list)
    """Why a body that looks like GraphQL could not be read."""
    persisted: bool = False
    """An Apollo persisted query: only a hash, the document itself is not in the request."""


def extract(body: str, query: str, content_type: str) -> Extracted:
    """The GraphQL documents in a request's query string and body."""
    out = Extracted()
    _from_pairs(parse_qs(query), out)
    text = body.strip()
    if not text:
        return out
    content_type = content_type.lower()
    if text[0] in "[{":
        try:
            data = json.loads(text)
        except RecursionError:
            out.unreadable.append("the JSON body is nested too deeply to read")
            return out
        except ValueError:
            if _starts_like_document(text) or "graphql" in content_type:
                out.documents.append((text, {}))  # a raw shorthand document: { field { … } }
            elif "mutation" in text:
                out.unreadable.append("the body looks like GraphQL but is not valid JSON")
            return out
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict):
                _from_json(item, out)
        return out
    if "form-urlencoded" in content_type:
        _from_pairs(parse_qs(text), out)
    elif "application/graphql" in content_type or _starts_like_document(text):
        out.documents.append((text, {}))
    elif "query=" in text:
        _from_pairs(parse_qs(text), out)
    return out


def _from_json(item: Mapping[str, Any], out: Extracted) -> None:
    document = item.get("query")
    variables = item.get("variables")
    if isinstance(variables, str):
        variables = _json_object(variables, out)
    variables = variables if isinstance(variables, dict) else {}
    if isinstance(document, str):
        if _starts_like_document(document):
            out.documents.append((document, variables))
    elif document is None and isinstance(item.get("extensions"), dict):
        out.persisted = out.persisted or "persistedQuery" in item["extensions"]


def _from_pairs(pairs: Mapping[str, list[str]], out: Extracted) -> None:
    documents = pairs.get("query", [])
    if not documents:
        if "extensions" in pairs and "persistedQuery" in pairs["extensions"][0]:
            out.persisted = True
        return
    variables: Mapping[str, Any] = {}
    for raw in pairs.get("variables", []):
        loaded = _json_object(raw, out)
        if loaded:
            variables = loaded
    for document in documents:
        if _starts_like_document(document.strip()):
            out.documents.append((document, variables))


def _json_object(raw: str, out: Extracted) -> dict[str, Any]:
    try:
        loaded = json.loads(raw)
    except RecursionError:
        out.unreadable.append("the variables are nested too deeply to read")
        return {}
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


_KEYWORDS = ("mutation", "query", "subscription", "fragment")


def _starts_like_document(text: str) -> bool:
    """``mutation …``, ``query …``, ``fragment …`` or ``{ name`` (not ``{"key"`` JSON), after
    what GraphQL ignores: a byte-order mark, white space, commas and ``#`` comments."""
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t\r\n,\ufeff":
            i += 1
        elif text[i] == "#":
            while i < n and text[i] not in "\r\n":
                i += 1
        else:
            break
    head = text[i:]
    if head.startswith("{"):
        rest = head[1:].lstrip(" \t\r\n,")
        return bool(rest) and (rest[0].isalpha() or rest[0] in "_.#")
    word = ""
    for ch in head[:16]:
        if not (ch.isalnum() or ch == "_"):
            break
        word += ch
    after = head[len(word) : len(word) + 1]
    return word in _KEYWORDS and after not in ("=", "&", ":", '"')


def mutation_fields(
    document: str, variables: Mapping[str, Any]
) -> tuple[list[MutationField], str | None]:
    """Every top-level field of every mutation in ``document``, or the parser's complaint.

    A mutation operation needs the keyword ``mutation`` as a token, and GraphQL keywords are
    case-sensitive names that cannot be escaped: a document without that substring anywhere
    holds no mutation, and is not parsed (graphql-core's lexer is most of a request's time,
    issue 4). One that holds it anywhere, even inside a string, is parsed as before.
    """
    if "mutation" not in document:
        return [], None
    from graphql import GraphQLError, parse
    from graphql.language import (
        FieldNode,
        FragmentDefinitionNode,
        FragmentSpreadNode,
        InlineFragmentNode,
        OperationDefinitionNode,
        OperationType,
        SelectionNode,
    )

    try:
        parsed = parse(document, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError as exc:
        return [], exc.message
    except RecursionError:
        return [], "the document is nested too deeply to read"
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found: list[MutationField] = []
    for definition in parsed.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.operation is not OperationType.MUTATION:
            continue
        name = definition.name.value if definition.name else None
        # Iterative walk: fragments may spread each other; a cycle, an undefined fragment or
        # an explosion of spreads makes the document one the server rejects or we cannot
        # finish: unreadable, never silently skipped.
        stack: list[tuple[SelectionNode, tuple[str, ...]]] = [
            (s, ()) for s in reversed(definition.selection_set.selections)
        ]
        budget = MAX_TOKENS
        while stack:
            budget -= 1
            if budget < 0:
                return found, "fragments are spread too often to read"
            node, path = stack.pop()
            if isinstance(node, FieldNode):
                if node.name.value == "__typename":
                    continue
                arguments: dict[str, str] = {}
                for argument in node.arguments or ():
                    argument_value(argument.name.value, argument.value, variables, arguments, 0)
                found.append(
                    MutationField(
                        name=node.name.value,
                        arguments=arguments,
                        alias=node.alias.value if node.alias else None,
                        operation=name,
                    )
                )
            elif isinstance(node, InlineFragmentNode):
                stack.extend((s, path) for s in reversed(node.selection_set.selections))
            elif isinstance(node, FragmentSpreadNode):
                spread = node.name.value
                fragment = fragments.get(spread)
                if fragment is None:
                    return found, f"the fragment {spread} is spread but never defined"
                if spread in path:
                    return found, f"the fragment {spread} spreads itself"
                inner = (*path, spread)
                stack.extend((s, inner) for s in reversed(fragment.selection_set.selections))
    return found, None


def argument_value(
    key: str, node: ValueNode, variables: Mapping[str, Any], out: dict[str, str], depth: int
) -> None:
    from graphql.language import (
        BooleanValueNode,
        ListValueNode,
        NullValueNode,
        ObjectValueNode,
        VariableNode,
    )

    """``key``'s argument value as dotted (key, string) pairs in ``out``, variables resolved.

    Shared by the analyzer and the gateway's Railway resolver, so both read an argument alike.
    """
    if depth > MAX_DEPTH:
        return
    if isinstance(node, VariableNode):
        name = node.name.value
        if name in variables:
            for k, v in flatten(variables[name], key):
                out[k] = v
    elif isinstance(node, ObjectValueNode):
        for item in node.fields:
            argument_value(f"{key}.{item.name.value}", item.value, variables, out, depth + 1)
    elif isinstance(node, ListValueNode):
        for index, element in enumerate(node.values):
            argument_value(f"{key}.{index}", element, variables, out, depth + 1)
    elif isinstance(node, BooleanValueNode):
        out[key] = "true" if node.value else "false"
    elif isinstance(node, NullValueNode):
        out[key] = "null"
    else:
        out[key] = str(getattr(node, "value", ""))


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key, string) pairs of a JSON value: ``{"a": {"b": true}}`` -> ``("a.b", "true")``.

    Iterative and bounded by :data:`MAX_DEPTH`, so a hostile body cannot exhaust the stack.
    """
    stack: list[tuple[str, Any, int]] = [(prefix, value, 0)]
    while stack:
        key, item, depth = stack.pop()
        if isinstance(item, dict):
            if depth < MAX_DEPTH:
                stack.extend(
                    (f"{key}.{k}" if key else str(k), v, depth + 1) for k, v in item.items()
                )
        elif isinstance(item, list):
            if depth < MAX_DEPTH:
                stack.extend(
                    (f"{key}.{i}" if key else str(i), v, depth + 1) for i, v in enumerate(item)
                )
        elif isinstance(item, bool):
            yield key, "true" if item else "false"
        elif item is None:
            yield key, "null"
        else:
            yield key, str(item)
