"""Provider API catalogs: which requests to Railway, AWS, GitHub, Kubernetes, … lose what.

Catalogs are data (STYLE.md §8): ``catalogs/providers/*.toml``, one file per provider family,
documented in docs/providers.md, with a test per entry (tests/test_http_providers.py). A file
holds ``[[provider]]`` tables (hosts, the shapes of its tokens, the writes known to be safe) and
``[[operation]]`` tables, each matching one of:

- a GraphQL mutation field: ``graphql = "volumeDelete"``;
- an AWS action, from ``Action=`` (Query protocol) or ``X-Amz-Target`` (JSON protocol):
  ``aws = "DeleteDBInstance"``;
- a REST call: ``method = "DELETE"``, ``path = "/repos/{owner}/{repo}"`` (``{name}`` is one
  segment, ``{name*}`` the rest), optional ``host`` template and ``query`` keys.

``require`` narrows an entry to requests whose parameters hold given values (GitHub's
``force = "true"``); ``[[operation.when]]`` adds a note, and may raise the verdict, when a
parameter holds a value (RDS ``SkipFinalSnapshot = "true"``: no final snapshot, deny).

Parameters are the query string, a form body, a JSON body (flattened to dotted keys), the
GraphQL arguments and the captures of the path and host templates, all as strings.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.decisions import Verdict
from interlock.environments import KINDS
from interlock.errors import ConfigError

__all__ = [
    "CATALOG_DIR",
    "Condition",
    "Operation",
    "Provider",
    "Providers",
    "fill",
    "load",
    "providers",
]

CATALOG_DIR = Path(__file__).parent / "catalogs" / "providers"


@dataclass(frozen=True)
class Provider:
    name: str
    hosts: tuple[str, ...]
    """fnmatch patterns of the API's host names (lower case)."""
    ports: tuple[int, ...] = ()
    """Ports that identify the API on any host (Kubernetes: 6443)."""
    paths: tuple[str, ...] = ()
    """fnmatch patterns of paths that identify the API on any host (``/api/v1/namespaces/*``)."""
    token_prefixes: tuple[str, ...] = ()
    """Prefixes of this provider's tokens as :mod:`interlock.secrets` recognises them."""
    token_hosts: tuple[str, ...] = ()
    """Hosts besides ``hosts`` a token of this provider is meant for (``github.com`` for git)."""
    token_headers: tuple[str, ...] = ()
    """Header names that carry only this provider's credential (``project-access-token``)."""
    safe_rest: tuple[tuple[str, str], ...] = ()
    """(method, path pattern) writes that lose nothing: creates, updates."""
    safe_graphql: tuple[str, ...] = ()
    safe_aws: tuple[str, ...] = ()
    dry_run: tuple[tuple[str, str], ...] = ()
    """(parameter, value) that make a request a rehearsal (``DryRun=true``)."""


@dataclass(frozen=True)
class Condition:
    param: str
    equals: str
    note: str
    default: str | None = None
    verdict: Verdict | None = None

    def holds(self, params: Mapping[str, str]) -> bool:
        value = lookup(params, self.param)
        if value is None:
            value = self.default
        return value is not None and value.lower() == self.equals.lower()


@dataclass(frozen=True)
class Operation:
    id: str
    provider: str
    operation: str
    summary: str
    verdict: Verdict
    reversible: bool | None
    environment: str
    """The kind of identifier the target is (``resource``, ``kube_namespace``, …)."""
    target: str | None = None
    """Template of the target: ``{owner}/{repo}``, ``{volumeId}``, ``{InstanceId.*}``."""
    environment_from: str | None = None
    """Template of the identifier to place, when it is not the target (``{environmentId}``)."""
    graphql: str | None = None
    aws: str | None = None
    method: str | None = None
    path: re.Pattern[str] | None = None
    host: re.Pattern[str] | None = None
    query: tuple[str, ...] = ()
    require: tuple[tuple[str, str], ...] = ()
    when: tuple[Condition, ...] = ()
    sql: str | None = None
    """Template of a parameter holding SQL the provider runs (``{query}``): judged as SQL."""
    dialect: str = "postgres"
    source: str = ""

    def requirements_met(self, params: Mapping[str, str]) -> bool:
        return all((lookup(params, k) or "").lower() == v.lower() for k, v in self.require)


@dataclass(frozen=True)
class Providers:
    providers: tuple[Provider, ...]
    operations: tuple[Operation, ...]
    _graphql: dict[tuple[str, str], list[Operation]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _aws: dict[str, list[Operation]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    graphql_providers: frozenset[str] = field(default=frozenset(), init=False, compare=False)
    _exact_hosts: dict[str, tuple[int, Provider]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _glob_hosts: tuple[tuple[int, int, Callable[[str], object], Provider], ...] = field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Indexes: a GraphQL request is judged in well under 200 µs (issue 3), not by scanning.
        graphql: dict[tuple[str, str], list[Operation]] = {}
        aws: dict[str, list[Operation]] = {}
        for op in self.operations:
            if op.graphql:
                graphql.setdefault((op.provider, op.graphql), []).append(op)
            if op.aws:
                aws.setdefault(op.aws, []).append(op)
        object.__setattr__(self, "_graphql", graphql)
        object.__setattr__(self, "_aws", aws)
        object.__setattr__(self, "graphql_providers", frozenset(p for p, _ in graphql))
        # Host patterns, numbered in catalog order: literal ones by dict, globs compiled once
        # (fnmatchcase per pattern was 35 calls a request, issue 4).
        exact: dict[str, tuple[int, Provider]] = {}
        globs: list[tuple[int, int, Callable[[str], object], Provider]] = []
        order = 0
        for provider in self.providers:
            for pattern in provider.hosts:
                if any(ch in pattern for ch in "*?["):
                    matches = re.compile(fnmatch.translate(pattern)).match
                    globs.append((len(pattern), order, matches, provider))
                else:
                    exact.setdefault(pattern, (order, provider))
                order += 1
        object.__setattr__(self, "_exact_hosts", exact)
        object.__setattr__(self, "_glob_hosts", tuple(globs))

    def by_name(self, name: str) -> Provider:
        return next(p for p in self.providers if p.name == name)

    def for_request(self, host: str, port: int | None, path: str) -> Provider | None:
        """The provider whose API this is, by host, then by port or path shape."""
        # The longest matching pattern wins (*.eks.amazonaws.com beats *.amazonaws.com); among
        # equally long ones, the first in catalog order.
        best: tuple[int, int, Provider] | None = None
        hit = self._exact_hosts.get(host)
        if hit is not None:
            best = (len(host), -hit[0], hit[1])
        for length, order, matches, provider in self._glob_hosts:
            if (best is None or (length, -order) > best[:2]) and matches(host):
                best = (length, -order, provider)
        if best is not None:
            return best[2]
        for provider in self.providers:
            if port in provider.ports or any(
                fnmatch.fnmatchcase(path, pattern) for pattern in provider.paths
            ):
                return provider
        return None

    def owner_of_token(self, prefix: str) -> Provider | None:
        """The provider a token prefix (``ghp_``, ``sk-ant-``) belongs to; the longest wins."""
        best: tuple[int, Provider] | None = None
        for provider in self.providers:
            for known in provider.token_prefixes:
                if prefix.startswith(known) and (best is None or len(known) > best[0]):
                    best = (len(known), provider)
        return best[1] if best else None

    def graphql(self, provider: str, field: str) -> list[Operation]:
        return self._graphql.get((provider, field), [])

    def aws(self, action: str) -> list[Operation]:
        return self._aws.get(action, [])

    def speaks_graphql(self, provider: Provider) -> bool:
        """Whether the catalog knows the provider's mutations (else names are judged by words)."""
        return bool(provider.safe_graphql) or provider.name in self.graphql_providers

    def rest(
        self, provider: str, method: str, host: str, path: str, query: Mapping[str, list[str]]
    ) -> list[tuple[Operation, dict[str, str]]]:
        """Entries whose method, host and path templates and query keys match, with captures."""
        out: list[tuple[Operation, dict[str, str]]] = []
        for op in self.operations:
            if op.provider != provider or op.path is None or op.method not in (method, "*"):
                continue
            captures: dict[str, str] = {}
            if op.host is not None:
                matched = op.host.fullmatch(host)
                if matched is None:
                    continue
                captures.update(matched.groupdict())
            matched = op.path.fullmatch(path)
            if matched is None or not all(k in query for k in op.query):
                continue
            captures.update(matched.groupdict())
            out.append((op, captures))
        return out


def lookup(params: Mapping[str, str], key: str) -> str | None:
    """A parameter by name, case-insensitively; ``InstanceId.*`` joins every match."""
    if "*" in key:
        pattern = key.lower()
        values = [v for k, v in params.items() if fnmatch.fnmatchcase(k.lower(), pattern)]
        return ", ".join(values) if values else None
    if key in params:
        return params[key]
    lowered = key.lower()
    return next((v for k, v in params.items() if k.lower() == lowered), None)


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def fill(template: str, params: Mapping[str, str]) -> str | None:
    """``{owner}/{repo}`` with the parameters, or None when one of them is missing."""
    missing = False

    def one(m: re.Match[str]) -> str:
        nonlocal missing
        value = lookup(params, m.group(1))
        if value is None:
            missing = True
            return ""
        return value

    text = _PLACEHOLDER.sub(one, template)
    return None if missing else text


def _compile(template: str, *, host: bool) -> re.Pattern[str]:
    """``/repos/{owner}/{repo}`` -> a regex with named groups; ``*`` is one segment (a path) or
    anything (a host)."""
    out: list[str] = []
    pos = 0
    for m in re.finditer(r"\{(\w+)(\*?)\}|\*", template):
        out.append(re.escape(template[pos : m.start()]))
        if m.group(0) == "*":
            out.append(".*" if host else "[^/]+")
        elif m.group(2):
            out.append(f"(?P<{m.group(1)}>.+)")
        else:
            out.append(f"(?P<{m.group(1)}>[^/]+?)" if host else f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out), re.IGNORECASE if host else 0)


_PROVIDER_KEYS = {
    "name", "hosts", "ports", "paths", "token_prefixes", "token_hosts", "token_headers",
    "safe_rest", "safe_graphql", "safe_aws", "dry_run",
}  # fmt: skip
_OPERATION_KEYS = {
    "id", "provider", "operation", "summary", "verdict", "reversible", "environment", "target",
    "environment_from", "graphql", "aws", "method", "path", "host", "query", "require", "when",
    "sql", "dialect",
}  # fmt: skip


def load(directory: Path = CATALOG_DIR) -> Providers:
    """Every provider catalog in ``directory``; a malformed entry is a ConfigError naming it."""
    found: list[Provider] = []
    operations: list[Operation] = []
    for path in sorted(directory.glob("*.toml")):
        where = f"catalogs/providers/{path.name}"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        for raw in data.get("provider", []):
            found.append(_provider(raw, where))
        for raw in data.get("operation", []):
            operations.append(_operation(raw, where))
    names = {p.name for p in found}
    ids: set[str] = set()
    for op in operations:
        if op.provider not in names:
            raise ConfigError(f"{op.source}: {op.id}: unknown provider {op.provider!r}")
        if op.id in ids:
            raise ConfigError(f"{op.source}: {op.id} is defined twice")
        ids.add(op.id)
    return Providers(tuple(found), tuple(operations))


_LOADED: list[Providers] = []


def providers() -> Providers:
    """The built-in catalogs, loaded on first use (only requests need them)."""
    if not _LOADED:
        _LOADED.append(load())
    return _LOADED[0]


def _strings(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _provider(raw: Any, where: str) -> Provider:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ConfigError(f"{where}: every [[provider]] needs a name")
    where = f"{where}: provider {raw['name']}"
    unknown = set(raw) - _PROVIDER_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    ports = raw.get("ports", [])
    if not isinstance(ports, list) or not all(isinstance(p, int) for p in ports):
        raise ConfigError(f"{where}: ports must be a list of numbers")
    safe_rest = []
    for item in _strings(raw, "safe_rest", where):
        method, _, pattern = item.partition(" ")
        if not pattern:
            raise ConfigError(f"{where}: safe_rest entries are 'METHOD /path/pattern': {item!r}")
        safe_rest.append((method.upper(), pattern))
    dry_run = []
    for item in _strings(raw, "dry_run", where):
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"{where}: dry_run entries are 'param=value': {item!r}")
        dry_run.append((key, value))
    return Provider(
        name=raw["name"],
        hosts=tuple(h.lower() for h in _strings(raw, "hosts", where)),
        ports=tuple(ports),
        paths=_strings(raw, "paths", where),
        token_prefixes=_strings(raw, "token_prefixes", where),
        token_hosts=tuple(h.lower() for h in _strings(raw, "token_hosts", where)),
        token_headers=tuple(h.lower() for h in _strings(raw, "token_headers", where)),
        safe_rest=tuple(safe_rest),
        safe_graphql=_strings(raw, "safe_graphql", where),
        safe_aws=_strings(raw, "safe_aws", where),
        dry_run=tuple(dry_run),
    )


def _operation(raw: Any, where: str) -> Operation:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise ConfigError(f"{where}: every [[operation]] needs an id")
    source = where
    where = f"{where}: {raw['id']}"
    unknown = set(raw) - _OPERATION_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("provider", "operation", "summary", "environment"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ConfigError(f"{where}: {key} must be a non-empty string")
    if raw["environment"] not in KINDS:
        raise ConfigError(f"{where}: environment must be one of {', '.join(KINDS)}")
    matchers = [k for k in ("graphql", "aws", "path") if k in raw]
    if len(matchers) != 1:
        raise ConfigError(f"{where}: give exactly one of graphql, aws or method + path")
    if ("path" in raw) != ("method" in raw):
        raise ConfigError(f"{where}: path and method go together")
    reversible = raw.get("reversible", "unknown")
    if reversible not in (True, False, "unknown"):
        raise ConfigError(f'{where}: reversible must be true, false or "unknown"')
    require = raw.get("require", {})
    if not isinstance(require, dict) or not all(isinstance(v, str) for v in require.values()):
        raise ConfigError(f"{where}: require must be a table of strings")
    when = []
    for item in raw.get("when", []):
        if not isinstance(item, dict) or not {"param", "equals", "note"} <= set(item):
            raise ConfigError(f"{where}: each [[operation.when]] needs param, equals and note")
        when.append(
            Condition(
                param=item["param"],
                equals=item["equals"],
                note=item["note"],
                default=item.get("default"),
                verdict=Verdict.parse(item["verdict"]) if "verdict" in item else None,
            )
        )
    method = raw.get("method")
    return Operation(
        id=raw["id"],
        provider=raw["provider"],
        operation=raw["operation"],
        summary=raw["summary"],
        verdict=Verdict.parse(raw.get("verdict", "ask")),
        reversible=None if reversible == "unknown" else bool(reversible),
        environment=raw["environment"],
        target=raw.get("target"),
        environment_from=raw.get("environment_from"),
        graphql=raw.get("graphql"),
        aws=raw.get("aws"),
        method=method.upper() if isinstance(method, str) else None,
        path=_compile(raw["path"], host=False) if "path" in raw else None,
        host=_compile(raw["host"].lower(), host=True) if "host" in raw else None,
        query=_strings(raw, "query", where),
        require=tuple(require.items()),
        when=tuple(when),
        sql=raw.get("sql"),
        dialect=raw.get("dialect", "postgres"),
        source=source,
    )
