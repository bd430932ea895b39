"""Which environment a catalog finding is in: what the command names, else what this machine says.

Issue 3 item 4: a destructive operation on a *remote* target whose environment nobody can
establish is treated as production. For a command matched by a catalog rule, the environment
comes from, in this order (the first that places anything wins; among several, production):

1. the command's own words: the tool's ``env_options`` (``--profile``, ``--context``, ``-n``),
   ``env_vars`` set on the command (``AWS_PROFILE=x aws …``, ``rake … RAILS_ENV=y``), endpoint
   options and variables (``--endpoint-url``, ``-H``, ``DOCKER_HOST``), and, for tools with
   ``env_from_targets``, the targets (``s3://shop-prod``, ``kubectl delete ns staging``), each
   looked up with :func:`interlock.environments.resolve` under its kind (``env_kinds``);
2. what the machine says, for a command that runs on this machine: the same variables in the
   process environment, which for the hook is the agent's own (``AWS_PROFILE``, ``DOCKER_HOST``,
   :data:`PROCESS_VARIABLES`), and the kubeconfig's ``current-context`` for ``kubeconfig`` tools;
3. a local endpoint (``awslocal``, ``--endpoint-url http://localhost:4566``, a ``kind-*`` or
   ``minikube`` context, ``DOCKER_HOST`` unset or a unix socket): the action's environment;
4. a ``remote`` tool (or one pointed at a remote endpoint) that nothing placed:
   :data:`~interlock.environments.UNKNOWN`, which the engine treats as production for anything
   that cannot be undone; any other tool: the action's environment.

This is the one place the shell analyzer reads the machine (``os.environ`` and one file, the
kubeconfig); everything else it judges is the command's text. The reads are cached per process
and keyed on the file's mtime, so the daemon sees an edited kubeconfig. Standard library only.
"""

from __future__ import annotations

import os

from interlock.analyzers import DYN, SimpleCommand, is_dynamic
from interlock.analyzers.catalog_model import Rule, Tool, glob_any
from interlock.config import Policy
from interlock.environments import UNKNOWN, is_loopback, resolve
from interlock.paths import resolve as resolve_path

__all__ = ["NAMED_ENVS", "PROCESS_VARIABLES", "current_context", "environment", "process_value"]

NAMED_ENVS = {"staging": "staging", "stage": "staging", "development": "development",
              "dev": "development"}  # fmt: skip
"""Names that say which environment they are, without any configuration."""

PROCESS_VARIABLES = frozenset({
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "CLOUDSDK_CORE_PROJECT",
    "CLOUDSDK_ACTIVE_CONFIG_NAME", "RAILWAY_ENVIRONMENT", "DOCKER_HOST", "DOCKER_CONTEXT",
    "KUBECONFIG",
})  # fmt: skip
"""The variables read from the process environment when the command does not set them. Only
these: ``RAILS_ENV`` or ``DATABASE_URL`` of the agent's shell are not read (yet), so a test
suite or the eval can take the machine out of the result by clearing exactly this set."""

_LOCAL_SCHEMES = frozenset({"unix", "npipe", "fd"})
_contexts: dict[str, tuple[tuple[int, int], str | None]] = {}


def environment(
    cmd: SimpleCommand, tool: Tool, rule: Rule, options: tuple[tuple[str, str | None], ...],
    positionals: tuple[str, ...], targets: list[str],
) -> str | None:  # fmt: skip
    """The environment of one finding of ``rule`` (see the module docstring)."""
    policy = cmd.scope.policy
    here = cmd.scope.remote is None  # on another host, this machine's settings say nothing
    remote = tool.remote if rule.remote is None else rule.remote
    local = glob_any(cmd.name, tool.local_programs) if tool.local_programs else False
    named: list[tuple[str, str]] = []
    endpoints: list[tuple[str, str]] = []
    for name, value in options:
        if value is None:
            remote = remote or name in tool.remote_flags
        elif name in tool.endpoint_options:
            endpoints.append((tool.kind_of(name, "host"), value))
        elif name in tool.env_options:
            named.append((tool.kind_of(name), value))
    pairs = dict(cmd.assignments)
    for word in positionals:  # `rake db:drop RAILS_ENV=production`
        if "=" in word:
            key, _, value = word.partition("=")
            pairs[key] = value
    if tool.env_vars:
        given = {kind for kind, _ in named}
        for var in tool.env_vars:
            value = pairs.get(var)
            if value is None and here and remote and tool.kind_of(var) not in given:
                value = process_value(var)
            if value is not None:
                named.append((tool.kind_of(var), value))
    for var in tool.endpoint_vars:
        value = pairs.get(var)
        if value is None and here:
            value = process_value(var)
        if value:
            endpoints.append((tool.kind_of(var, "host"), value))
    if tool.kubeconfig and all(kind != "kube_context" for kind, _ in named):
        context = _kube_context(cmd, options, pairs, here)
        if context is not None:
            named.append(("kube_context", context))
    for kind, value in endpoints:
        if _is_local_endpoint(value, tool):
            local = True
        else:
            remote = True  # a database URL is looked up whole: its host and its name decide
            named.append((kind, value if kind == "database" else _endpoint_name(value)))
    if not local and tool.local_contexts:
        local = any(
            glob_any(value, tool.local_contexts) for kind, value in named if kind == "kube_context"
        )
    # Loops rather than nested comprehensions: this runs for every catalog finding.
    found: list[str] = []
    for kind, value in named:
        placed = place(policy, kind, value)
        if placed:
            found.append(placed)
    if tool.env_from_targets:
        for target in targets:
            placed = _target(policy, target)
            if placed:
                found.append(placed)
    for placed in found:
        if policy.is_production(placed):
            return placed
    if found:
        return found[0]
    if remote and not local:
        return UNKNOWN
    return cmd.scope.environment


def process_value(name: str) -> str | None:
    """A variable of the process environment (the agent's, for the hook), if it is one we read.

    The daemon takes on each caller's environment before it decides, so this is the agent's
    environment there too (:mod:`interlock.hooks.daemon`).
    """
    if name not in PROCESS_VARIABLES:
        return None
    return os.environ.get(name) or None


def current_context(paths: list[str]) -> str | None:
    """The ``current-context`` of a kubeconfig: the first of ``paths`` that sets one.

    A line scan, not a YAML parse (the hook imports only the standard library): the key is a
    top-level ``current-context: NAME`` line (or ``"current-context": "NAME"`` in JSON). A file
    that is missing or unreadable gives no information, so the context stays unknown.
    """
    for path in paths:
        context = _file_context(path)
        if context:
            return context
    return None


def _file_context(path: str) -> str | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    stamp = (info.st_mtime_ns, info.st_size)
    cached = _contexts.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    context: str | None = None
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                context = _context_line(line)
                if context is not None:
                    break
    except OSError:
        return None
    _contexts[path] = (stamp, context or None)
    return context or None


def _context_line(line: str) -> str | None:
    """The value of a ``current-context`` line ("" when it is empty), None for other lines."""
    if line.startswith("current-context:"):
        value = line[len("current-context:") :].strip()
    elif line.lstrip().startswith('"current-context"'):  # a JSON kubeconfig
        value = line.split(":", 1)[1].strip()
    else:
        return None
    quote = value[:1]
    if quote in ("'", '"'):
        return value[1:].split(quote, 1)[0]
    return value.split(" #", 1)[0].strip()


def _kube_context(
    cmd: SimpleCommand,
    options: tuple[tuple[str, str | None], ...],
    pairs: dict[str, str],
    here: bool,
) -> str | None:
    """The kubeconfig's current context: ``--kubeconfig``, else ``KUBECONFIG``, else
    ``~/.kube/config`` (the policy's home); None when unreadable or on another host."""
    given = [v for name, v in options if name == "--kubeconfig" and v is not None]
    listed = given[-1] if given else pairs.get("KUBECONFIG")
    if listed is None:
        if not here:
            return None
        listed = process_value("KUBECONFIG") or os.path.join(cmd.scope.policy.home, ".kube/config")
    paths = [resolve_path(p, cmd.scope) for p in listed.split(os.pathsep) if p]
    if not paths or any(DYN in p for p in paths):
        return None
    return current_context(paths)


def _is_local_endpoint(value: str, tool: Tool) -> bool:
    if is_dynamic(value):
        return False
    if "://" in value:
        scheme = value.split("://", 1)[0].lower()
        if scheme in _LOCAL_SCHEMES:
            return True
    if tool.local_contexts and glob_any(value, tool.local_contexts):
        return True
    return is_loopback(_endpoint_name(value))


def _endpoint_name(value: str) -> str:
    """The host of ``tcp://h:2376``, ``ssh://me@h``, ``h:6443``; else the value (a context)."""
    if "://" in value:
        from urllib.parse import urlsplit  # ~4 ms to import: only when an endpoint is a URL

        try:
            return urlsplit(value).hostname or value
        except ValueError:
            return value
    host = value.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0] if host.count(":") == 1 else host


def place(policy: Policy, kind: str, value: str) -> str | None:
    """The environment a name of ``kind`` (or ``"any"``) belongs to: configured, else by its name."""
    if not value or is_dynamic(value):
        return None
    return resolve(policy, kind, value) or NAMED_ENVS.get(value.lower())


def _target(policy: Policy, target: str) -> str | None:
    """A target: a resource id or name first, then any kind of name; a URL by its host too."""
    if not target or is_dynamic(target):
        return None
    placed = resolve(policy, "resource", target) or place(policy, "any", target)
    if placed is None and "://" in target:
        host = _endpoint_name(target)  # s3://shop-prod-assets/x -> shop-prod-assets
        if host != target:
            placed = resolve(policy, "resource", host) or place(policy, "any", host)
    return placed
