"""`interlock audit tail` and `interlock audit verify`, through the real lazy CLI group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from interlock.audit import AuditLog
from interlock.cli import cli, main

TOKEN = "3f9a1c2e-77aa-4d1e-9b0c-1e2f3a4b5c6d"


def fill(path: Path) -> AuditLog:
    log = AuditLog(path)
    log.append(
        {
            "actor": {"agent": "claude-code", "session": "s1"},
            "action": {"kind": "shell", "env": "production", "text": "railway volume delete vol-7"},
            "decision": "deny",
            "rule": "railway.volume_delete",
        }
    )
    log.append({"actor": {"agent": "cursor"}, "action": {"text": "ls"}, "decision": "allow"})
    return log


def test_tail_prints_one_readable_line_per_record(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl")
    result = CliRunner().invoke(cli, ["audit", "tail", "--log", str(log.path)])
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert len(out) == 2
    assert "DENY" in out[0] and "claude-code" in out[0] and "[production]" in out[0]
    assert "railway volume delete vol-7" in out[0] and "(railway.volume_delete)" in out[0]
    assert "ALLOW" in out[1] and "cursor" in out[1]
    assert "\x1b[" not in result.output  # no colour when not a terminal


def test_tail_colours_the_decision_when_asked(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl")
    result = CliRunner().invoke(cli, ["audit", "tail", "--color", "--log", str(log.path)])
    assert "\x1b[31m" in result.output  # deny in red


def test_tail_n_and_json(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl")
    result = CliRunner().invoke(cli, ["audit", "tail", "-n", "1", "--json", "--log", str(log.path)])
    assert result.exit_code == 0
    (line,) = result.output.splitlines()
    assert json.loads(line)["action"]["text"] == "ls"


def test_tail_masks_what_a_foreign_writer_left_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        json.dumps({"action": {"text": f"RAILWAY_TOKEN={TOKEN} railway up"}, "decision": "ask"})
        + "\n"
    )
    for args in ([], ["--json"]):
        result = CliRunner().invoke(cli, ["audit", "tail", "--log", str(path), *args])
        assert TOKEN not in result.output and "RAILWAY_TOKEN=****" in result.output


def test_tail_of_a_missing_log_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "tail", "--log", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 0 and "no audit log" in result.output


def test_verify_intact_exits_0_with_a_count(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl")
    result = CliRunner().invoke(cli, ["audit", "verify", "--log", str(log.path)])
    assert result.exit_code == 0
    assert "ok: 2 records" in result.output


def test_verify_tampered_exits_1_naming_each_problem(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl")
    lines = log.path.read_text().splitlines(keepends=True)
    first = json.loads(lines[0])
    first["decision"] = "allow"
    log.path.write_text(json.dumps(first) + "\n" + lines[1] + "garbage\n")
    result = CliRunner().invoke(cli, ["audit", "verify", "--log", str(log.path)])
    assert result.exit_code == 1
    assert "TAMPERED" in result.output
    assert f"line 1 (record {first['id']}): edited" in result.output
    assert "line 3: unparseable" in result.output


def test_verify_json_report(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl")
    log.path.write_text(log.path.read_text().splitlines(keepends=True)[0])
    result = CliRunner().invoke(cli, ["audit", "verify", "--json", "--log", str(log.path)])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["records"] == 1
    assert [p["kind"] for p in report["problems"]] == ["truncated"]


def test_main_returns_the_exit_status(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl")
    assert main(["audit", "verify", "--log", str(log.path)]) == 0
    log.head_path.unlink()
    assert main(["audit", "verify", "--log", str(log.path)]) == 1


def test_default_log_is_the_projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTERLOCK_AUDIT_LOG", raising=False)
    monkeypatch.delenv("INTERLOCK_CONFIG", raising=False)
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    fill(tmp_path / ".interlock" / "audit.jsonl")
    monkeypatch.chdir(tmp_path / "sub")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and str(tmp_path / ".interlock" / "audit.jsonl") in result.output


def test_follow_prints_records_as_they_are_appended(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl")
    entry = "from interlock.cli import run; run()"
    command = [sys.executable, "-c", entry, "audit", "tail", "-n", "1", "--follow"]
    proc = subprocess.Popen(
        [*command, "--log", str(log.path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    watchdog = threading.Timer(20, proc.kill)  # a hung follow must fail the test, not hang it
    watchdog.start()
    try:
        assert proc.stdout is not None
        assert "ls" in proc.stdout.readline()
        time.sleep(0.3)
        log.append({"action": {"text": "terraform destroy"}, "decision": "ask"})
        line = proc.stdout.readline()
        assert "ASK" in line and "terraform destroy" in line
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(10)
