"""Terraform plans (``terraform show -json``): what the apply would destroy or replace.

DataTalks.Club lost its production RDS database and every snapshot to one ``terraform
destroy`` run after the state file was lost (../shared/notes/anchors.md): the plan said so, in
``resource_changes``, and nobody read it. So the plan is read here: every change whose
actions contain ``delete`` (a destroy, or a replace in either order) is a finding naming the
address. Data-bearing types (databases, volumes, buckets, file systems, claims) and backup
types (vaults, snapshots, recovery points) come from ``catalogs/terraform.toml``; losing one
cannot be undone, and when the same plan deletes backups the summary says they go too.

A plan that is not a JSON object with a ``resource_changes`` list, or a change without an
``actions`` list, is ``iac.unparsed`` (ask): a plan Interlock cannot read is never allowed.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from interlock.analyzers import Scope
from interlock.decisions import Finding, Verdict
from interlock.errors import ConfigError

__all__ = ["analyze", "catalog"]


@cache
def catalog() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(data-bearing type patterns, backup type patterns) from ``catalogs/terraform.toml``."""
    text = (
        resources.files("interlock.analyzers")
        .joinpath("catalogs/terraform.toml")
        .read_text("utf-8")
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"catalogs/terraform.toml is not valid TOML: {exc}") from None
    out = []
    for key in ("data_bearing", "backups"):
        value = data.get(key, {}).get("types")
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"catalogs/terraform.toml: {key}.types must be a list of strings")
        out.append(tuple(value))
    return out[0], out[1]


def _matches(kind: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(kind, p) for p in patterns)


def analyze(plan: Mapping[str, Any], scope: Scope) -> list[Finding]:
    """Findings for every resource the plan would delete; an empty list means none."""
    env = _environment(plan, scope)
    if not isinstance(plan, Mapping) or not isinstance(plan.get("resource_changes"), list):
        return [_unparsed("is not a Terraform JSON plan (no resource_changes list)", env)]
    data_types, backup_types = catalog()
    deleted: list[tuple[Mapping[str, Any], list[str]]] = []
    findings: list[Finding] = []
    for n, rc in enumerate(plan["resource_changes"]):
        change = rc.get("change") if isinstance(rc, Mapping) else None
        actions = change.get("actions") if isinstance(change, Mapping) else None
        if not (isinstance(actions, list) and all(isinstance(a, str) for a in actions)):
            findings.append(
                _unparsed(
                    f"has a resource change Interlock cannot read (resource_changes[{n}])", env
                )
            )
            continue
        if "delete" in actions or "forget" in actions:
            deleted.append((rc, actions))
        elif "update" in actions:
            findings.extend(_safeguards_off(rc, change, env))
    backups = [
        str(rc.get("address"))
        for rc, actions in deleted
        if "delete" in actions and _matches(str(rc.get("type", "")), backup_types)
    ]
    for rc, actions in deleted:
        findings.append(_finding(rc, actions, env, data_types, backup_types, backups))
    return findings


def _finding(
    rc: Mapping[str, Any],
    actions: list[str],
    env: str | None,
    data_types: tuple[str, ...],
    backup_types: tuple[str, ...],
    backups: list[str],
) -> Finding:
    address = str(rc.get("address") or rc.get("type") or "a resource")
    kind = str(rc.get("type", ""))
    evidence = f"{address}: {'/'.join(actions)}"
    if "delete" not in actions:  # forget: removed from state, the real thing stays
        return Finding(
            operation="iac.forget",
            summary=f"removes {address} from Terraform state (the resource itself stays)",
            verdict=Verdict.ASK,
            rule="terraform.forget",
            targets=(address,),
            environment=env,
            reversible=True,
            evidence=evidence,
        )
    replace = "create" in actions
    is_data, is_backup = _matches(kind, data_types), _matches(kind, backup_types)
    if replace:
        order = "creates the new one first" if actions[0] == "create" else "destroys it first"
        summary = f"replaces {address} ({order})"
    else:
        summary = f"destroys {address}"
    if is_backup:
        summary += "; the backups it holds are lost"
    elif is_data:
        summary += "; the data it holds is lost"
        summary += _recovery(rc)
    if rc.get("action_reason") == "delete_because_no_resource_config":
        summary += " (its configuration is gone from the code: a lost or wrong working copy?)"
    others = [b for b in backups if b != address]
    if is_data and others:
        summary += f", and this plan also deletes backups ({', '.join(others[:3])})"
    reversible: bool | None = False if (is_data or is_backup) else (True if replace else None)
    return Finding(
        operation="iac.replace" if replace else "iac.destroy",
        summary=summary,
        verdict=Verdict.ASK,
        rule="terraform.replace" if replace else "terraform.destroy",
        targets=(address,),
        environment=env,
        reversible=reversible,
        evidence=evidence,
    )


# Attributes whose change removes a recovery path, as (name, value before, value after): the
# safeguard-switch catalog of issue #2 applied to plans (deletion protection off, versioning
# suspended, final snapshot skipped, backups kept for 0 days, audit logging stopped).
SAFEGUARD_SWITCHES: tuple[tuple[str, object, object], ...] = (
    ("deletion_protection", True, False),
    ("deletion_protection_enabled", True, False),
    ("termination_protection", True, False),
    ("disable_api_termination", True, False),
    ("prevent_destroy", True, False),
    ("skip_final_snapshot", False, True),
    ("force_destroy", False, True),
    ("enable_logging", True, False),
    ("object_lock_enabled", True, False),
    ("point_in_time_recovery", True, False),
)
_RETENTION = ("backup_retention_period", "retention_in_days", "retention_days")


def _safeguards_off(rc: Mapping[str, Any], change: Any, env: str | None) -> list[Finding]:
    if not isinstance(change, Mapping):
        return []
    before, after = change.get("before"), change.get("after")
    if not (isinstance(before, Mapping) and isinstance(after, Mapping)):
        return []
    address = str(rc.get("address") or rc.get("type") or "a resource")
    switched = [
        name
        for name, old, new in SAFEGUARD_SWITCHES
        if before.get(name) == old and after.get(name) == new
    ]
    switched += [
        name
        for name in _RETENTION
        if isinstance(before.get(name), int) and before.get(name) and after.get(name) == 0
    ]
    if _versioning(before) == "Enabled" and _versioning(after) in ("Suspended", "Disabled"):
        switched.append("versioning")
    return [
        Finding(
            operation="safeguard.disable",
            summary=f"turns off {name.replace('_', ' ')} on {address}: a later delete "
            "would not be stopped or recoverable",
            verdict=Verdict.ASK,
            rule="terraform.safeguard_off",
            targets=(address,),
            environment=env,
            reversible=None,  # the switch can be turned back; what it lets through cannot
            evidence=f"{address}: {name}",
        )
        for name in switched
    ]


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


def _recovery(rc: Mapping[str, Any]) -> str:
    """What the resource's own settings say about recovery after the delete (RDS and friends)."""
    change = rc.get("change")
    before = change.get("before") if isinstance(change, Mapping) else None
    if not isinstance(before, Mapping):
        return ""
    notes = []
    if before.get("skip_final_snapshot") is True:
        notes.append("no final snapshot is taken")
    if before.get("delete_automated_backups") is True:
        notes.append("its automated backups are deleted with it")
    if before.get("force_destroy") is True:
        notes.append("force_destroy empties it first")
    return " (" + "; ".join(notes) + ")" if notes else ""


def _environment(plan: Any, scope: Scope) -> str | None:
    """The action's environment, the plan's ``environment`` variable or its workspace; production wins."""
    candidates = [scope.environment]
    if isinstance(plan, Mapping):
        variables = plan.get("variables")
        if isinstance(variables, Mapping):
            for name in ("environment", "env", "stage"):
                var = variables.get(name)
                if isinstance(var, Mapping) and isinstance(var.get("value"), str):
                    candidates.append(var["value"])
                    break
        workspace = plan.get("workspace") or plan.get("terraform_workspace")
        if isinstance(workspace, str) and workspace != "default":
            candidates.append(workspace)
    named = [c for c in candidates if c]
    for c in named:
        if scope.policy.is_production(c) or scope.policy.environment_of(c) == "production":
            return c
    return named[0] if named else None


def _unparsed(what: str, env: str | None) -> Finding:
    return Finding(
        operation="iac.unparsed",
        summary=f"applies a plan that {what}",
        verdict=Verdict.ASK,
        rule="terraform.unparsed",
        environment=env,
        evidence=what,
        floor=Verdict.ASK,
    )
