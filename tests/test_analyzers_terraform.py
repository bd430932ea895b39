"""Terraform plan analysis over `terraform show -json` output."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from interlock.actions import TerraformPlanAction
from interlock.analyzers import Scope
from interlock.analyzers.terraform import analyze, catalog
from interlock.config import Policy
from interlock.decisions import Decision, Verdict
from interlock.engine import decide
from interlock.environments import UNKNOWN

POLICY = Policy(project_root="/srv/app", home="/home/dev")
SCOPE = Scope(policy=POLICY, cwd="/srv/app", environment=None)
INVENTORY = Policy(
    project_root="/srv/app",
    home="/home/dev",
    inventory={
        "production": {
            "aws_account": ("111111111111",),
            "aws_profile": ("prod-admin",),
            "gcp_project": ("shop-live-*",),
            "kube_namespace": ("payments",),
            "railway_project": ("proj-9f2",),
        },
        "staging": {"aws_account": ("222222222222",), "aws_profile": ("stage",)},
    },
)


def change(
    address: str,
    actions: list[str],
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    kind, name = address.rsplit(".", 2)[-2:]
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": actions, "before": before or {}, "after": after, "after_unknown": {}},
        **extra,
    }


def plan_of(*changes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"format_version": "1.2", "resource_changes": list(changes), **extra}


def decide_plan(plan: dict[str, Any], env: str | None = None, policy: Policy = POLICY) -> Decision:
    return decide(TerraformPlanAction(plan=plan, env=env, cwd="/srv/app"), policy)


# The DataTalks.Club shape: state lost, `terraform destroy` plans the production database away.
DATATALKS = plan_of(
    change(
        "aws_db_instance.main",
        ["delete"],
        {"identifier": "shop-db", "skip_final_snapshot": True, "delete_automated_backups": True},
        action_reason="delete_because_no_resource_config",
    ),
    change("aws_db_snapshot.nightly", ["delete"], {"db_snapshot_identifier": "nightly"}),
    change("aws_security_group.db", ["delete"]),
    change("aws_instance.web", ["no-op"]),
    variables={"environment": {"value": "production"}},
)


def test_datatalks_plan() -> None:
    found = analyze(DATATALKS, SCOPE)
    by = {f.targets[0]: f for f in found}
    assert set(by) == {"aws_db_instance.main", "aws_db_snapshot.nightly", "aws_security_group.db"}
    db = by["aws_db_instance.main"]
    assert db.operation == "iac.destroy" and db.reversible is False and db.verdict is Verdict.ASK
    assert db.summary.startswith(
        "destroys aws_db_instance.main, a database, and skip_final_snapshot is true: "
        "no final snapshot is taken"
    )
    assert "automated backups are deleted with it" in db.summary
    assert "also deletes backups (aws_db_snapshot.nightly)" in db.summary
    assert "gone from the configuration" in db.summary and "prevent_destroy" in db.summary
    assert db.environment == "production"
    assert "backups it holds are lost" in by["aws_db_snapshot.nightly"].summary
    assert by["aws_security_group.db"].reversible is None


def test_production_database_without_final_snapshot_is_denied_with_the_reason() -> None:
    plan = plan_of(change("aws_db_instance.main", ["delete"], {"skip_final_snapshot": True}))
    decision = decide_plan(plan, env="production")
    assert decision.verdict is Verdict.DENY
    assert "destroys aws_db_instance.main, a database, and skip_final_snapshot is true: " in (
        decision.message()
    )
    assert "no final snapshot is taken, in production" in decision.message()


def test_look_alike_development_database_with_final_snapshot_asks() -> None:
    plan = plan_of(change("aws_db_instance.main", ["delete"], {"skip_final_snapshot": False}))
    decision = decide_plan(plan, env="development")
    assert decision.verdict is Verdict.ASK
    assert "final snapshot" not in decision.message()
    assert "a database: its data is lost" in decision.message()


@pytest.mark.parametrize("entry", catalog().recovery, ids=lambda e: e.attribute)
def test_every_recovery_entry(entry: Any) -> None:
    kind = entry.types[0].replace("*", "cluster") if entry.types else "aws_db_instance"
    dropped = {entry.attribute: None} if entry.absent else {entry.attribute: entry.value}
    kept: dict[str, Any] = {entry.attribute: "snap-final" if entry.absent else not entry.value}
    if isinstance(entry.value, str):
        kept = {entry.attribute: "RETAIN"}
    (f,) = analyze(plan_of(change(f"{kind}.x", ["delete"], {"other": 1, **dropped})), SCOPE)
    assert entry.says in f.summary
    (g,) = analyze(plan_of(change(f"{kind}.x", ["delete"], {"other": 1, **kept})), SCOPE)
    assert entry.says not in g.summary


def test_recovery_entry_limited_to_its_types() -> None:
    # ElastiCache takes no final snapshot unless named; an RDS instance has no such attribute.
    (f,) = analyze(plan_of(change("aws_db_instance.x", ["delete"], {"other": 1})), SCOPE)
    assert "final_snapshot_identifier" not in f.summary


def test_force_destroy_bucket() -> None:
    bucket = change("aws_s3_bucket.logs", ["delete"], {"bucket": "logs", "force_destroy": True})
    (f,) = analyze(plan_of(bucket), SCOPE)
    assert "a storage bucket, and force_destroy is true: everything in it is deleted" in f.summary
    assert decide_plan(plan_of(bucket), env="production").verdict is Verdict.DENY


@pytest.mark.parametrize(
    ("actions", "order"),
    [
        (["delete", "create"], "destroys it first"),
        (["create", "delete"], "creates the new one first"),
    ],
)
def test_replace_either_order(actions: list[str], order: str) -> None:
    (f,) = analyze(plan_of(change("aws_rds_cluster.main", actions)), SCOPE)
    assert f.operation == "iac.replace" and order in f.summary and f.reversible is False
    assert decide_plan(plan_of(change("aws_rds_cluster.main", actions))).verdict is Verdict.DENY


def test_replace_with_deletion_protection_switched_off_says_so() -> None:
    rc = change(
        "aws_db_instance.main",
        ["delete", "create"],
        {"deletion_protection": True},
        {"deletion_protection": False},
    )
    (f,) = analyze(plan_of(rc), SCOPE)
    assert "deletion_protection is switched off in the same plan" in f.summary


@pytest.mark.parametrize("actions", [["delete", "create"], ["create", "delete"]])
def test_replace_of_stateless_resource_is_allowed(actions: list[str]) -> None:
    plan = plan_of(change("aws_instance.web", actions, action_reason="replace_because_tainted"))
    (f,) = analyze(plan, SCOPE)
    assert f.reversible is True and f.verdict is Verdict.ALLOW
    assert "recreates it from the configuration" in f.summary
    assert decide_plan(plan, env="production").verdict is Verdict.ALLOW


@pytest.mark.parametrize("actions", [["create"], ["update"], ["read"], ["no-op"]])
def test_no_delete_no_finding(actions: list[str]) -> None:
    assert analyze(plan_of(change("aws_db_instance.main", actions)), SCOPE) == []


def test_forget_only_touches_state_and_is_allowed() -> None:
    plan = plan_of(change("aws_s3_bucket.logs", ["forget"]))
    (f,) = analyze(plan, SCOPE)
    assert f.operation == "iac.forget" and f.reversible is True and "stays" in f.summary
    assert decide_plan(plan).verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    "plan",
    [
        [],
        "plan",
        None,
        {},
        {"resource_changes": "all"},
        {"resource_changes": [{"address": "x"}]},
        {"resource_changes": [{"change": {"actions": "delete"}}]},
        {"resource_changes": [42]},
        {"resource_changes": [], "errored": True},
    ],
)
def test_malformed_plan_is_ask(plan: Any) -> None:
    found = analyze(plan, SCOPE)
    assert [f.operation for f in found] == ["iac.unparsed"] and found[0].floor is Verdict.ASK
    if isinstance(plan, dict):
        assert decide_plan(plan).verdict is Verdict.ASK


def test_delete_because_no_module_is_named() -> None:
    plan = plan_of(
        change("module.db.aws_db_instance.x", ["delete"], action_reason="delete_because_no_module")
    )
    (f,) = analyze(plan, SCOPE)
    assert "its module is gone from the configuration" in f.summary


# --- environment of each resource ----------------------------------------------------------


def scope(env: str | None = None, policy: Policy = INVENTORY) -> Scope:
    return Scope(policy=policy, cwd="/srv/app", environment=env)


def db(before: dict[str, Any] | None = None, address: str = "aws_db_instance.main") -> Any:
    return change(address, ["delete"], {"identifier": "shop-db", **(before or {})})


def test_nothing_established_is_unknown_and_denied() -> None:
    (f,) = analyze(plan_of(db()), scope())
    assert f.environment == UNKNOWN
    assert decide_plan(plan_of(db())).verdict is Verdict.DENY


def test_action_env_used_when_the_plan_says_nothing_else() -> None:
    (f,) = analyze(plan_of(db()), scope("development"))
    assert f.environment == "development"
    assert decide_plan(plan_of(db()), env="development").verdict is Verdict.ASK


def test_arn_account_in_production_inventory_beats_action_env() -> None:
    arn = "arn:aws:rds:eu-west-1:111111111111:db:shop-db"
    (f,) = analyze(plan_of(db({"arn": arn})), scope("development"))
    assert f.environment == "production"
    decision = decide_plan(plan_of(db({"arn": arn})), env="development", policy=INVENTORY)
    assert decision.verdict is Verdict.DENY


def test_arn_account_in_staging_inventory_places_it_without_env() -> None:
    arn = "arn:aws:rds:eu-west-1:222222222222:db:shop-db"
    (f,) = analyze(plan_of(db({"arn": arn})), scope())
    assert f.environment == "staging"
    # Look-alike: an account nobody configured is no evidence; the action's env stands.
    other = "arn:aws:rds:eu-west-1:333333333333:db:shop-db"
    (g,) = analyze(plan_of(db({"arn": other})), scope("development"))
    assert g.environment == "development"


def test_plan_variable_production_beats_action_env() -> None:
    plan = plan_of(db(), variables={"env": {"value": "prod"}})
    (f,) = analyze(plan, scope("development"))
    assert f.environment == "prod"
    staging = plan_of(db(), variables={"stage": {"value": "qa"}})
    (g,) = analyze(staging, scope("development"))
    assert g.environment == "qa"  # the plan's own word is more specific than the action's


def test_workspace() -> None:
    (f,) = analyze(plan_of(db(), workspace="prod"), scope("staging"))
    assert f.environment == "prod"
    (g,) = analyze(plan_of(db(), workspace="default"), scope("staging"))
    assert g.environment == "staging"


def provider_config(**expressions: Any) -> dict[str, Any]:
    return {
        "provider_config": {
            "aws": {
                "name": "aws",
                "full_name": "registry.terraform.io/hashicorp/aws",
                **expressions,
            }
        }
    }


def test_provider_profile_and_assume_role() -> None:
    prod = provider_config(expressions={"profile": {"constant_value": "prod-admin"}})
    (f,) = analyze(plan_of(db(), configuration=prod), scope("development"))
    assert f.environment == "production"
    role = provider_config(
        expressions={
            "assume_role": [
                {"role_arn": {"constant_value": "arn:aws:iam::222222222222:role/deploy"}}
            ]
        }
    )
    (g,) = analyze(plan_of(db(), configuration=role), scope())
    assert g.environment == "staging"


def test_provider_profile_from_a_variable() -> None:
    config = provider_config(expressions={"profile": {"references": ["var.aws_profile"]}})
    plan = plan_of(db(), configuration=config, variables={"aws_profile": {"value": "prod-admin"}})
    (f,) = analyze(plan, scope("development"))
    assert f.environment == "production"
    calm = {**plan, "variables": {"aws_profile": {"value": "sandbox"}}}
    (g,) = analyze(calm, scope("development"))
    assert g.environment == "development"


def test_other_providers_identifiers() -> None:
    gcp = change("google_sql_database_instance.main", ["delete"], {"project": "shop-live-eu"})
    pvc = change(
        "kubernetes_persistent_volume_claim_v1.data",
        ["delete"],
        {"metadata": [{"name": "data", "namespace": "payments"}]},
    )
    rail = change("railway_volume.pg", ["delete"], {"project_id": "proj-9f2"})
    for rc in (gcp, pvc, rail):
        (f,) = analyze(plan_of(rc), scope("development"))
        assert f.environment == "production", rc["address"]


def test_resource_named_production() -> None:
    (f,) = analyze(plan_of(db({"identifier": "shop-production"})), scope("development"))
    assert f.environment == "production"
    (g,) = analyze(plan_of(db({"identifier": "shop-productive-dev"})), scope("development"))
    assert g.environment == "development"


def test_environment_is_per_resource() -> None:
    prod = db({"arn": "arn:aws:rds:eu-west-1:111111111111:db:a"}, "aws_db_instance.a")
    stage = db({"arn": "arn:aws:rds:eu-west-1:222222222222:db:b"}, "aws_db_instance.b")
    found = {f.targets[0]: f.environment for f in analyze(plan_of(prod, stage), scope())}
    assert found == {"aws_db_instance.a": "production", "aws_db_instance.b": "staging"}


# --- the catalog ---------------------------------------------------------------------------

DATA_TYPES = {
    "aws_db_instance": "a database",
    "aws_rds_cluster": "a database",
    "aws_s3_bucket": "a storage bucket",
    "aws_dynamodb_table": "a database",
    "aws_ebs_volume": "a volume",
    "aws_efs_file_system": "a volume",
    "aws_kms_key": "an encryption key",
    "google_sql_database_instance": "a database",
    "google_storage_bucket": "a storage bucket",
    "google_compute_disk": "a volume",
    "google_kms_crypto_key": "an encryption key",
    "azurerm_mssql_database": "a database",
    "azurerm_postgresql_flexible_server": "a database",
    "azurerm_storage_account": "a storage bucket",
    "azurerm_managed_disk": "a volume",
    "kubernetes_persistent_volume_claim": "a volume",
    "kubernetes_persistent_volume_claim_v1": "a volume",
    "railway_volume": "a volume",
    "neon_project": "a database",
    "neon_branch": "a database",
    "supabase_project": "a database",
    "digitalocean_database_cluster": "a database",
    "digitalocean_volume": "a volume",
    "aws_fsx_lustre_file_system": "a volume",
    "google_spanner_database": "a database",
    "azurerm_cosmosdb_account": "a database",
}


@pytest.mark.parametrize(("kind", "noun"), DATA_TYPES.items())
def test_data_bearing_types(kind: str, noun: str) -> None:
    (f,) = analyze(plan_of(change(f"{kind}.x", ["delete"])), SCOPE)
    assert f.reversible is False and f", {noun}" in f.summary


@pytest.mark.parametrize(
    ("kind", "loss"),
    [
        ("aws_kms_key", "an encryption key: whatever was encrypted with it can no longer be read"),
        ("kubernetes_namespace_v1", "a Kubernetes namespace: everything in it"),
        ("aws_ebs_volume", "a volume: its data is lost"),
        ("ovh_cloud_project_database", "probably a database: any data it holds is lost"),
    ],
)
def test_the_reason_says_what_is_lost(kind: str, loss: str) -> None:
    (f,) = analyze(plan_of(change(f"{kind}.x", ["delete"])), SCOPE)
    assert f.summary == f"destroys {kind}.x, {loss}" or f.summary.startswith(
        f"destroys {kind}.x, {loss}"
    )


@pytest.mark.parametrize(
    "kind",
    [
        "aws_backup_vault",
        "aws_db_snapshot",
        "google_compute_snapshot",
        "azurerm_recovery_services_vault",
        "azurerm_backup_protected_vm",
    ],
)
def test_backup_types(kind: str) -> None:
    (f,) = analyze(plan_of(change(f"{kind}.x", ["delete"])), SCOPE)
    assert f.reversible is False and "backups it holds are lost" in f.summary


@pytest.mark.parametrize(
    "kind",
    [
        "aws_iam_role",
        "aws_security_group",
        "google_compute_firewall",
        "azurerm_resource_group_policy",
        # Configuration of a data-bearing thing, not the thing (the not_data patterns):
        "aws_db_subnet_group",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "azurerm_mssql_firewall_rule",
        "google_storage_bucket_iam_member",
        "aws_route_table",
    ],
)
def test_stateless_types(kind: str) -> None:
    (f,) = analyze(plan_of(change(f"{kind}.x", ["delete"])), SCOPE)
    assert f.reversible is None and "lost" not in f.summary and "probably" not in f.summary
    (g,) = analyze(plan_of(change(f"{kind}.x", ["delete", "create"])), SCOPE)
    assert g.verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    ("kind", "noun"),
    [("acme_postgres_cluster", "a database"), ("scaleway_object_bucket", "a storage bucket")],
)
def test_uncatalogued_types_are_guessed_from_their_name(kind: str, noun: str) -> None:
    (f,) = analyze(plan_of(change(f"{kind}.x", ["delete"])), SCOPE)
    assert f"probably {noun}" in f.summary and f.reversible is None
    # A replace of something that may hold data is not waved through.
    (g,) = analyze(plan_of(change(f"{kind}.x", ["delete", "create"])), SCOPE)
    assert g.verdict is Verdict.ASK


def test_every_catalog_pattern_matches_something() -> None:
    cat = catalog()
    assert cat.kinds and cat.words and cat.not_data and cat.recovery
    for kind, patterns in cat.kinds:
        for pattern in patterns:
            name = pattern.replace("*", "x")
            (f,) = analyze(plan_of(change(f"{name}.r", ["delete"])), SCOPE)
            assert f.reversible is False and kind.noun in f.summary, pattern


def test_plan_is_not_mutated() -> None:
    plan = copy.deepcopy(DATATALKS)
    analyze(plan, SCOPE)
    assert plan == DATATALKS


# --- safeguards switched off ---------------------------------------------------------------


def _update(kind: str, before: dict[str, object], after: dict[str, object]) -> dict[str, object]:
    return plan_of(change(f"{kind}.main", ["update"], before, after))


@pytest.mark.parametrize(
    ("kind", "before", "after"),
    [
        ("aws_db_instance", {"deletion_protection": True}, {"deletion_protection": False}),
        ("aws_db_instance", {"skip_final_snapshot": False}, {"skip_final_snapshot": True}),
        (
            "aws_db_instance",
            {"delete_automated_backups": False},
            {"delete_automated_backups": True},
        ),
        ("aws_db_instance", {"backup_retention_period": 7}, {"backup_retention_period": 0}),
        ("aws_s3_bucket", {"force_destroy": False}, {"force_destroy": True}),
        (
            "aws_s3_bucket_versioning",
            {"versioning_configuration": [{"status": "Enabled"}]},
            {"versioning_configuration": [{"status": "Suspended"}]},
        ),
        ("aws_cloudtrail", {"enable_logging": True}, {"enable_logging": False}),
    ],
)
def test_turning_a_safeguard_off_is_found(
    kind: str, before: dict[str, object], after: dict[str, object]
) -> None:
    found = analyze(_update(kind, before, after), SCOPE)
    assert [f.operation for f in found] == ["safeguard.disable"]
    # The look-alike: the same switch turned on, or left alone, is no finding.
    assert analyze(_update(kind, after, before), SCOPE) == []
    assert analyze(_update(kind, before, before), SCOPE) == []


def test_safeguard_off_alongside_a_delete_says_so_and_is_denied_in_production() -> None:
    plan = plan_of(
        change(
            "aws_db_instance.main",
            ["update"],
            {"deletion_protection": True, "tags": {}},
            {"deletion_protection": False, "tags": {}},
        ),
        change("aws_db_instance.replica", ["delete"]),
    )
    off = next(f for f in analyze(plan, SCOPE) if f.operation == "safeguard.disable")
    assert "this plan also deletes aws_db_instance.replica" in off.summary
    assert decide_plan(plan, env="production").verdict is Verdict.DENY
    # Look-alike: a tag change on the same database is nothing.
    tags = plan_of(
        change(
            "aws_db_instance.main",
            ["update"],
            {"deletion_protection": True, "tags": {"team": "a"}},
            {"deletion_protection": True, "tags": {"team": "b"}},
        )
    )
    assert analyze(tags, SCOPE) == []
    assert decide_plan(tags, env="production").verdict is Verdict.ALLOW
