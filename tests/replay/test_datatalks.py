"""`interlock replay datatalks` end to end, and the Terraform stand-in's formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from interlock.cli import main
from interlock.replay import datatalks


def standin(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interlock.replay.terraform_standin", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    config = {
        "resource": datatalks.RESOURCES,
        "variable": {"environment": {"default": "production"}},
    }
    (tmp_path / "main.tf.json").write_text(json.dumps(config))
    return tmp_path


def test_without_state_terraform_wants_to_create_everything_again(infra: Path) -> None:
    done = standin(infra, "plan")
    assert done.returncode == 0
    assert done.stdout.strip().splitlines()[-1] == "Plan: 5 to add, 0 to change, 0 to destroy."


def test_destroy_plan_is_terraform_show_json(infra: Path) -> None:
    (infra / "terraform.tfstate").write_text(json.dumps(datatalks.state()))
    assert standin(infra, "plan", "-destroy", "-out=d.tfplan").returncode == 0
    shown = standin(infra, "show", "-json", "d.tfplan")
    plan = json.loads(shown.stdout)
    assert plan["format_version"] == "1.2" and plan["errored"] is False
    changes = {c["address"]: c for c in plan["resource_changes"]}
    db = changes["aws_db_instance.production"]
    assert db["change"]["actions"] == ["delete"] and db["change"]["after"] is None
    assert db["change"]["before"]["identifier"] == datatalks.IDENTIFIER
    assert db["change"]["before"]["delete_automated_backups"] is True
    assert len(plan["prior_state"]["values"]["root_module"]["resources"]) == 5
    # Without -auto-approve and without a terminal, nothing is applied.
    assert standin(infra, "destroy").returncode == 1


def test_replay_datatalks_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", "datatalks"])
    printed = capsys.readouterr().out
    without, with_ = printed.split("── with Interlock")
    assert "Plan: 5 to add, 0 to change, 0 to destroy." in without
    assert "Destroy complete! Resources: 5 destroyed." in without
    assert (
        "DeleteDBInstance dtc-courses-prod (final snapshot skipped; 2 automated backups "
        "deleted with it)" in without
    )
    assert "DeleteDBSnapshot dtc-courses-prod-before-pg16" in without
    assert "RDS dtc-courses-prod: GONE" in without
    assert "ok   loss reproduced" in without
    for line in (
        "hook       ok   the hook stopped terraform destroy (deny)",
        "terraform  ok   interlock terraform read the plan and refused to apply it (exit 2)",
        "deny: destroys aws_db_instance.production, a database",
        "check      ok   the saved plan is denied (exit 2)",
        "postgres   ok   nothing lost: 4 databases",
    ):
        assert line in with_, line
    assert "FAIL" not in with_
    assert printed.rstrip().endswith("PASS")
    assert code == 0
