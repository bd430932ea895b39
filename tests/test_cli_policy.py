"""`interlock policy explain` and `policy show`: the config in force, each engine step per
finding (built-in verdict, production escalation, matching user rules, the winner) and the
effective policy (cli/policy.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interlock.cli import main

TOML = """
[environments]
production = ["production", "live"]

[[rules]]
id = "allow-drops-in-dev"
operation = "db.drop_*"
environment = "development"
decision = "allow"
reason = "throwaway dev database"

[[rules]]
id = "deny-drops-everywhere"
operation = "db.drop_table"
decision = "deny"
reason = "tables are dropped by migrations only"

[[rules]]
id = "ask-truncate"
operation = "db.truncate*"
decision = "ask"
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("INTERLOCK_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "interlock.toml").write_text(TOML)
    return root


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_explain_without_config_names_embedded_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(["policy", "explain", "--no-color", "--cwd", str(tmp_path), "--sql",
                     "DROP TABLE users", "--env", "production"], capsys)  # fmt: skip
    assert code == 0
    assert "embedded defaults" in out and "revision: builtin" in out
    assert "finding 1: db.drop_table" in out
    assert "built-in verdict: ask" in out
    assert "production escalation: applied" in out
    assert "user rules: none matched" in out
    assert "decided by: default.protect-production -> DENY" in out
    assert out.rstrip().endswith("decision: DENY (rule default.protect-production)")


def test_explain_lists_every_matching_rule_and_the_winner(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(["policy", "explain", "--no-color", "--cwd", str(project), "--sql",
                     "DROP TABLE users"], capsys)  # fmt: skip
    assert code == 0
    assert f"policy: {project / 'interlock.toml'}" in out
    assert "revision: sha256:" in out
    assert "production escalation: not applied (development is not production)" in out
    assert "user rule allow-drops-in-dev: allow\n" in out
    assert "user rule deny-drops-everywhere: deny  <- wins" in out
    assert "decided by: deny-drops-everywhere -> DENY" in out


def test_explain_json_matches_the_decision(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(["policy", "explain", "--json", "--cwd", str(project), "--sql",
                     "DROP TABLE users"], capsys)  # fmt: skip
    data = json.loads(out)
    assert code == 0
    assert data["policy"]["source"] == str(project / "interlock.toml")
    step = data["steps"][0]
    assert [r["id"] for r in step["matched_rules"]] == [
        "allow-drops-in-dev",
        "deny-drops-everywhere",
    ]
    assert step["winning_rule"] == "deny-drops-everywhere"
    assert step["decided_by"] == data["rule"] == "deny-drops-everywhere"
    assert step["verdict"] == data["decision"] == "deny"
    assert step["production_escalation"] is False


def test_explain_with_no_findings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["policy", "explain", "--no-color", "--cwd", str(project), "--sql",
                     "SELECT 1"], capsys)  # fmt: skip
    assert code == 0
    assert "no findings" in out and "decision: ALLOW (rule default.allow)" in out


def test_explain_shell_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["policy", "explain", "--no-color", "--cwd", str(project), "--",
                     "rm -rf ~"], capsys)  # fmt: skip
    assert code == 0
    assert "action: shell: rm -rf ~" in out
    assert "decision: DENY" in out


def test_explain_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["policy", "explain"], capsys)
    assert code == 1 and "give exactly one action" in out


def test_broken_config_is_an_error_not_a_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "interlock.toml").write_text("[[rules]]\nid = 'x'\n")
    code, out = run(["policy", "show", "--cwd", str(tmp_path)], capsys)
    assert code == 1 and "needs a decision" in out


def test_show_prints_the_effective_policy(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(["policy", "show", "--cwd", str(project)], capsys)
    assert code == 0
    assert "production names: production, live" in out
    assert "allow-drops-in-dev: allow when operation=db.drop_* environment=development" in out
    assert "(throwaway dev database)" in out
    assert "protect production" in out
    code, out = run(["policy", "show", "--json", "--cwd", str(project)], capsys)
    data = json.loads(out)
    assert [r["id"] for r in data["rules"]] == [
        "allow-drops-in-dev",
        "deny-drops-everywhere",
        "ask-truncate",
    ]
    assert data["production"] == ["production", "live"]


def test_show_without_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["policy", "show", "--cwd", str(tmp_path)], capsys)
    assert code == 0
    assert "embedded defaults" in out and "rules: none" in out
