"""interlock.audit: the hash chain on real files, tampering cases, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import re
from pathlib import Path
from typing import Any

import pytest

from interlock.actions import (
    Actor,
    HttpAction,
    ShellAction,
    SqlAction,
    TerraformPlanAction,
    ToolCallAction,
)
from interlock.audit import (
    GENESIS,
    SCHEMA,
    AuditLog,
    VerifyReport,
    action_text,
    default_log_path,
    record_decision,
    record_hash,
    tail,
    verify,
)
from interlock.decisions import Decision, Finding, Reason, Verdict
from interlock.errors import AuditError, AuditTamperError

RAILWAY = "3f9a1c2e-77aa-4d1e-9b0c-1e2f3a4b5c6d"


def fill(path: Path, n: int) -> AuditLog:
    log = AuditLog(path)
    for i in range(n):
        log.append({"action": {"kind": "shell", "text": f"echo {i}"}, "decision": "allow"})
    return log


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def kinds(report: VerifyReport) -> set[str]:
    return {p.kind for p in report.problems}


def test_append_fills_schema_id_time_prev_and_hash(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "deep" / "audit.jsonl")
    first = log.append({"decision": "allow"})
    second = log.append({"decision": "deny", "id": "abc"})
    assert first["schema"] == SCHEMA and first["seq"] == 1 and first["prev"] == GENESIS
    assert re.fullmatch(r"[0-9a-f]{32}", first["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    assert first["hash"] == record_hash(first)
    assert second["prev"] == first["hash"] and second["id"] == "abc"
    on_disk = [json.loads(line) for line in lines(log.path)]
    assert on_disk == [first, second]
    assert json.loads(log.head_path.read_text()) == {"count": 2, "hash": second["hash"]}
    assert (log.path.stat().st_mode & 0o777) == 0o600
    assert (log.path.parent.stat().st_mode & 0o777) == 0o700


def test_hash_is_sha256_of_canonical_json_without_hash(tmp_path: Path) -> None:
    import hashlib

    record = fill(tmp_path / "a.jsonl", 1).append({"text": "é"})
    body = {k: v for k, v in record.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert record["hash"] == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_reserved_fields_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="prev"):
        AuditLog(tmp_path / "a.jsonl").append({"prev": "x"})


def test_verify_intact_log(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 5)
    report = verify(log.path)
    assert report.ok and report.records == 5 and report.problems == ()
    report.raise_if_tampered()


def test_verify_missing_log_is_empty_not_an_error(tmp_path: Path) -> None:
    report = verify(tmp_path / "none.jsonl")
    assert report.ok and report.records == 0 and report.notes


def test_edited_field_is_named_with_line_and_id(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 4)
    text = lines(log.path)
    record = json.loads(text[1])
    record["decision"] = "deny"
    text[1] = json.dumps(record) + "\n"
    log.path.write_text("".join(text))
    report = verify(log.path)
    assert [(p.kind, p.line, p.record_id) for p in report.problems] == [("edited", 2, record["id"])]
    with pytest.raises(AuditTamperError, match="line 2"):
        report.raise_if_tampered()


def test_deleted_middle_record(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 5)
    text = lines(log.path)
    after = json.loads(text[3])
    del text[2]
    log.path.write_text("".join(text))
    report = verify(log.path)
    deleted = [p for p in report.problems if p.kind == "deleted" and p.line == 3]
    assert deleted and deleted[0].record_id == after["id"]
    assert "seq jumps from 2 to 4" in deleted[0].message
    assert "edited" not in kinds(report)


def test_swapped_records_are_reported_as_reordered(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 5)
    text = lines(log.path)
    text[1], text[2] = text[2], text[1]
    log.path.write_text("".join(text))
    report = verify(log.path)
    assert kinds(report) == {"reordered"}
    assert 2 in {p.line for p in report.problems}
    assert "line 3" in str(report.problems[0])


def test_duplicated_record(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 3)
    text = lines(log.path)
    text.insert(2, text[1])
    log.path.write_text("".join(text))
    problems = verify(log.path).problems
    assert {(p.kind, p.line) for p in problems} >= {("reordered", 3), ("duplicate", 3)}


def test_records_deleted_from_the_start(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 3)
    log.path.write_text("".join(lines(log.path)[1:]))
    problems = verify(log.path).problems
    assert (problems[0].kind, problems[0].line) == ("deleted", 1)
    assert "seq jumps from 0 to 2" in problems[0].message


def test_truncated_tail_is_caught_by_the_head_file(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 5)
    log.path.write_text("".join(lines(log.path)[:3]))
    report = verify(log.path)
    assert kinds(report) == {"truncated"}
    assert "5" in report.problems[0].message and "3 records" in report.problems[0].message
    # And the log refuses to paper over it with new records.
    with pytest.raises(AuditTamperError, match="truncated or rewritten"):
        log.append({"decision": "allow"})


def test_deleted_head_file_is_reported(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 2)
    log.head_path.unlink()
    assert kinds(verify(log.path)) == {"head"}
    with pytest.raises(AuditTamperError, match="head file"):
        log.append({"decision": "allow"})


def test_deleted_log_with_head_left_is_truncated(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 2)
    log.path.unlink()
    assert kinds(verify(log.path)) == {"truncated"}


def test_garbage_line_is_named(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 3)
    text = lines(log.path)
    text.insert(2, "not json at all\n")
    log.path.write_text("".join(text))
    report = verify(log.path)
    assert [(p.kind, p.line) for p in report.problems] == [("unparseable", 3)]


def test_garbage_replacing_a_record_is_unparseable_and_deleted(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 3)
    text = lines(log.path)
    text[1] = '{"half": \n'
    log.path.write_text("".join(text))
    assert kinds(verify(log.path)) == {"unparseable", "deleted", "head"}


def test_incomplete_last_line_blocks_appends(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 2)
    with log.path.open("a") as f:
        f.write('{"schema": "interlock.au')
    assert kinds(verify(log.path)) >= {"unparseable"}
    with pytest.raises(AuditTamperError, match="incomplete line"):
        log.append({"decision": "allow"})


def test_head_one_behind_after_a_crash_is_a_note_and_append_repairs_it(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 3)
    second = json.loads(lines(log.path)[1])
    log.head_path.write_text(json.dumps({"count": 2, "hash": second["hash"]}))
    report = verify(log.path)
    assert report.ok and report.notes
    log.append({"decision": "allow"})
    assert verify(log.path).ok and json.loads(log.head_path.read_text())["count"] == 4


def test_rehashed_edit_still_breaks_the_next_link(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 3)
    text = lines(log.path)
    record = json.loads(text[1])
    record["decision"] = "deny"
    record["hash"] = record_hash(record)
    text[1] = json.dumps(record) + "\n"
    log.path.write_text("".join(text))
    assert [(p.kind, p.line) for p in verify(log.path).problems] == [("deleted", 3)]


def test_tail_reads_the_last_records_from_the_end(tmp_path: Path) -> None:
    log = fill(tmp_path / "a.jsonl", 30)
    last = tail(log.path, 3)
    assert [r["action"]["text"] for r in last] == ["echo 27", "echo 28", "echo 29"]
    assert tail(log.path, 0) == [] and tail(tmp_path / "missing", 5) == []
    assert len(tail(log.path, 100)) == 30


def test_tail_across_chunk_boundaries(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    for i in range(5):
        log.append({"action": {"text": f"{i} " + "x" * 9000}})
    assert [r["action"]["text"][0] for r in tail(log.path, 4)] == ["1", "2", "3", "4"]


def test_default_log_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTERLOCK_AUDIT_LOG", raising=False)
    assert default_log_path(str(tmp_path)) == tmp_path / ".interlock" / "audit.jsonl"
    monkeypatch.setenv("INTERLOCK_AUDIT_LOG", str(tmp_path / "elsewhere.jsonl"))
    assert default_log_path("/ignored") == tmp_path / "elsewhere.jsonl"


def _writer(path: str, worker: int, count: int) -> None:
    log = AuditLog(path)
    for i in range(count):
        log.append({"actor": {"agent": f"w{worker}"}, "action": {"text": f"{worker}:{i}"}})


def test_concurrent_appends_from_processes_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    workers, count = 6, 60
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    report = verify(path)
    assert report.ok, [str(p) for p in report.problems]
    assert report.records == workers * count
    texts = {json.loads(line)["action"]["text"] for line in lines(path)}
    assert texts == {f"{w}:{i}" for w in range(workers) for i in range(count)}
    assert [json.loads(line)["seq"] for line in lines(path)] == list(range(1, workers * count + 1))


def _decision(evidence: str) -> Decision:
    finding = Finding(
        operation="cloud.volume.delete",
        summary="deletes volume vol-7 in production; its backups go with it",
        verdict=Verdict.DENY,
        rule="railway.volume_delete",
        targets=("vol-7",),
        environment="production",
        reversible=False,
        evidence=evidence,
    )
    reason = Reason("railway.volume_delete", finding.summary, Verdict.DENY)
    return Decision(Verdict.DENY, (reason,), (finding,), "sha256:x", "sha256:rev1")


def test_record_decision_masks_secrets_and_keeps_the_shape(tmp_path: Path) -> None:
    command = (
        f'curl -H "Authorization: Bearer {RAILWAY}" -d \'{{"query":"mutation '
        '{ volumeDelete(volumeId: \\"vol-7\\") }"}\' https://backboard.railway.app/graphql/v2'
    )
    action = ShellAction(
        command=f"RAILWAY_TOKEN={RAILWAY} {command}",
        cwd="/srv/app",
        env="production",
        actor=Actor(agent="claude-code", session="s-1"),
    )
    log = AuditLog(tmp_path / "a.jsonl")
    record = record_decision(log, action, _decision(command))
    assert record["actor"] == {"agent": "claude-code", "session": "s-1"}
    assert record["action"]["kind"] == "shell" and record["action"]["digest"] == action.digest()
    assert record["action"]["text"].startswith("RAILWAY_TOKEN=**** curl -H")
    assert record["decision"] == "deny" and record["rule"] == "railway.volume_delete"
    assert record["policy_revision"] == "sha256:rev1"
    assert record["findings"][0]["operation"] == "cloud.volume.delete"
    assert "Bearer ****" in record["findings"][0]["evidence"]
    assert RAILWAY not in log.path.read_text()
    assert verify(log.path).ok


def test_secrets_never_reach_the_file_from_any_action_kind(tmp_path: Path) -> None:
    secret = "hunter2-S3cr3t"
    actions: list[Any] = [
        SqlAction(sql=f"ALTER USER app WITH PASSWORD '{secret}'"),
        HttpAction(
            method="post",
            url=f"https://bob:{secret}@api.example.com/x?api_key={secret}",
            headers={"Authorization": f"Bearer {secret}"},
        ),
        ToolCallAction(tool="mcp__db", operation="call", arguments={"password": secret}),
        ToolCallAction(tool="Write", operation="write", path=f"/tmp/x?token={secret}"),
    ]
    log = AuditLog(tmp_path / "a.jsonl")
    for action in actions:
        record_decision(log, action, _decision(f"--password={secret}"))
    assert secret not in log.path.read_text()
    assert verify(log.path).records == 4


def test_action_text_per_kind() -> None:
    assert action_text(HttpAction(method="delete", url="https://x/v1")) == "DELETE https://x/v1"
    assert action_text(ToolCallAction(tool="Read", operation="read", path="/a")) == "Read read /a"
    plan = {
        "resource_changes": [
            {"address": "aws_db_instance.main", "change": {"actions": ["delete"]}},
            {"address": "aws_s3_bucket.b", "change": {"actions": ["no-op"]}},
        ]
    }
    assert (
        action_text(TerraformPlanAction(plan=plan)) == "terraform plan: delete aws_db_instance.main"
    )


def test_group_commit_keeps_one_intact_chain_under_concurrent_appends(tmp_path: Path) -> None:
    import threading

    from interlock.audit import GroupCommitLog

    log = GroupCommitLog(tmp_path / "audit.jsonl")
    results: list[list[dict[str, Any]]] = []

    def writer(n: int) -> None:
        for i in range(25):
            results.append(log.append_many([{"event": f"w{n}-{i}-a"}, {"event": f"w{n}-{i}-b"}]))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verify(tmp_path / "audit.jsonl").ok
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 8 * 25 * 2
    # each caller got back exactly its own records, in order and adjacent in the chain
    for pair in results:
        assert [r["event"][-1] for r in pair] == ["a", "b"]
        assert pair[1]["seq"] == pair[0]["seq"] + 1
        assert pair[0]["event"][:-1] == pair[1]["event"][:-1]


def test_group_commit_gives_every_waiter_the_error(tmp_path: Path) -> None:
    from interlock.audit import GroupCommitLog

    log = GroupCommitLog(tmp_path / "audit.jsonl")
    log.append({"event": "first"})
    (tmp_path / "audit.jsonl.head").write_text('{"count": 7, "hash": "x"}\n')
    with pytest.raises(AuditError):
        log.append({"event": "second"})
