"""`interlock terraform` against a fake `terraform` placed first on PATH.

The fake records every invocation (and the SHA-256 of the plan file it was given) in a log, writes
a plan file on `plan -out=…`, prints the JSON plan the test chose on `show -json`, and does
nothing on `apply`: the tests read the log to see whether apply ran, and on which file.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import sys
from pathlib import Path
from typing import Any

import pytest

from interlock.cli import main

FAKE = """#!{python}
import hashlib, json, os, sys
args = sys.argv[1:]
rest = [a for a in args if not a.startswith("-chdir=")]
cmd = rest[0]
plan = rest[-1]
if cmd == "plan":
    plan = next(a.split("=", 1)[1] for a in rest if a.startswith("-out="))
    if os.environ.get("FAKE_TF_FAIL") != "plan":
        with open(plan, "w") as fh:
            fh.write("fake plan " + " ".join(rest))
        print("Plan: 1 to add, 0 to change, 0 to destroy.")
sha = hashlib.sha256(open(plan, "rb").read()).hexdigest() if os.path.isfile(plan) else None
with open(os.environ["FAKE_TF_LOG"], "a") as fh:
    fh.write(json.dumps({{"args": args, "plan": plan, "sha": sha}}) + "\\n")
if cmd == "show":
    sys.stdout.write(open(os.environ["FAKE_TF_PLAN"]).read())
    if os.environ.get("FAKE_TF_TAMPER"):
        with open(plan, "a") as fh:
            fh.write(" and a destroy slipped in")
elif cmd == "apply":
    print("Apply complete!")
sys.exit(1 if os.environ.get("FAKE_TF_FAIL") == cmd else 0)
"""

CREATE = {
    "format_version": "1.2",
    "resource_changes": [
        {
            "address": "aws_s3_bucket.assets",
            "type": "aws_s3_bucket",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["create"], "before": None, "after": {"bucket": "assets"}},
        }
    ],
}
DROP_DB = {
    "format_version": "1.2",
    "resource_changes": [
        {
            "address": "aws_db_instance.main",
            "type": "aws_db_instance",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {
                "actions": ["delete"],
                "before": {"identifier": "shop", "skip_final_snapshot": True},
                "after": None,
            },
        }
    ],
}


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake terraform first on PATH; returns the log file. Runs in tmp_path/stack."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "terraform"
    script.write_text(FAKE.format(python=sys.executable))
    script.chmod(0o755)
    stack = tmp_path / "stack"
    stack.mkdir()
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_TF_LOG", str(log))
    monkeypatch.delenv("TF_WORKSPACE", raising=False)
    monkeypatch.delenv("INTERLOCK_TERRAFORM", raising=False)
    monkeypatch.delenv("INTERLOCK_CONFIG", raising=False)
    monkeypatch.chdir(stack)
    return log


def use_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    monkeypatch.setenv("FAKE_TF_PLAN", str(path))


def calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def command(call: dict[str, Any]) -> str:
    return next(a for a in call["args"] if not a.startswith("-chdir="))


def test_allow_applies_the_exact_plan_that_was_judged(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    use_plan(tmp_path, monkeypatch, CREATE)
    assert main(["terraform", "--", "-var-file=dev.tfvars"]) == 0
    plan, show, apply = calls(fake)
    assert [command(c) for c in (plan, show, apply)] == ["plan", "show", "apply"]
    out_path = plan["plan"]
    assert "-var-file=dev.tfvars" in plan["args"] and "-input=false" in plan["args"]
    assert show["args"] == ["show", "-json", out_path]
    assert apply["args"] == ["apply", out_path] and apply["sha"] == show["sha"]
    assert not Path(out_path).exists()  # the private copy is gone afterwards
    assert "ALLOW" in capfd.readouterr().out


def test_deny_never_applies_and_says_why(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    use_plan(tmp_path, monkeypatch, DROP_DB)
    assert main(["terraform", "--env", "production"]) == 2
    assert [command(c) for c in calls(fake)] == ["plan", "show"]
    out = capfd.readouterr()
    assert "DENY" in out.out and "skip_final_snapshot is true: no final snapshot" in out.out
    assert "not applied" in out.err


def test_unknown_environment_is_denied_too(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plan(tmp_path, monkeypatch, DROP_DB)
    assert main(["terraform"]) == 2
    assert "apply" not in [command(c) for c in calls(fake)]


def test_ask_without_a_terminal_is_refused(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    use_plan(tmp_path, monkeypatch, DROP_DB)
    assert main(["terraform", "--env", "development"]) == 3
    assert "apply" not in [command(c) for c in calls(fake)]
    assert "needs a person's approval" in capfd.readouterr().err


def test_dry_run_never_applies(fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_plan(tmp_path, monkeypatch, CREATE)
    assert main(["terraform", "--dry-run"]) == 0
    assert [command(c) for c in calls(fake)] == ["plan", "show"]


def test_destroy_plans_with_destroy(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plan(tmp_path, monkeypatch, DROP_DB)
    assert (
        main(["terraform", "--env", "production", "destroy", "-target=aws_db_instance.main"]) == 2
    )
    (plan, _show) = calls(fake)
    assert "-destroy" in plan["args"] and "-target=aws_db_instance.main" in plan["args"]


@pytest.mark.parametrize(
    "args",
    [
        ["apply"],
        ["apply", "-auto-approve"],
        ["apply", "-auto-approve", "-var=env=prod"],
        ["apply", "a.tfplan", "b.tfplan"],
        ["apply", "-target=x", "saved.tfplan"],
        ["init"],
        ["state", "rm", "aws_db_instance.main"],
    ],
)
def test_refuses_apply_without_a_saved_plan_and_other_commands(
    fake: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    use_plan(tmp_path, monkeypatch, CREATE)
    (Path.cwd() / "saved.tfplan").write_text("x")
    assert main(["terraform", *args]) == 1
    assert calls(fake) == []  # terraform never ran
    assert "error:" in capfd.readouterr().err


def test_apply_saved_plan_judges_and_applies_that_plan(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plan(tmp_path, monkeypatch, CREATE)
    saved = Path.cwd() / "saved.tfplan"
    saved.write_text("a plan a person made earlier")
    assert main(["terraform", "apply", "-auto-approve", "saved.tfplan"]) == 0
    show, apply = calls(fake)
    assert command(show) == "show" and command(apply) == "apply"
    want = hashlib.sha256(saved.read_bytes()).hexdigest()
    assert show["sha"] == want and apply["sha"] == want and apply["plan"] == show["plan"]
    assert apply["args"] == ["apply", "-auto-approve", show["plan"]]


def test_apply_saved_plan_that_is_denied(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plan(tmp_path, monkeypatch, DROP_DB)
    (Path.cwd() / "saved.tfplan").write_text("drop it")
    assert main(["terraform", "--env", "production", "apply", "saved.tfplan"]) == 2
    assert [command(c) for c in calls(fake)] == ["show"]


def test_a_plan_changed_after_it_was_judged_is_not_applied(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plan(tmp_path, monkeypatch, CREATE)
    monkeypatch.setenv("FAKE_TF_TAMPER", "1")
    assert main(["terraform"]) == 1
    assert [command(c) for c in calls(fake)] == ["plan", "show"]


@pytest.mark.parametrize("step", ["plan", "show", "apply"])
def test_terraform_failing_is_an_error(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    use_plan(tmp_path, monkeypatch, CREATE)
    monkeypatch.setenv("FAKE_TF_FAIL", step)
    assert main(["terraform"]) == 1
    ran = [command(c) for c in calls(fake)]
    assert ran[-1] == step and ran.count("apply") <= (step == "apply")


def test_workspace_counts_as_the_environment(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plan(tmp_path, monkeypatch, DROP_DB)
    (Path.cwd() / ".terraform").mkdir()
    (Path.cwd() / ".terraform" / "environment").write_text("prod\n")
    assert main(["terraform", "--env", "development", "--dry-run"]) == 2
    # Look-alike: the default workspace says nothing; the action's development stands (ask).
    (Path.cwd() / ".terraform" / "environment").write_text("default\n")
    assert main(["terraform", "--env", "development", "--dry-run"]) == 3
    monkeypatch.setenv("TF_WORKSPACE", "production")
    assert main(["terraform", "--env", "development", "--dry-run"]) == 2


def test_chdir_goes_to_every_terraform_call(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plan(tmp_path, monkeypatch, CREATE)
    (Path.cwd() / "infra").mkdir()
    assert main(["terraform", "-chdir=infra"]) == 0
    assert all(c["args"][0] == "-chdir=infra" for c in calls(fake)) and len(calls(fake)) == 3


def test_terraform_option_names_only_terraform_programs(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    use_plan(tmp_path, monkeypatch, CREATE)
    assert main(["terraform", "--terraform", "/bin/sh"]) == 1
    assert calls(fake) == [] and "must name a Terraform program" in capfd.readouterr().err
    monkeypatch.setenv("INTERLOCK_TERRAFORM", str(tmp_path / "bin" / "terraform"))
    assert main(["terraform"]) == 0  # the full path of a program named terraform is fine


def test_missing_terraform_is_an_error(
    fake: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["terraform", "--terraform", str(tmp_path / "nope" / "terraform")]) == 1
    assert "not on PATH" in capfd.readouterr().err


def _run_in_terminal(args: list[str], answer: bytes, env: dict[str, str]) -> tuple[int, bytes]:
    """Run `interlock ARGS` with a real controlling terminal; type ``answer`` at the prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin and /dev/tty are the terminal
        code = "import sys; from interlock.cli import main; sys.exit(main(sys.argv[1:]))"
        os.execvpe(sys.executable, [sys.executable, "-c", code, *args], env)
    seen = b""
    answered = False
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            os.kill(pid, 9)
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"Only 'yes' applies it" in seen:
            os.write(fd, answer + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen


@pytest.mark.parametrize(("answer", "code"), [(b"yes", 0), (b"y", 3), (b"", 3)])
def test_ask_on_a_terminal_applies_only_after_yes(
    fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: bytes, code: int
) -> None:
    use_plan(tmp_path, monkeypatch, DROP_DB)
    exit_code, screen = _run_in_terminal(
        ["terraform", "--env", "development"], answer, dict(os.environ)
    )
    assert b"skip_final_snapshot is true" in screen
    assert exit_code == code, screen
    applied = [c for c in calls(fake) if command(c) == "apply"]
    assert len(applied) == (1 if code == 0 else 0)


# --- `interlock check --plan` and `--batch` with terraform_plan (the same decision) ---------


def test_check_plan_file_and_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    path = tmp_path / "plan.json"
    path.write_text(json.dumps(DROP_DB))
    assert main(["check", "--cwd", str(tmp_path), "--plan", str(path), "--env", "production"]) == 2
    assert "skip_final_snapshot is true: no final snapshot is taken" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(json.dumps(CREATE).encode())))
    assert main(["check", "--cwd", str(tmp_path), "--plan", "-"]) == 0


def test_check_batch_terraform_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    lines = [
        {"id": "drop", "kind": "terraform_plan", "plan": DROP_DB, "env": "development"},
        {"id": "create", "kind": "terraform_plan", "plan": CREATE},
        {"id": "bad", "kind": "terraform_plan", "plan": "not a plan"},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["check", "--cwd", str(tmp_path), "--batch"]) == 0
    rows = {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["drop"]["decision"] == "ask" and rows["create"]["decision"] == "allow"
    assert rows["bad"]["decision"] == "deny"  # not decidable: fail closed


# --- the shell hand-off: what the hook says about terraform commands -----------------------


@pytest.mark.parametrize(
    "command",
    [
        "terraform apply plan.out",
        "terraform apply -auto-approve tfplan",
        "terraform destroy",
        "terraform apply -auto-approve",
        "terraform apply -destroy",
        "tofu apply -input=false prod.tfplan",
    ],
)
def test_shell_terraform_applies_ask_and_are_denied_in_production(command: str) -> None:
    from interlock.actions import ShellAction
    from interlock.config import Policy
    from interlock.engine import decide

    policy = Policy(project_root="/srv/app", home="/home/dev")
    for env, verdict in (("development", "ask"), ("production", "deny")):
        action = ShellAction(command=command, env=env, cwd="/srv/app")
        assert decide(action, policy).verdict.value == verdict, (command, env)


@pytest.mark.parametrize(
    "command",
    [
        "terraform plan -out=plan.out",
        "terraform show -json plan.out",
        "interlock terraform --env staging -- -var-file=staging.tfvars",
        "interlock terraform apply plan.out",
    ],
)
def test_shell_look_alikes_are_allowed(command: str) -> None:
    from interlock.actions import ShellAction
    from interlock.config import Policy
    from interlock.engine import decide

    policy = Policy(project_root="/srv/app", home="/home/dev")
    action = ShellAction(command=command, env="production", cwd="/srv/app")
    assert decide(action, policy).verdict.value == "allow"
