"""The approval flow inside the real agent CLIs (issue 5 item 8, last sentence).

A scripted model deletes a project folder. The hook files the ask with a real ``interlock
serve`` and blocks the call, naming the request; an approver approves it through the API the
dashboard uses; the model retries the same command, which now runs, once. The model then
rebuilds the folder and tries the same command a third time: that is a new request, held
again, and the rebuilt folder survives. Everything runs in the session's private network
namespace (approval_session.py starts the server and the approver there).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from interlock.config import load_policy
from interlock.server import db
from interlock.server.approvals import ApprovalService
from tests.e2e.clients import HERE, Client, Sandbox, Session, ToolResult, run
from tests.e2e.conftest import agent_params, installed

REQUEST_ID = re.compile(r"\breq_[0-9a-f]{16}\b")
INTERLOCK = str(Path(sys.executable).parent / "interlock")


def results_for(session: Session, command: str) -> list[ToolResult]:
    return [
        r
        for r in session.results
        if command in (r.arguments.get("command"), r.arguments.get("cmd"))
    ]


def request_id(result: ToolResult) -> str:
    found = REQUEST_ID.search(result.text)
    assert found, f"the model was not told the request id: {result}"
    return found.group(0)


@pytest.mark.parametrize(("client", "mode"), agent_params(all_modes=False))
def test_a_held_call_approved_by_a_person_runs_once_and_only_once(
    client: Client, mode: str, box: Sandbox, request: pytest.FixtureRequest
) -> None:
    exe = installed(client, box)
    victim = box.victim()
    (victim / "data" / "original.txt").write_text("from before\n", "utf-8")
    delete = f"{client.rm} {victim}"
    rebuild = f"mkdir -p {victim}/data && echo again > {victim}/data/notes.txt"
    data_dir, out = box.root / "approvals", box.root / "approver.json"
    session = run(
        client,
        box,
        exe,
        [
            [client.shell(delete)],
            [client.shell(delete)],
            [client.shell(rebuild)],
            [client.shell(delete)],
        ],
        mode,
        label=request.node.name,
        runner=HERE / "approval_session.py",
        spec_extra={
            "approval": {
                "interlock": INTERLOCK,
                "data_dir": str(data_dir),
                "approve": 1,
                "gate_after_calls": 1,
                "out": str(out),
            }
        },
    )
    assert not session.timed_out, session.describe()
    approver = json.loads(out.read_text("utf-8"))
    assert approver["error"] == "", approver
    first, retry, third = results_for(session, delete)
    held = request_id(first)
    assert "Interlock" in first.text and "approv" in first.text, first

    # the person approved what the model asked for, on the card showing the exact command
    assert approver["approved"] == [
        {"id": held, "card_text": delete, "status": 200, "state": "approved"}
    ], approver

    # the retry ran: the folder went (the rebuilt one lacks the original file) ...
    assert "Interlock" not in retry.text, retry
    assert not (victim / "data" / "original.txt").exists(), session.describe()
    # ... exactly once: the third attempt is a new request, held, and the rebuilt folder stays
    assert request_id(third) != held, third
    assert (victim / "data" / "notes.txt").read_text("utf-8") == "again\n", session.describe()

    service = ApprovalService(db.connect(db.sqlite_url(data_dir)), load_policy(None))
    requests = {r["id"]: r for r in service.requests()}
    assert set(requests) == {held, request_id(third)}
    assert requests[held]["state"] == "approved" and requests[held]["consumed"] is True
    assert requests[held]["approved_by"] == ["alice"]
    assert requests[request_id(third)]["state"] == "pending"

    rules = [r["rule"] for r in box.audit() if r["action"].get("text") == delete]
    assert rules == ["approval.pending", "approval.granted", "approval.pending"], box.audit()
