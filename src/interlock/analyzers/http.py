"""HTTP and GraphQL requests: deletes, destructive mutations, provider API actions.

The PocketOS deletion (April 2026) was one POST to Railway's GraphQL endpoint carrying
``mutation { volumeDelete(volumeId: "…") }``: no DELETE verb, no ``rm``, nothing a string guard
looks for (../shared/notes/anchors.md §0). So a request is read for what it asks the server to
do. This is the conservative first version (issue 2); issue 3 adds provider catalogs and a
full GraphQL parser. Until then:

- GET, HEAD and OPTIONS are reads: nothing to report;
- DELETE is ask, whatever the host;
- a GraphQL document (JSON ``{"query": …}``, a batched array of them, a raw ``mutation {…}``
  body or a ``?query=`` parameter) is scanned with a small lexer that skips strings and
  comments; every top-level field of a *mutation* whose name says delete, destroy, remove,
  drop, purge, wipe, terminate, truncate, reset or restore is ask. Aliases, a misleading
  ``operationName`` and fragments do not hide a field;
- a write to a well-known provider API whose action name (AWS ``Action=DeleteDBInstance``,
  ``X-Amz-Target: …DeleteTable``, a path) says Delete, Terminate or Destroy is ask.

The environment of every finding is the host's, when ``interlock.toml`` names it, else the
action's; the engine turns a production target into a deny.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

from interlock.analyzers import Scope
from interlock.decisions import Finding, Verdict

__all__ = ["RAILWAY_HOSTS", "analyze", "provider_of"]

RAILWAY_HOSTS = frozenset({"backboard.railway.app", "backboard.railway.com", "api.railway.app"})
_HOSTS = {
    "api.github.com": "GitHub",
    "api.heroku.com": "Heroku",
    "api.fly.io": "Fly.io",
    "api.machines.dev": "Fly.io",
    "api.vercel.com": "Vercel",
    "api.digitalocean.com": "DigitalOcean",
    "api.cloudflare.com": "Cloudflare",
    "console.neon.tech": "Neon",
    "api.supabase.com": "Supabase",
    "api.planetscale.com": "PlanetScale",
    **dict.fromkeys(RAILWAY_HOSTS, "Railway"),
}
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_DESTRUCTIVE = re.compile(
    r"delete|destroy|remove|drop|purge|wipe|terminate|truncate|reset|restore", re.I
)
_LOSSY = re.compile(r"delete|destroy|remove|drop|purge|wipe|truncate", re.I)
_ACTION = re.compile(
    r"(?:Delete|Terminate|Destroy)[A-Z]\w*|(?<![A-Za-z])(?:delete|destroy|terminate)(?![a-z])"
)


def provider_of(host: str, port: int | None = None) -> str | None:
    """The provider whose API a host belongs to, or None: ``rds.us-east-1.amazonaws.com`` -> AWS."""
    host = host.lower().rstrip(".")
    if host in _HOSTS:
        return _HOSTS[host]
    if host == "amazonaws.com" or host.endswith(".amazonaws.com"):
        return "AWS"
    if port == 6443:
        return "Kubernetes"
    return None


def _loopback(host: str) -> bool:
    """A developer's own server on this machine: deleting through its API is the agent's work."""
    return host in ("localhost", "::1") or host.startswith("127.") or host.endswith(".localhost")


def analyze(
    method: str, url: str, headers: dict[str, str], body: str, scope: Scope
) -> list[Finding]:
    """Findings for one request; an empty list means it only reads or creates."""
    verb = method.strip().upper()
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or not parts.hostname or not verb.isalpha():
        return [
            Finding(
                operation="http.unparsed",
                summary=f"sends a request Interlock cannot read ({verb} {url[:80]})",
                verdict=Verdict.ASK,
                rule="http.unparsed",
                environment=scope.environment,
                evidence=f"{verb} {url}"[:160],
                floor=Verdict.ASK,
            )
        ]
    host = parts.hostname.lower()
    env = scope.policy.environment_of(host) or scope.environment
    path = parts.path or "/"
    evidence = f"{verb} {url}"[:160]
    provider = provider_of(host, port)
    lowered = {k.lower(): v for k, v in headers.items()}
    findings: list[Finding] = []

    def add(
        operation: str,
        summary: str,
        rule: str,
        targets: tuple[str, ...],
        reversible: bool | None,
        floor: Verdict = Verdict.ALLOW,
    ) -> None:
        findings.append(
            Finding(
                operation=operation,
                summary=summary,
                verdict=Verdict.ASK,
                rule=rule,
                targets=targets,
                environment=env,
                reversible=reversible,
                evidence=evidence,
                floor=floor,
            )
        )

    if provider and not scope.policy.is_production(env):
        # A provider's URL often names the resource: DELETE /apps/shop-prod is production's.
        for segment in path.split("/"):
            if segment and scope.policy.environment_of(segment) == "production":
                env = "production"
                break
    if verb == "DELETE" and not _loopback(host):
        where = f"{provider}'s API" if provider else host
        add("http.delete", f"sends DELETE {path} to {where}", "http.delete", (path,), None)
    documents, unreadable = _graphql_documents(body, parts.query, lowered.get("content-type", ""))
    for document, variables in documents:
        fields, error = _mutation_fields(document)
        if error:
            add(
                "http.unparsed",
                f"sends a GraphQL document Interlock cannot read ({error})",
                "http.graphql_unparsed",
                (),
                None,
                Verdict.ASK,
            )
        for field, args in fields:
            if not _DESTRUCTIVE.search(field):
                continue
            targets = tuple(_arg_values(args, variables))
            lossy = bool(_LOSSY.search(field))
            on = (
                f"Railway's {field}"
                if host in RAILWAY_HOSTS
                else f"the GraphQL mutation {field} on {host}"
            )
            extra = "; the volume's backups go with it" if field == "volumeDelete" else ""
            add(
                "http.graphql_mutation",
                f"runs {on}{' for ' + ', '.join(targets) if targets else ''}{extra}",
                "http.graphql_mutation",
                targets,
                False if lossy else None,
            )
    if unreadable:
        add(
            "http.unparsed",
            unreadable,
            "http.graphql_unparsed",
            (),
            None,
            Verdict.ASK,
        )
    if provider and verb not in _READS and not documents:
        for action in _provider_actions(path, parts.query, body, lowered):
            note = _aws_note(action, body + "&" + parts.query) if provider == "AWS" else ""
            operation = "cloud." + (
                "terminate"
                if action.lower().startswith("terminate")
                else "destroy"
                if action.lower().startswith("destroy")
                else "delete"
            )
            add(
                operation,
                f"calls {provider}'s {action} on {host}{note}",
                "http.provider_action",
                (f"{host}{path}",),
                None,
            )
            break
    return findings


def _graphql_documents(
    body: str, query: str, content_type: str
) -> tuple[list[tuple[str, dict[str, object]]], str]:
    """(document, variables) pairs carried by the request, and a sentence saying why the body
    could not be read ("" when it could, or when it is not GraphQL-like)."""
    docs: list[tuple[str, dict[str, object]]] = []
    for q in parse_qs(query).get("query", []):
        docs.append((q, {}))
    text = body.strip()
    if not text:
        return docs, ""
    if text[0] in "[{":
        try:
            data = json.loads(text)
        except RecursionError:
            # `[[[[…` 100,000 deep: the json module recurses and overflowed (red-team).
            return docs, "sends a JSON body nested too deep to analyse"
        except ValueError:
            graphql_like = "mutation" in text or "graphql" in content_type
            return (
                docs,
                "sends a body that looks like GraphQL but is not valid JSON"
                if graphql_like
                else "",
            )
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and isinstance(item.get("query"), str):
                variables = item.get("variables")
                docs.append((item["query"], variables if isinstance(variables, dict) else {}))
        if text[0] == "{" and not docs and re.match(r"\{\s*\w+\s*[({]", text):
            docs.append((text, {}))  # a raw shorthand query document: { field { … } }
        return docs, ""
    if "graphql" in content_type or re.match(r"(mutation|query|subscription|fragment)\b", text):
        docs.append((text, {}))
    return docs, ""


_GQL_TOKEN = re.compile(
    r'"""(?:.|\n)*?"""|"(?:\\.|[^"\\\n])*"|#[^\n]*|\.\.\.|[A-Za-z_]\w*|\$\w+|[{}():,@=\[\]!]|-?\d[\w.]*|\S'
)


def _tokens(document: str) -> tuple[list[str], str | None]:
    toks = [t for t in _GQL_TOKEN.findall(document) if not t.startswith("#")]
    if any(t.startswith('"') and (len(t) < 2 or not t.endswith('"')) for t in toks):
        return toks, "a string is never closed"
    if sum(t == "{" for t in toks) != sum(t == "}" for t in toks):
        return toks, "braces do not balance"
    return toks, None


_MAX_SELECTION_DEPTH = 32
"""Fragments and inline fragments followed inside one another before the document is
unreadable (ask): a cycle (``fragment A { ...A }``) or 10,000 nested ``... {`` must end."""


class _TooDeep(Exception):
    pass


def _mutation_fields(document: str) -> tuple[list[tuple[str, list[str]]], str | None]:
    """Top-level (field, argument tokens) of every mutation, following fragments and aliases."""
    toks, error = _tokens(document)
    if error:
        return [], error
    ends = _group_ends(toks)
    fragments: dict[str, int] = {}
    operations: list[int] = []  # index of each mutation's opening brace
    i = 0
    while i < len(toks):
        if toks[i] == "fragment" and i + 1 < len(toks):
            brace = i
            while brace < len(toks) and toks[brace] != "{":
                brace += 1
            fragments[toks[i + 1]] = brace
            i = _skip(ends, brace)
        elif toks[i] == "mutation":
            brace = i + 1
            while brace < len(toks) and toks[brace] != "{":
                brace = _skip(ends, brace) if toks[brace] == "(" else brace + 1
            operations.append(brace)
            i = _skip(ends, brace)
        elif toks[i] == "{":
            i = _skip(ends, i)  # a query or shorthand query: reads
        else:
            i += 1
    fields: list[tuple[str, list[str]]] = []
    # Tokens the walk may read, fragments included: spreading one fragment many times (or
    # fragments that spread each other twice, doubling per level) must not take forever.
    budget = [4 * len(toks) + 1000]
    try:
        for brace in operations:
            fields.extend(_fields(toks, ends, brace, fragments, 0, budget))
    except _TooDeep:
        return fields, "fragments nested too deep or spread too often to analyse"
    return fields, None


def _fields(
    toks: list[str],
    ends: list[int],
    brace: int,
    fragments: dict[str, int],
    depth: int,
    budget: list[int],
) -> Iterator[tuple[str, list[str]]]:
    end, i = _skip(ends, brace), brace + 1
    budget[0] -= end - brace
    if depth > _MAX_SELECTION_DEPTH or budget[0] < 0:
        # Silently skipping a deep fragment hid the mutation inside it; unreadable asks.
        raise _TooDeep
    while i < end - 1:
        t = toks[i]
        if t == "...":
            if i + 1 < end and toks[i + 1] in ("on", "{", "@"):
                inner = i + 1
                while inner < end and toks[inner] != "{":
                    inner += 1
                yield from _fields(toks, ends, inner, fragments, depth + 1, budget)
                i = _skip(ends, inner)
            else:
                name = toks[i + 1] if i + 1 < end else ""
                if name in fragments:
                    yield from _fields(toks, ends, fragments[name], fragments, depth + 1, budget)
                i += 2
            continue
        if re.match(r"[A-Za-z_]", t):
            aliased = i + 2 < end and toks[i + 1] == ":"  # alias: field
            name = toks[i + 2] if aliased else t
            i += 3 if aliased else 1
            args: list[str] = []
            if i < end and toks[i] == "(":
                close = _skip(ends, i)
                args, i = toks[i + 1 : close - 1], close
            while i < end and toks[i] == "@":  # directives
                i += 2
                if i < end and toks[i] == "(":
                    i = _skip(ends, i)
            if i < end and toks[i] == "{":
                i = _skip(ends, i)
            yield name, args
            continue
        i += 1


def _group_ends(toks: list[str]) -> list[int]:
    """For each token, the index just past the bracket group it opens (``{``, ``(``, ``[``;
    the end when never closed), or just past itself. One pass: finding each group's end by
    scanning made long documents quadratic."""
    ends = [k + 1 for k in range(len(toks))]
    open_at: dict[str, list[int]] = {"{": [], "(": [], "[": []}
    closing = {"}": "{", ")": "(", "]": "["}
    for k, tok in enumerate(toks):
        if tok in open_at:
            open_at[tok].append(k)
        elif tok in closing and open_at[closing[tok]]:
            ends[open_at[closing[tok]].pop()] = k + 1
    for stack in open_at.values():
        for k in stack:
            ends[k] = len(toks)
    return ends


def _skip(ends: list[int], i: int) -> int:
    """Index just past the bracket group opening at ``i``."""
    return ends[i] if i < len(ends) else len(ends)


def _arg_values(args: list[str], variables: dict[str, object]) -> Iterator[str]:
    for k, t in enumerate(args):
        if k and args[k - 1] == ":":
            if t.startswith('"') and not t.startswith('"""'):
                yield t[1:-1]
            elif t.startswith("$") and isinstance(variables.get(t[1:]), str | int):
                yield str(variables[t[1:]])


def _provider_actions(path: str, query: str, body: str, headers: dict[str, str]) -> Iterator[str]:
    """Action names carried by an API write: AWS Query ``Action=``, ``X-Amz-Target``, the path."""
    for source in (query, body if "=" in body and "{" not in body[:1] else ""):
        for action in parse_qs(source).get("Action", []):
            if _ACTION.fullmatch(action) or _ACTION.match(action):
                yield action
    target = headers.get("x-amz-target", "")
    name = target.rsplit(".", 1)[-1]
    if _ACTION.match(name):
        yield name
    for segment in path.split("/"):
        if _ACTION.match(segment):
            yield segment
    if body[:1] == "{":
        for m in re.finditer(r'"(?:action|operation|Action)"\s*:\s*"([^"]+)"', body):
            if _ACTION.match(m.group(1)):
                yield m.group(1)


def _aws_note(action: str, params: str) -> str:
    values = {k.lower(): v[-1].lower() for k, v in parse_qs(params).items()}
    if action == "DeleteDBInstance" or action == "DeleteDBCluster":
        notes = []
        if values.get("skipfinalsnapshot") == "true":
            notes.append("no final snapshot is taken")
        if values.get("deleteautomatedbackups", "true") == "true":
            notes.append("its automated backups are deleted with it")
        return "; " + " and ".join(notes) if notes else ""
    return ""
