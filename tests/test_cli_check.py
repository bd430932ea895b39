"""`interlock check`: exit status per verdict, readable and JSON output, batch mode that keeps
going past bad lines, the audit flag, and no secret echoed back (cli/check.py, cli/render.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from interlock.cli import main
from interlock.cli.render import render_decision
from interlock.decisions import Decision, Finding, Reason, Verdict

DROP_PLAN = {
    "format_version": "1.2",
    "resource_changes": [
        {
            "address": "aws_db_instance.main",
            "type": "aws_db_instance",
            "name": "main",
            "change": {"actions": ["delete"], "before": {}, "after": None},
        }
    ],
}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No interlock.toml from the machine, and no audit log written into the real tree.
    monkeypatch.delenv("INTERLOCK_CONFIG", raising=False)
    monkeypatch.setenv("INTERLOCK_AUDIT_LOG", str(tmp_path / "audit" / "audit.jsonl"))
    monkeypatch.chdir(tmp_path)


def run(args: list[str], capsys: pytest.CaptureFixture[str], stdin: str = "") -> tuple[int, str]:
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(args)
    finally:
        sys.stdin = old
    out = capsys.readouterr()
    return code, out.out + out.err


def test_sql_drop_in_production_is_deny_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        ["check", "--no-color", "--sql", "DROP TABLE users", "--env", "production"], capsys
    )
    assert code == 2
    assert out.startswith("DENY")
    assert "[default.protect-production]" in out
    assert "db.drop_table" in out and "environment: production" in out
    assert "cannot be undone" in out


def test_select_is_allow_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["check", "--no-color", "--sql", "SELECT * FROM users LIMIT 5"], capsys)
    assert code == 0
    assert out.startswith("ALLOW")


def test_drop_outside_production_is_ask_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["check", "--no-color", "--sql", "DROP TABLE users"], capsys)
    assert code == 3
    assert out.startswith("ASK")


def test_json_output_has_the_decision_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["check", "--json", "--sql", "TRUNCATE orders", "--env", "prod"], capsys)
    data = json.loads(out)
    assert code == 2 and data["decision"] == "deny"
    assert data["rule"] == "default.protect-production"
    assert data["action_digest"].startswith("sha256:")
    assert data["findings"][0]["environment"] == "prod"
    assert {"rule", "message", "verdict"} <= set(data["reasons"][0])


def test_shell_command_after_double_dash(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["check", "--no-color", "--cwd", "/home/dev/app", "--", "rm -rf ~"], capsys)
    assert code == 2, out
    code, out = run(
        ["check", "--no-color", "--cwd", "/home/dev/app", "--", "git", "status"], capsys
    )
    assert code == 0, out


def test_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(DROP_PLAN))
    code, out = run(["check", "--json", "--plan", str(plan), "--env", "production"], capsys)
    assert code == 2, out
    plan.write_text("{not json")
    code, out = run(["check", "--plan", str(plan)], capsys)
    assert code == 1 and "not JSON" in out


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["check", "--sql", "SELECT 1", "--", "ls"],
        ["check", "--no-such-option"],
        ["check", "--http", "GET"],
        ["check", "--http", "GET", "http://x", "--header", "no-colon"],
    ],
)
def test_bad_usage_exits_1_never_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(args, capsys)
    assert code == 1


def test_batch_keeps_order_and_survives_bad_lines(capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        {"id": "a", "kind": "sql", "sql": "SELECT 1", "label": "ignored"},
        "this is not json",
        {"id": "c", "kind": "sql"},
        {"id": "d", "kind": "sql", "sql": "DROP TABLE users", "env": "production"},
        {"id": "e", "kind": "teleport", "command": "x"},
        {"id": "f", "kind": "shell", "command": "ls -la"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    code, out = run(["check", "--batch"], capsys, stdin)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r.get("id") for r in rows] == ["a", None, "c", "d", "e", "f"]
    assert [r["decision"] for r in rows] == ["allow", "deny", "deny", "deny", "deny", "allow"]
    assert rows[1]["rule"] == "check.invalid-json" and "line 2" in rows[1]["reasons"][0]["message"]
    assert rows[2]["rule"] == "check.invalid-action"
    assert "unknown kind" in rows[4]["reasons"][0]["message"]
    assert rows[3]["action_digest"].startswith("sha256:") and rows[3]["findings"]


def test_batch_env_option_is_the_default_env(capsys: pytest.CaptureFixture[str]) -> None:
    stdin = json.dumps({"kind": "sql", "sql": "DROP TABLE t"}) + "\n"
    stdin += json.dumps({"kind": "sql", "sql": "DROP TABLE t", "env": "dev"}) + "\n"
    _, out = run(["check", "--batch", "--env", "production"], capsys, stdin)
    assert [json.loads(x)["decision"] for x in out.splitlines()] == ["deny", "ask"]


def test_batch_http_body_object_and_headers(capsys: pytest.CaptureFixture[str]) -> None:
    record: dict[str, Any] = {
        "kind": "http",
        "http": {"method": "get", "url": "http://127.0.0.1:3000/health", "headers": {"A": "b"}},
    }
    bad = {"kind": "http", "http": {"method": "GET", "url": "http://x", "headers": {"A": 1}}}
    _, out = run(["check", "--batch"], capsys, json.dumps(record) + "\n" + json.dumps(bad) + "\n")
    rows = [json.loads(x) for x in out.splitlines()]
    assert rows[1]["decision"] == "deny" and "headers" in rows[1]["reasons"][0]["message"]
    assert rows[0]["decision"] == "allow"


def test_audit_flag_appends_a_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from interlock.audit import tail

    code, _ = run(["check", "--audit", "--json", "--sql", "DROP TABLE users"], capsys)
    assert code == 3
    records = tail(tmp_path / "audit" / "audit.jsonl")
    assert len(records) == 1
    assert records[0]["decision"] == "ask" and records[0]["action"]["kind"] == "sql"


def test_secrets_are_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    sql = f"DELETE FROM tokens WHERE value = '{token}' OR 1=1"
    _, out = run(["check", "--no-color", "--sql", sql], capsys)
    assert token not in out
    _, out = run(["check", "--batch"], capsys, json.dumps({"kind": "sql", "sql": sql}) + "\n")
    assert token not in out


def _decision() -> Decision:
    finding = Finding(
        operation="fs.delete_recursive",
        summary="recursively deletes the home directory",
        verdict=Verdict.DENY,
        rule="fs.rm",
        targets=("/home/dev",),
        environment=None,
        reversible=False,
        evidence="RAILWAY_TOKEN=abcdef0123456789 rm -rf ~",
    )
    reason = Reason("fs.rm", "recursively deletes the home directory", Verdict.DENY)
    return Decision(Verdict.DENY, (reason,), (finding,), "sha256:00", "builtin")


def test_render_shows_rule_targets_reversibility_and_masks_evidence() -> None:
    text = render_decision(_decision(), color=False)
    assert text.splitlines()[0] == "DENY  recursively deletes the home directory"
    assert "[fs.rm]" in text and "targets: /home/dev" in text
    assert "environment: unspecified" in text and "cannot be undone" in text
    assert "abcdef0123456789" not in text and "RAILWAY_TOKEN=****" in text


def test_render_colour_is_optional() -> None:
    assert "\x1b[" in render_decision(_decision(), color=True)
    assert "\x1b[" not in render_decision(_decision(), color=False)
