"""Terraform plans (``terraform show -json``): what the apply would destroy or replace.

DataTalks.Club lost its production RDS database and every snapshot to one ``terraform
destroy`` run after the state file was lost (../shared/notes/anchors.md): the plan said so, in
``resource_changes``, and nobody read it. So the plan is read here:

1. Every change whose actions contain ``delete`` (a destroy, or a replace in either order) is a
   finding naming the address; ``forget`` (a ``removed`` block) is noted and allowed: the
   resource itself stays.
2. What the resource is comes from ``catalogs/terraform.toml`` (databases, buckets, volumes,
   keys, snapshots, backup vaults …), else from the words of its type name (a guess). Losing a
   catalogued one cannot be undone; the reason names it ("a database") and says what its own
   settings take with it (``skip_final_snapshot``, ``delete_automated_backups``,
   ``force_destroy``), and whether the same plan deletes backups too.
3. An update that switches a safeguard off (deletion protection, final snapshots, versioning,
   retention) is a finding of its own, and says so when the same plan also deletes data.
4. Each finding gets the environment of *its* resource (:func:`resource_environment`).

``lifecycle { prevent_destroy }`` is not in the plan JSON (Terraform leaves lifecycle out of
``configuration``); a plan that deletes a resource proves it is not in force for it, since
Terraform refuses to plan that delete otherwise. Removing the whole block (or module) removes the
protection with it, and that shows as ``action_reason: delete_because_no_resource_config``.

A plan that is not a JSON object with a ``resource_changes`` list, a change without an
``actions`` list, or a plan Terraform marked ``errored`` is ``iac.unparsed`` (ask): a plan
Interlock cannot read is never allowed.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from interlock.analyzers import Scope
from interlock.decisions import Finding, Verdict
from interlock.environments import UNKNOWN, resolve
from interlock.errors import ConfigError

__all__ = ["Catalog", "Kind", "analyze", "catalog", "resource_environment"]


@dataclass(frozen=True)
class Kind:
    """What a resource type is, for the reason: ``noun`` ("a database"), and whether it holds
    backups. ``guessed`` kinds come from the type's name, not from the catalog."""

    noun: str
    backup: bool = False
    guessed: bool = False
    loss: str = ""

    @property
    def lost(self) -> str:
        """What goes with it, for a reason without more specific notes."""
        if self.loss:
            return self.loss
        if self.backup:
            return "the backups it holds are lost"
        return "any data it holds is lost" if self.guessed else "its data is lost"


@dataclass(frozen=True)
class Recovery:
    attribute: str
    says: str
    value: object = None
    absent: bool = False
    types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    kinds: tuple[tuple[Kind, tuple[str, ...]], ...]
    words: tuple[tuple[str, str], ...]
    not_data: tuple[str, ...]
    recovery: tuple[Recovery, ...]

    def kind_of(self, kind: str) -> Kind | None:
        """The catalogued kind (exact names first), else None for configuration-only types,
        else a guess from the name's words, else None."""
        for found, patterns in self.kinds:
            if kind in patterns:
                return found
        if _matches(kind, self.not_data):
            return None
        for found, patterns in self.kinds:
            if _matches(kind, patterns):
                return found
        words = kind.lower().split("_")[1:]  # the provider prefix is no evidence
        for word, noun in self.words:
            if word in words:
                return Kind(noun=noun, backup=word in ("backup", "snapshot"), guessed=True)
        return None


@cache
def catalog() -> Catalog:
    """``catalogs/terraform.toml``, checked; a malformed catalog is a ConfigError."""
    text = (
        resources.files("interlock.analyzers")
        .joinpath("catalogs/terraform.toml")
        .read_text("utf-8")
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"catalogs/terraform.toml is not valid TOML: {exc}") from None
    try:
        kinds = tuple(
            (
                Kind(
                    noun=str(k["noun"]),
                    backup=bool(k.get("backup", False)),
                    loss=str(k.get("loss", "")),
                ),
                _strings(k["types"]),
            )
            for k in data["kinds"]
        )
        guess = data["guess"]
        words = tuple((str(w), str(n)) for w, n in guess["words"])
        recovery = tuple(
            Recovery(
                attribute=str(r["attribute"]),
                says=str(r["says"]),
                value=r.get("value"),
                absent=bool(r.get("absent", False)),
                types=_strings(r.get("types", [])),
            )
            for r in data["recovery"]
        )
        return Catalog(kinds, words, _strings(guess["not_data"]), recovery)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"catalogs/terraform.toml is malformed: {exc!r}") from None


def _strings(value: Any) -> tuple[str, ...]:
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ValueError(f"expected a list of strings, got {value!r}")
    return tuple(value)


def _matches(kind: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(kind, p) for p in patterns)


def analyze(plan: Mapping[str, Any], scope: Scope) -> list[Finding]:
    """Findings for every resource the plan would delete or unprotect; empty means none."""
    if not isinstance(plan, Mapping) or not isinstance(plan.get("resource_changes"), list):
        return [_unparsed("is not a Terraform JSON plan (no resource_changes list)", scope)]
    cat = catalog()
    context = _PlanContext.of(plan, scope)
    findings: list[Finding] = []
    if plan.get("errored") is True:
        findings.append(_unparsed("Terraform marked as errored (planning failed)", scope))
    deleted: list[tuple[Mapping[str, Any], list[str], Kind | None]] = []
    updates: list[Mapping[str, Any]] = []
    for n, rc in enumerate(plan["resource_changes"]):
        change = rc.get("change") if isinstance(rc, Mapping) else None
        actions = change.get("actions") if isinstance(change, Mapping) else None
        if not (isinstance(actions, list) and all(isinstance(a, str) for a in actions)):
            where = f"has a resource change Interlock cannot read (resource_changes[{n}])"
            findings.append(_unparsed(where, scope))
            continue
        assert isinstance(rc, Mapping)
        if "delete" in actions or "forget" in actions:
            deleted.append((rc, actions, cat.kind_of(str(rc.get("type", "")))))
        elif "update" in actions:
            updates.append(rc)
    lost = [
        _address(rc) for rc, actions, kind in deleted if "delete" in actions and kind is not None
    ]
    backups = [
        _address(rc)
        for rc, actions, kind in deleted
        if "delete" in actions and kind is not None and kind.backup
    ]
    for rc in updates:
        findings.extend(_safeguards_off(rc, context, lost))
    for rc, actions, kind in deleted:
        findings.append(_finding(rc, actions, kind, context, cat, backups))
    return findings


def _address(rc: Mapping[str, Any]) -> str:
    return str(rc.get("address") or rc.get("type") or "a resource")


def _values(rc: Mapping[str, Any], which: str) -> Mapping[str, Any]:
    change = rc.get("change")
    values = change.get(which) if isinstance(change, Mapping) else None
    return values if isinstance(values, Mapping) else {}


_REASONS = {
    "delete_because_no_resource_config": "its resource block is gone from the configuration "
    "(a lost or wrong working copy? this also bypasses prevent_destroy)",
    "delete_because_no_module": "its module is gone from the configuration",
    "delete_because_count_index": "count no longer includes its index",
    "delete_because_each_key": "for_each no longer includes its key",
    "delete_because_wrong_repetition": "its count/for_each changed shape",
    "replace_because_tainted": "it is tainted",
    "replace_by_request": "-replace asked for it",
    "replace_by_triggers": "replace_triggered_by fired",
}


def _finding(
    rc: Mapping[str, Any],
    actions: list[str],
    kind: Kind | None,
    context: _PlanContext,
    cat: Catalog,
    backups: list[str],
) -> Finding:
    address = _address(rc)
    env = context.env(rc)
    evidence = f"{address}: {'/'.join(actions)}"
    if "delete" not in actions:  # forget: a `removed` block; the real thing stays
        return Finding(
            operation="iac.forget",
            summary=f"removes {address} from Terraform state (the resource itself stays)",
            verdict=Verdict.ALLOW,
            rule="terraform.forget",
            targets=(address,),
            environment=env,
            reversible=True,
            evidence=evidence,
        )
    replace = "create" in actions
    if replace:
        order = "creates the new one first" if actions[0] == "create" else "destroys it first"
        summary = f"replaces {address} ({order})"
    else:
        summary = f"destroys {address}"
    notes: list[str] = []
    if kind is not None:
        summary += f", {'probably ' if kind.guessed else ''}{kind.noun}"
        notes += _recovery(rc, cat)
        before, after = _values(rc, "before"), _values(rc, "after")
        if (
            replace
            and before.get("deletion_protection") is True
            and after.get("deletion_protection") is False
        ):
            notes.append("deletion_protection is switched off in the same plan")
    reason = _REASONS.get(str(rc.get("action_reason", "")))
    if reason and (not replace or kind is not None):
        notes.append(reason)
    if notes:
        summary += ", and " + "; ".join(notes)
    elif kind is not None:
        summary += f": {kind.lost}"
    others = [b for b in backups if b != address]
    if kind is not None and not kind.backup and others:
        summary += f"; this plan also deletes backups ({', '.join(others[:3])})"
    rule = "terraform.replace" if replace else "terraform.destroy"
    if kind is None and replace:
        # Terraform builds it again from the code: a new security group, instance, function.
        return Finding(
            operation="iac.replace",
            summary=summary + "; Terraform recreates it from the configuration",
            verdict=Verdict.ALLOW,
            rule=rule,
            targets=(address,),
            environment=env,
            reversible=True,
            evidence=evidence,
        )
    reversible = None if kind is None or kind.guessed else False
    return Finding(
        operation="iac.replace" if replace else "iac.destroy",
        summary=summary,
        verdict=Verdict.ASK,
        rule=rule,
        targets=(address,),
        environment=env,
        reversible=reversible,
        evidence=evidence,
    )


def _recovery(rc: Mapping[str, Any], cat: Catalog) -> list[str]:
    """What the resource's own settings say about recovery after the delete."""
    before = _values(rc, "before")
    if not before:
        return []
    kind = str(rc.get("type", ""))
    out = []
    for entry in cat.recovery:
        if entry.types and not _matches(kind, entry.types):
            continue
        value = before.get(entry.attribute)
        if entry.absent:
            if value is None or value == "":
                out.append(entry.says)
        elif value == entry.value and type(value) is type(entry.value):
            out.append(entry.says)
    return out


# Attributes whose change removes a recovery path, as (name, value before, value after): the
# safeguard-switch catalog of issue #2 applied to plans (deletion protection off, versioning
# suspended, final snapshot skipped, backups kept for 0 days, audit logging stopped).
# prevent_destroy is not here: it is a lifecycle setting and never appears in a plan's values.
SAFEGUARD_SWITCHES: tuple[tuple[str, object, object], ...] = (
    ("deletion_protection", True, False),
    ("deletion_protection_enabled", True, False),
    ("termination_protection", True, False),
    ("disable_api_termination", True, False),
    ("skip_final_snapshot", False, True),
    ("delete_automated_backups", False, True),
    ("force_destroy", False, True),
    ("enable_logging", True, False),
    ("object_lock_enabled", True, False),
    ("point_in_time_recovery", True, False),
)
_RETENTION = ("backup_retention_period", "retention_in_days", "retention_days")


def _safeguards_off(rc: Mapping[str, Any], context: _PlanContext, lost: list[str]) -> list[Finding]:
    before, after = _values(rc, "before"), _values(rc, "after")
    if not (before and after):
        return []
    address = _address(rc)
    switched = [
        name
        for name, old, new in SAFEGUARD_SWITCHES
        if before.get(name) is old and after.get(name) is new
    ]
    switched += [
        name
        for name in _RETENTION
        if isinstance(before.get(name), int) and before.get(name) and after.get(name) == 0
    ]
    if _versioning(before) == "Enabled" and _versioning(after) in ("Suspended", "Disabled"):
        switched.append("versioning")
    also = f"; this plan also deletes {', '.join(lost[:3])}" if lost else ""
    return [
        Finding(
            operation="safeguard.disable",
            summary=f"{_switch_text(name)} on {address}: a later delete "
            f"would not be stopped or recoverable{also}",
            verdict=Verdict.ASK,
            rule="terraform.safeguard_off",
            targets=(address,),
            environment=context.env(rc),
            reversible=None,  # the switch can be turned back; what it lets through cannot
            evidence=f"{address}: {name}",
        )
        for name in switched
    ]


def _switch_text(name: str) -> str:
    words = name.replace("_", " ")
    if name in _RETENTION:
        return f"sets {words} to 0 (no backups kept)"
    if name in ("skip_final_snapshot", "delete_automated_backups", "force_destroy"):
        return f"sets {name} to true"
    return f"turns off {words}"


def _versioning(values: Mapping[str, Any]) -> str | None:
    block = values.get("versioning_configuration") or values.get("versioning")
    if isinstance(block, list) and block and isinstance(block[0], Mapping):
        status = block[0].get("status")
        if isinstance(status, str):
            return status
        enabled = block[0].get("enabled")
        if isinstance(enabled, bool):
            return "Enabled" if enabled else "Suspended"
    return None


def _unparsed(what: str, scope: Scope) -> Finding:
    # The action's environment: a plan that cannot be read names no resource to place, and
    # it is ask (not deny) so a person can look at it.
    return Finding(
        operation="iac.unparsed",
        summary=f"applies a plan that {what}",
        verdict=Verdict.ASK,
        rule="terraform.unparsed",
        environment=scope.environment,
        evidence=what,
        floor=Verdict.ASK,
    )


# --- Which environment each resource is in -------------------------------------------------

_ENV_VARIABLES = ("environment", "env", "stage", "environment_name", "env_name")
# Provider configuration arguments that identify an account, project or cluster.
_PROVIDER_KINDS = {
    "profile": "aws_profile",
    "allowed_account_ids": "aws_account",
    "account_id": "aws_account",
    "project": "gcp_project",
    "config_context": "kube_context",
}
# Resource attributes that name the resource itself (looked up as kind "resource").
_NAME_KEYS = ("id", "arn", "identifier", "name", "bucket", "cluster_identifier", "self_link")


@dataclass(frozen=True)
class _PlanContext:
    scope: Scope
    names: tuple[str, ...]
    """Environment names the plan states: ``variables.environment`` (env, stage), workspace."""
    providers: Mapping[str, tuple[tuple[str, str], ...]]
    """provider full name (and short name) -> (kind, identifier) from its configuration."""

    @classmethod
    def of(cls, plan: Mapping[str, Any], scope: Scope) -> _PlanContext:
        variables = plan.get("variables")
        variables = variables if isinstance(variables, Mapping) else {}
        names = []
        for name in _ENV_VARIABLES:
            var = variables.get(name)
            if isinstance(var, Mapping) and isinstance(var.get("value"), str) and var["value"]:
                names.append(var["value"])
                break
        workspace = plan.get("workspace") or plan.get("terraform_workspace")
        if isinstance(workspace, str) and workspace and workspace != "default":
            names.append(workspace)
        return cls(scope, tuple(names), _provider_idents(plan, variables))

    def env(self, rc: Mapping[str, Any] | None = None) -> str:
        return resource_environment(rc, self)


def resource_environment(rc: Mapping[str, Any] | None, context: _PlanContext) -> str:
    """The environment of one resource change. Precedence (docs/analyzers.md):

    1. production from any source below wins (the strict reading);
    2. the resource's own identifiers and its provider's configuration, placed by the inventory
       (``[inventory.<env>]``: account ids from ARNs, profiles, projects, contexts, namespaces,
       Railway ids, resource names) or by a name that says production;
    3. the plan's own ``variables.environment`` (``env``, ``stage``) or workspace;
    4. the action's environment (``--env``);
    5. otherwise ``unknown``, which the engine treats as production.
    """
    policy = context.scope.policy
    idents = list(_resource_idents(rc)) if rc is not None else []
    if rc is not None:
        provider = str(rc.get("provider_name", ""))
        idents += context.providers.get(provider, ())
    placed = [e for kind, ident in idents if (e := resolve(policy, kind, ident))]
    named = [_env_name(n, context.scope) for n in context.names]
    action = [context.scope.environment] if context.scope.environment else []
    for env in (*placed, *named, *action):
        if policy.is_production(env):
            return env
    for group in (placed, named, action):
        if group:
            return group[0]
    return UNKNOWN


def _env_name(name: str, scope: Scope) -> str:
    """An environment name from the plan; one that says production as a word is production."""
    if scope.policy.is_production(name):
        return name
    return "production" if resolve(scope.policy, "any", name) == "production" else name


def _resource_idents(rc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    kind = str(rc.get("type", ""))
    yield "resource", _address(rc)
    for values in (_values(rc, "before"), _values(rc, "after")):
        for key in _NAME_KEYS:
            value = values.get(key)
            if isinstance(value, str) and value:
                yield "resource", value
        for value in values.values():
            if isinstance(value, str) and value.startswith("arn:"):
                yield from _arn_account(value)
        for key in ("owner_id", "account_id"):
            value = values.get(key)
            if isinstance(value, str) and value.isdigit() and len(value) == 12:
                yield "aws_account", value
        if kind.startswith("google_") and isinstance(values.get("project"), str):
            yield "gcp_project", values["project"]
        if kind.startswith("railway_"):
            for key, id_kind in (
                ("project_id", "railway_project"),
                ("environment_id", "railway_environment"),
            ):
                if isinstance(values.get(key), str):
                    yield id_kind, values[key]
        metadata = values.get("metadata")
        if isinstance(metadata, list) and metadata and isinstance(metadata[0], Mapping):
            namespace = metadata[0].get("namespace")
            if kind.startswith("kubernetes_namespace"):
                namespace = metadata[0].get("name")
            if isinstance(namespace, str) and namespace:
                yield "kube_namespace", namespace


def _arn_account(arn: str) -> Iterator[tuple[str, str]]:
    parts = arn.split(":")
    if len(parts) > 4 and parts[4].isdigit():
        yield "aws_account", parts[4]
    yield "resource", arn


def _provider_idents(
    plan: Mapping[str, Any], variables: Mapping[str, Any]
) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per provider: the accounts, profiles, projects and contexts its configuration names.

    All configurations (aliases, module providers) of one provider are merged: a resource is
    tied to one of them by ``provider_config_key`` in ``configuration``, which is not worth
    following when the strict reading (production wins) is taken over all of them anyway.
    """
    configuration = plan.get("configuration")
    configs = configuration.get("provider_config") if isinstance(configuration, Mapping) else None
    out: dict[str, list[tuple[str, str]]] = {}
    if not isinstance(configs, Mapping):
        return {}
    for config in configs.values():
        if not isinstance(config, Mapping):
            continue
        expressions = config.get("expressions")
        if not isinstance(expressions, Mapping):
            continue
        found: list[tuple[str, str]] = []
        for key, id_kind in _PROVIDER_KINDS.items():
            for value in _expression_values(expressions.get(key), variables):
                found.append((id_kind, value))
        for block in _blocks(expressions.get("assume_role")):
            for arn in _expression_values(block.get("role_arn"), variables):
                found += _arn_account(arn)
        for block in _blocks(expressions.get("kubernetes")):  # the helm provider
            for value in _expression_values(block.get("config_context"), variables):
                found.append(("kube_context", value))
        for name in (config.get("full_name"), config.get("name")):
            if isinstance(name, str) and name:
                out.setdefault(name, []).extend(found)
                if "/" not in name:
                    out.setdefault(f"registry.terraform.io/hashicorp/{name}", []).extend(found)
    return {k: tuple(v) for k, v in out.items()}


def _blocks(value: Any) -> list[Mapping[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [b for b in items if isinstance(b, Mapping)]


def _expression_values(expr: Any, variables: Mapping[str, Any]) -> list[str]:
    """The strings an expression stands for: its constant, or the variables it references."""
    if not isinstance(expr, Mapping):
        return []
    constant = expr.get("constant_value")
    values = constant if isinstance(constant, list) else [constant]
    out = [v for v in values if isinstance(v, str) and v]
    refs = expr.get("references")
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, str) and ref.startswith("var."):
            var = variables.get(ref[4:])
            value = var.get("value") if isinstance(var, Mapping) else None
            vals = value if isinstance(value, list) else [value]
            out += [v for v in vals if isinstance(v, str) and v]
    return out
