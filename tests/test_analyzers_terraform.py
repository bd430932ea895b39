"""Terraform plan analysis over `terraform show -json` output."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from interlock.analyzers import Scope
from interlock.analyzers.terraform import analyze, catalog
from interlock.config import Policy
from interlock.decisions import Verdict

SCOPE = Scope(policy=Policy(project_root="/srv/app"), cwd="/srv/app", environment=None)


def change(
    address: str, actions: list[str], before: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    kind, name = address.split(".", 1)
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": actions, "before": before or {}, "after": None, "after_unknown": {}},
        **extra,
    }


# The DataTalks.Club shape: state lost, `terraform destroy` plans the production database away.
DATATALKS = {
    "format_version": "1.2",
    "terraform_version": "1.9.5",
    "variables": {"environment": {"value": "production"}},
    "resource_changes": [
        change(
            "aws_db_instance.main",
            ["delete"],
            {
                "identifier": "prod-db",
                "skip_final_snapshot": True,
                "delete_automated_backups": True,
            },
            action_reason="delete_because_no_resource_config",
        ),
        change("aws_db_snapshot.nightly", ["delete"], {"db_snapshot_identifier": "nightly"}),
        change("aws_security_group.db", ["delete"]),
        change("aws_instance.web", ["no-op"]),
    ],
}


def test_datatalks_plan() -> None:
    found = analyze(DATATALKS, SCOPE)
    by = {f.targets[0]: f for f in found}
    assert set(by) == {"aws_db_instance.main", "aws_db_snapshot.nightly", "aws_security_group.db"}
    db = by["aws_db_instance.main"]
    assert db.operation == "iac.destroy" and db.reversible is False and db.verdict is Verdict.ASK
    assert "data it holds is lost" in db.summary and "no final snapshot" in db.summary
    assert "also deletes backups (aws_db_snapshot.nightly)" in db.summary
    assert "configuration is gone" in db.summary
    assert db.environment == "production"
    assert "backups it holds are lost" in by["aws_db_snapshot.nightly"].summary
    assert by["aws_security_group.db"].reversible is None


@pytest.mark.parametrize(
    ("actions", "order"),
    [
        (["delete", "create"], "destroys it first"),
        (["create", "delete"], "creates the new one first"),
    ],
)
def test_replace_either_order(actions: list[str], order: str) -> None:
    plan = {"resource_changes": [change("aws_rds_cluster.main", actions)]}
    (f,) = analyze(plan, SCOPE)
    assert f.operation == "iac.replace" and order in f.summary and f.reversible is False


def test_replace_of_stateless_resource_is_reversible() -> None:
    (f,) = analyze({"resource_changes": [change("aws_instance.web", ["delete", "create"])]}, SCOPE)
    assert f.reversible is True


@pytest.mark.parametrize("actions", [["create"], ["update"], ["read"], ["no-op"]])
def test_no_delete_no_finding(actions: list[str]) -> None:
    assert analyze({"resource_changes": [change("aws_db_instance.main", actions)]}, SCOPE) == []


def test_forget_only_touches_state() -> None:
    (f,) = analyze({"resource_changes": [change("aws_s3_bucket.logs", ["forget"])]}, SCOPE)
    assert f.operation == "iac.forget" and f.reversible is True


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
    ],
)
def test_malformed_plan_is_ask(plan: Any) -> None:
    found = analyze(plan, SCOPE)
    assert [f.operation for f in found] == ["iac.unparsed"] and found[0].floor is Verdict.ASK


def test_environment_sources() -> None:
    plan = {"resource_changes": [change("aws_s3_bucket.b", ["delete"])]}
    assert analyze(plan, SCOPE)[0].environment is None
    scoped = Scope(policy=SCOPE.policy, cwd=None, environment="staging")
    assert analyze(plan, scoped)[0].environment == "staging"
    assert (
        analyze({**plan, "workspace": "prod"}, scoped)[0].environment == "prod"
    )  # production wins
    with_var = {**plan, "variables": {"environment": {"value": "qa"}}}
    assert analyze(with_var, SCOPE)[0].environment == "qa"


DATA_TYPES = [
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_s3_bucket",
    "aws_dynamodb_table",
    "aws_ebs_volume",
    "aws_efs_file_system",
    "google_sql_database_instance",
    "google_storage_bucket",
    "azurerm_mssql_database",
    "azurerm_postgresql_flexible_server",
    "azurerm_storage_account",
    "kubernetes_persistent_volume_claim",
    "kubernetes_persistent_volume_claim_v1",
    "railway_volume",
    "aws_fsx_lustre_file_system",
    "google_spanner_database",
    "azurerm_cosmosdb_account",
]


@pytest.mark.parametrize("kind", DATA_TYPES)
def test_data_bearing_types(kind: str) -> None:
    (f,) = analyze({"resource_changes": [change(f"{kind}.x", ["delete"])]}, SCOPE)
    assert f.reversible is False and "data it holds is lost" in f.summary


@pytest.mark.parametrize(
    "kind",
    [
        "aws_backup_vault",
        "aws_db_snapshot",
        "google_compute_snapshot",
        "azurerm_recovery_services_vault",
        "azurerm_backup_policy_vm",
    ],
)
def test_backup_types(kind: str) -> None:
    (f,) = analyze({"resource_changes": [change(f"{kind}.x", ["delete"])]}, SCOPE)
    assert f.reversible is False and "backups it holds are lost" in f.summary


@pytest.mark.parametrize(
    "kind",
    [
        "aws_iam_role",
        "aws_security_group",
        "google_compute_firewall",
        "azurerm_resource_group_policy",
    ],
)
def test_stateless_types(kind: str) -> None:
    (f,) = analyze({"resource_changes": [change(f"{kind}.x", ["delete"])]}, SCOPE)
    assert f.reversible is None and "lost" not in f.summary


def test_every_catalog_pattern_matches_something() -> None:
    data, backups = catalog()
    assert data and backups
    for pattern in (*data, *backups):
        kind = pattern.replace("*", "x")
        plan = {"resource_changes": [change(f"{kind}.r", ["delete"])]}
        (f,) = analyze(plan, SCOPE)
        assert f.reversible is False, pattern


def test_plan_is_not_mutated() -> None:
    plan = copy.deepcopy(DATATALKS)
    analyze(plan, SCOPE)
    assert plan == DATATALKS


def _update(kind: str, before: dict[str, object], after: dict[str, object]) -> dict[str, object]:
    return {
        "resource_changes": [
            {
                "address": f"{kind}.main",
                "type": kind,
                "change": {"actions": ["update"], "before": before, "after": after},
            }
        ]
    }


@pytest.mark.parametrize(
    ("kind", "before", "after"),
    [
        ("aws_db_instance", {"deletion_protection": True}, {"deletion_protection": False}),
        ("aws_db_instance", {"skip_final_snapshot": False}, {"skip_final_snapshot": True}),
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
    from interlock.analyzers import Scope
    from interlock.config import Policy

    scope = Scope(policy=Policy(project_root="/p", home="/h"), cwd="/p", environment=None)
    found = analyze(_update(kind, before, after), scope)
    assert [f.operation for f in found] == ["safeguard.disable"]
    # The look-alike: the same switch turned on, or left alone, is no finding.
    assert analyze(_update(kind, after, before), scope) == []
    assert analyze(_update(kind, before, before), scope) == []
