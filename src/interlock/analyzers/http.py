"""HTTP and GraphQL requests: what they ask a provider to destroy, and where credentials go.

The PocketOS deletion (April 2026) was one POST to Railway's GraphQL endpoint carrying
``mutation { volumeDelete(volumeId: "…") }``: no DELETE verb, no ``rm``, nothing a string guard
looks for, and no environment in the request (../shared/notes/anchors.md §0). So a request is
read for what it asks the server to do, in this order:

1. **Credentials**: a token whose provider is not the host it goes to is exfiltration, deny
   (:mod:`.http_secrets`).
2. **GraphQL**, parsed with graphql-core (:mod:`.http_graphql`): every field of every mutation,
   whatever ``operationName`` says. On a catalogued provider each field is an entry of the
   catalog, a known-safe write, or an operation the catalog does not know (ask). Elsewhere a
   field whose name says delete, destroy, drop … is ask. A document that does not parse is ask.
3. **Provider APIs** (:mod:`.http_providers`, data in ``catalogs/providers/*.toml``): the AWS
   action (``Action=``, ``X-Amz-Target``), or the method and path; the entry says what is lost,
   its verdict and how to find the target's environment. A write the catalog does not know is ask.
4. Any other **DELETE** to a host that is not this machine is ask.

``X-HTTP-Method-Override`` (and ``X-HTTP-Method``, ``X-Method-Override``, ``_method=``) count as
the method: many frameworks honour them. GET, HEAD and OPTIONS are reads.

Every finding carries the environment of its *target* (:func:`interlock.environments.
target_environment`): a Railway volume id from ``[inventory.<env>] resources``, an AWS account
from an ARN, a Kubernetes namespace from the path, else the host. A loopback host is the
developer's own server: the action's environment. What cannot be placed is ``unknown``, which
the engine treats as production for anything that cannot be undone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

from interlock.analyzers import Scope
from interlock.analyzers.http_providers import Operation, Provider, Providers, fill, providers
from interlock.decisions import Finding, Verdict
from interlock.environments import UNKNOWN, is_loopback, resolve, target_environment

__all__ = ["RAILWAY_HOSTS", "analyze", "provider_of"]

RAILWAY_HOSTS = frozenset({"backboard.railway.app", "backboard.railway.com", "api.railway.app"})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_OVERRIDES = ("x-http-method-override", "x-http-method", "x-method-override")
_DESTRUCTIVE = re.compile(
    r"delete|destroy|remove|drop|purge|wipe|terminate|truncate|reset|restore", re.I
)
_LOSSY = re.compile(r"delete|destroy|remove|drop|purge|wipe|truncate", re.I)
_ACTION_WORD = re.compile(r"delete|destroy|terminate|purge|wipe", re.I)


def provider_of(host: str, port: int | None = None, path: str = "/") -> str | None:
    """The provider whose API a host belongs to, or None: ``rds.us-east-1.amazonaws.com`` -> AWS."""
    found = providers().for_request(host.lower().rstrip("."), port, path)
    return found.name if found else None


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    host: str
    port: int | None
    path: str
    query: str
    pairs: Mapping[str, list[str]]
    """Query-string parameters (blank ones kept: S3's ``?delete``)."""
    headers: Mapping[str, str]
    """Lower-cased names."""
    body: str
    params: Mapping[str, str]
    """Query, form body and JSON body (flattened), as strings."""
    local: bool
    scope: Scope

    @property
    def evidence(self) -> str:
        from interlock.secrets import mask

        return mask(f"{self.method} {self.url}")[:160]


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
        return [_unreadable(f"sends a request Interlock cannot read ({verb} {url[:80]})", scope)]
    lowered = {k.lower(): v for k, v in headers.items()}
    host = parts.hostname.lower().rstrip(".")
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    pairs = parse_qs(parts.query, keep_blank_values=True)
    params = _params(pairs, body, lowered.get("content-type", ""))
    request = _Request(
        method=_effective_method(verb, lowered, pairs, params),
        url=url,
        host=host,
        port=port,
        path=path,
        query=parts.query,
        pairs=pairs,
        headers=lowered,
        body=body,
        params={**params, "host": host},
        local=is_loopback(host),
        scope=scope,
    )
    catalog = providers()
    findings = _exfiltration(request, catalog)
    provider = catalog.for_request(host, port, path)
    if provider is not None and any(
        (request.params.get(k) or "").lower() == v.lower() for k, v in provider.dry_run
    ):
        return findings  # DryRun=true, dryRun=All: the provider only checks the request
    from interlock.analyzers import http_graphql

    graphql = (
        http_graphql.extract(body, parts.query, lowered.get("content-type", ""))
        if body.strip() or "query=" in parts.query
        else http_graphql.Extracted()
    )
    for why in graphql.unreadable:
        findings.append(_unreadable(f"sends GraphQL Interlock cannot read: {why}", scope))
    if graphql.persisted and request.method not in _READS and (provider or "graphql" in path):
        findings.append(
            _unreadable(
                "sends a persisted GraphQL query: only its hash is in the request, so what it "
                "runs was not seen",
                scope,
            )
        )
    for document, variables in graphql.documents:
        fields, error = http_graphql.mutation_fields(document, variables)
        if error:
            findings.append(
                _unreadable(f"sends a GraphQL document that does not parse ({error})", scope)
            )
        for field in fields:
            findings.extend(_graphql_field(request, provider, catalog, field))
    if graphql.documents:
        return findings
    if provider is not None:
        findings.extend(_provider_call(request, provider, catalog))
    elif request.method == "DELETE" and not request.local:
        findings.append(
            _finding(
                request,
                operation="http.delete",
                rule="http.delete",
                summary=f"sends DELETE {path} to {host}",
                targets=(path,),
                reversible=None,
                environment=_place(request, [("host", host)]),
            )
        )
    return findings


def _effective_method(
    verb: str, headers: Mapping[str, str], pairs: Mapping[str, list[str]], params: Mapping[str, str]
) -> str:
    """The method the server acts on: an override header or ``_method`` wins over a read-only
    verb's absence of effect, never the other way (``POST`` overridden to ``GET`` stays POST)."""
    candidates = [headers.get(h, "") for h in _OVERRIDES]
    candidates += [params.get("_method", "")]
    for candidate in candidates:
        candidate = candidate.strip().upper()
        if candidate.isalpha() and candidate not in _READS:
            return candidate
    return verb


def _params(pairs: Mapping[str, list[str]], body: str, content_type: str) -> dict[str, str]:
    from interlock.analyzers.http_graphql import flatten

    params = {k: v[-1] for k, v in pairs.items()}
    text = body.strip()
    if not text:
        return params
    if text[0] in "[{":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return params
        if isinstance(data, dict):
            params.update(flatten(data))
    elif "=" in text and ("form-urlencoded" in content_type.lower() or "\n" not in text):
        params.update({k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()})
    return params


# -- findings ---------------------------------------------------------------------------------


def _finding(
    request: _Request,
    *,
    operation: str,
    rule: str,
    summary: str,
    targets: tuple[str, ...],
    reversible: bool | None,
    environment: str | None,
    verdict: Verdict = Verdict.ASK,
    floor: Verdict = Verdict.ALLOW,
) -> Finding:
    return Finding(
        operation=operation,
        summary=summary,
        verdict=verdict,
        rule=rule,
        targets=targets,
        environment=environment,
        reversible=reversible,
        evidence=request.evidence,
        floor=floor,
    )


def _unreadable(what: str, scope: Scope) -> Finding:
    """What cannot be read is ask, and a user rule cannot lower it. Its environment is the
    action's: nothing is known to be lost, so it is not a production deny."""
    return Finding(
        operation="http.unparsed",
        summary=what,
        verdict=Verdict.ASK,
        rule="http.graphql_unparsed" if "GraphQL" in what else "http.unparsed",
        environment=scope.environment,
        evidence="",
        floor=Verdict.ASK,
    )


def _place(request: _Request, candidates: Sequence[tuple[str, str | None]]) -> str | None:
    """The environment of the first candidate identifier that resolves, else ``unknown``; a
    loopback host is the action's environment."""
    if request.local:
        return request.scope.environment
    for kind, ident in candidates:
        if ident:
            placed = target_environment(request.scope, kind, ident)
            if placed != UNKNOWN:
                return placed
    return UNKNOWN


def _candidates(
    op: Operation, params: Mapping[str, str], host: str
) -> list[tuple[str, str | None]]:
    ident = fill(op.environment_from or op.target or "", params) or None
    out: list[tuple[str, str | None]] = [(op.environment, ident)]
    if ident and ident.startswith("arn:"):
        fields = ident.split(":")
        if len(fields) > 4 and fields[4]:
            out.append(("aws_account", fields[4]))  # arn:aws:rds:region:ACCOUNT:db:name
    out.append(("host", host))
    return out


def _catalogued(
    request: _Request, op: Operation, params: Mapping[str, str], how: str
) -> list[Finding]:
    """The finding for one catalog entry that matched, with its notes and environment."""
    target = fill(op.target, params) if op.target else None
    environment = _place(request, _candidates(op, params, request.host))
    if op.sql is not None:
        from interlock.analyzers import sql

        statement = fill(op.sql, params)
        scope = replace(request.scope, environment=environment)
        if statement:
            return sql.analyze(statement, op.dialect, scope)
        return [_unreadable(f"{how}, which runs SQL Interlock did not see", request.scope)]
    values = {**params, "target": target or "(not named)"}
    summary = fill(op.summary, values) or op.summary
    verdict = op.verdict
    notes = []
    for condition in op.when:
        if condition.holds(params):
            notes.append(condition.note)
            if condition.verdict is not None:
                verdict = Verdict.strictest(verdict, condition.verdict)
    text = f"{how}: {summary}" + ("; " + "; ".join(notes) if notes else "")
    return [
        _finding(
            request,
            operation=op.operation,
            rule=f"http.provider.{op.id}",
            summary=text,
            targets=(target,) if target else (),
            reversible=op.reversible,
            environment=environment,
            verdict=verdict,
        )
    ]


def _unknown(request: _Request, provider: Provider, what: str, values: list[str]) -> Finding:
    """A write the catalog does not know. Not known to lose anything, so its environment is a
    named target's if one resolves, else the action's: ask, not a production deny."""
    environment = request.scope.environment
    if not request.local:
        for value in values:
            placed = resolve(request.scope.policy, "any", value) if value else None
            if placed:
                environment = placed
                break
    return _finding(
        request,
        operation="http.provider_unknown",
        rule="http.provider_unknown",
        summary=f"{what} on {provider.name}'s API, an operation Interlock's catalog does not know",
        targets=(),
        reversible=None,
        environment=environment,
    )


def _graphql_field(
    request: _Request, provider: Provider | None, catalog: Providers, field: object
) -> list[Finding]:
    from interlock.analyzers.http_graphql import MutationField

    assert isinstance(field, MutationField)
    name = field.name
    shown = f"{name} (as {field.alias})" if field.alias else name
    args = field.arguments
    if provider is not None and catalog.speaks_graphql(provider):
        how = f"runs {provider.name}'s {shown}"
        matched = [o for o in catalog.graphql(provider.name, name) if o.requirements_met(args)]
        if matched:
            params = {**args, "host": request.host}
            return [f for op in matched[:1] for f in _catalogued(request, op, params, how)]
        if _safe(name, provider.safe_graphql):
            return []
        return [_unknown(request, provider, f"runs the mutation {shown}", list(args.values()))]
    if not _DESTRUCTIVE.search(name) or request.local:
        return []
    targets = tuple(v for v in args.values() if v)[:8]
    return [
        _finding(
            request,
            operation="http.graphql_mutation",
            rule="http.graphql_mutation",
            summary=f"runs the GraphQL mutation {shown} on {request.host}"
            + (f" for {', '.join(targets)}" if targets else ""),
            targets=targets,
            reversible=False if _LOSSY.search(name) else None,
            environment=_place(
                request, [("resource", v) for v in targets] + [("host", request.host)]
            ),
        )
    ]


def _safe(name: str, patterns: tuple[str, ...]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _aws_action(request: _Request) -> str | None:
    action = request.params.get("Action")
    if action:
        return action
    target = request.headers.get("x-amz-target", "")
    return target.rsplit(".", 1)[-1] if target else None


def _provider_call(request: _Request, provider: Provider, catalog: Providers) -> list[Finding]:
    """A REST call or AWS action on a catalogued provider."""
    action = _aws_action(request) if provider.name == "AWS" else None
    if action:
        # The Query protocol takes GET too: the action decides, not the verb.
        how = f"calls AWS {action} on {request.host}"
        matched = [o for o in catalog.aws(action) if o.requirements_met(request.params)]
        if matched:
            return [f for op in matched for f in _catalogued(request, op, request.params, how)]
        if _safe(action, provider.safe_aws):
            return []
        return [_unknown(request, provider, f"calls {action}", list(request.params.values()))]
    if request.method in _READS:
        return []
    how = f"sends {request.method} {request.path} to {provider.name}'s API"
    for op, captures in catalog.rest(
        provider.name, request.method, request.host, request.path, request.pairs
    ):
        params = {**request.params, **captures}
        if op.requirements_met(params):
            return _catalogued(request, op, params, how)
    segments = [s for s in request.path.split("/") if s]
    lossy_words = [
        s for s in (*segments, *_action_values(request.params)) if _ACTION_WORD.search(s)
    ]
    if not lossy_words and any(
        m in (request.method, "*") and _path_match(request.path, p) for m, p in provider.safe_rest
    ):
        return []
    return [_unknown(request, provider, f"sends {request.method} {request.path}", segments)]


def _action_values(params: Mapping[str, str]) -> Iterator[str]:
    """``{"action": "destroy"}``, ``{"type": "rebuild"}``: APIs that name the action in the body."""
    for key in ("action", "type", "operation"):
        value = params.get(key)
        if value:
            yield value


def _path_match(path: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(path, pattern)


def _exfiltration(request: _Request, catalog: Providers) -> list[Finding]:
    from interlock.analyzers.http_secrets import leaks

    out = []
    for leak in leaks(request.host, request.headers, request.query, request.body, catalog):
        if leak.provider is None:
            out.append(
                _finding(
                    request,
                    operation="secret.send",
                    rule="http.private_key",
                    summary=f"sends {leak.shown} in {leak.where} to {request.host}",
                    targets=(request.host,),
                    reversible=None,
                    environment=request.scope.environment,
                    floor=Verdict.ASK,
                )
            )
            continue
        out.append(
            _finding(
                request,
                operation="secret.exfiltrate",
                rule="http.credential_exfiltration",
                summary=f"sends {leak.shown} in {leak.where} to {request.host}, which is not "
                f"{leak.provider}'s: a credential leaving for another host",
                targets=(request.host,),
                reversible=False,
                environment=request.scope.environment,
                verdict=Verdict.DENY,
            )
        )
    return out
