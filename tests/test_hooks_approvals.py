"""Hooks meet the approval server (issue 5 items 4 and 7), end to end.

The real hook process (``python -m interlock.hooks <agent>``, in-process decisions unless a
test starts the warm daemon itself) against a real uvicorn server from tests/server/conftest.py
on 127.0.0.1. Approvers approve through the REST API, signed in with a password, as the
dashboard does. Misbehaving servers are small local HTTP servers, never patches of our code.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from interlock.hooks import client
from tests.server.conftest import (  # noqa: F401 - fixtures
    FORCE_PUSH,
    MakeServer,
    Served,
    free_port,
    make_server,
    project,
)
from tests.test_hooks_support import (  # noqa: F401 - fixture
    AGENTS,
    Result,
    Sandbox,
    box,
    claude,
    gemini,
    shell_payload,
)

REQUEST_ID = re.compile(r"req_[0-9a-f]+")
EDITED = "git push --force origin main:main"


@pytest.fixture
def served(make_server: MakeServer, box: Sandbox) -> Served:  # noqa: F811
    """The approval server, deciding for the sandbox project the hooks run in."""
    return make_server(project_dir=box.project)


def hook(box: Sandbox, agent: str, command: str, **env: str) -> Result:  # noqa: F811
    return box.run(agent, shell_payload(agent, box.project, command), **env)


def text_of(result: Result) -> str:
    """What the agent (and its model) reads: stderr, or Cursor's JSON message."""
    return result.stderr + result.stdout


def allowed(agent: str, result: Result) -> bool:
    if result.code != 0:
        return False
    if agent == "cursor":
        return bool(result.json() == {"permission": "allow"})
    return result.stdout == ""


def pending_id(agent: str, result: Result) -> str:
    """The request id of a held call, after checking it is a deny for every agent."""
    assert result.code == 2, result
    if agent == "cursor":
        assert result.json()["permission"] == "deny"
    found = REQUEST_ID.findall(text_of(result))
    assert found, result
    return found[0]


def approve(served: Served, request_id: str, *names: str) -> None:
    for name in names or ("alice",):
        answer = served.vote(served.sign_in(name), request_id)
        assert answer.status_code == 200, answer.text


def granted_record(box: Sandbox) -> dict[str, Any]:  # noqa: F811
    record = box.records()[-1]
    assert record["decision"] == "allow" and record["rule"] == "approval.granted", record
    return record


# --- filing, approving, retrying --------------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_ask_is_held_and_the_approved_retry_passes_exactly_once(
    agent: str,
    box: Sandbox,  # noqa: F811
    served: Served,
) -> None:
    first = hook(box, agent, FORCE_PUSH, INTERLOCK_SERVER=served.url)
    request_id = pending_id(agent, first)
    said = text_of(first)
    assert f"{served.url}/requests/{request_id}" in said
    assert "the same command will pass" in said and "files nothing new" in said
    assert "interlock.toml" not in said  # no advice to allow it locally, around the approvers
    assert box.records()[-1]["rule"] == "approval.pending"

    again = hook(box, agent, FORCE_PUSH, INTERLOCK_SERVER=served.url)
    assert pending_id(agent, again) == request_id
    assert len(served.service.requests()) == 1  # the retry filed nothing new

    approve(served, request_id)
    retry = hook(box, agent, FORCE_PUSH, INTERLOCK_SERVER=served.url)
    assert allowed(agent, retry), retry
    record = granted_record(box)
    assert f"approved by alice ({request_id})" in record["reasons"][0]["message"]
    assert served.service.get(request_id)["consumed"]  # type: ignore[index]

    later = hook(box, agent, FORCE_PUSH, INTERLOCK_SERVER=served.url)
    assert pending_id(agent, later) != request_id


def test_the_request_carries_the_agents_reason_and_the_login_name(
    box: Sandbox,  # noqa: F811
    served: Served,
) -> None:
    payload = claude(box.project, "Bash", {"command": FORCE_PUSH, "description": "Ship the fix"})
    request_id = pending_id(
        "claude-code", box.run("claude-code", payload, INTERLOCK_SERVER=served.url)
    )
    view = served.service.get(request_id)
    assert view is not None
    assert "Ship the fix" in json.dumps(view["card"])
    assert view["requester"]["agent"] == "claude-code"
    assert view["requester"]["user"]  # getpass.getuser() of the hook's process


def test_an_edited_command_is_a_new_request_and_the_approval_stays_for_the_original(
    box: Sandbox,  # noqa: F811
    served: Served,
) -> None:
    request_id = pending_id("codex", hook(box, "codex", FORCE_PUSH, INTERLOCK_SERVER=served.url))
    approve(served, request_id)
    edited = pending_id("codex", hook(box, "codex", EDITED, INTERLOCK_SERVER=served.url))
    assert edited != request_id
    assert allowed("codex", hook(box, "codex", FORCE_PUSH, INTERLOCK_SERVER=served.url))


def test_a_denied_request_is_a_deny_with_the_servers_reason(
    box: Sandbox,  # noqa: F811
    served: Served,
) -> None:
    request_id = pending_id("gemini", hook(box, "gemini", FORCE_PUSH, INTERLOCK_SERVER=served.url))
    answer = served.vote(served.sign_in("bob"), request_id, "deny")
    assert answer.status_code == 200
    # A person said no: the retry is denied with their answer, and nobody is paged again.
    retry = hook(box, "gemini", FORCE_PUSH, INTERLOCK_SERVER=served.url)
    assert retry.code == 2 and request_id in text_of(retry) and "Do not retry" in text_of(retry)
    assert box.records()[-1]["rule"] == "approval.denied"
    pending = served.agent().get(f"/api/v1/requests/{request_id}/status").json()
    assert pending["state"] == "denied"


def test_allow_and_deny_never_reach_the_server(box: Sandbox, served: Served) -> None:  # noqa: F811
    assert allowed("claude-code", hook(box, "claude-code", "ls -la", INTERLOCK_SERVER=served.url))
    denied = hook(box, "claude-code", "rm -rf ~", INTERLOCK_SERVER=served.url)
    assert denied.code == 2 and "home directory" in denied.stderr
    assert served.service.requests() == []


def test_the_server_can_be_named_in_interlock_toml(box: Sandbox, served: Served) -> None:  # noqa: F811
    (box.project / "interlock.toml").write_text(f'[approvals]\nserver = "{served.url}"\n')
    request_id = pending_id("cursor", hook(box, "cursor", FORCE_PUSH))
    approve(served, request_id)
    assert allowed("cursor", hook(box, "cursor", FORCE_PUSH))


# --- several actions in one call -------------------------------------------------------------


def test_every_ask_action_of_a_call_needs_its_own_approval(
    box: Sandbox,  # noqa: F811
    served: Served,
) -> None:
    keys = [str(box.home / ".ssh" / "id_rsa"), str(box.home / ".ssh" / "id_ed25519")]
    payload = gemini(box.project, "read_many_files", {"paths": keys})
    first = box.run("gemini", payload, INTERLOCK_SERVER=served.url)
    ids = REQUEST_ID.findall(first.stderr)
    assert first.code == 2 and len(set(ids)) == 2, first
    for request_id in set(ids):
        approve(served, request_id)
    assert allowed("gemini", box.run("gemini", payload, INTERLOCK_SERVER=served.url))
    assert [r["rule"] for r in box.records()[-2:]] == ["approval.granted"] * 2


def test_a_call_with_a_deny_files_nothing(box: Sandbox, served: Served) -> None:  # noqa: F811
    command = f"{FORCE_PUSH} && rm -rf ~"
    result = hook(box, "claude-code", command, INTERLOCK_SERVER=served.url)
    assert result.code == 2 and "home directory" in result.stderr
    assert served.service.requests() == []


# --- a server that cannot be asked -----------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_server_down_keeps_the_local_decision_and_never_allows(agent: str, box: Sandbox) -> None:  # noqa: F811
    down = f"http://127.0.0.1:{free_port()}"
    result = hook(box, agent, FORCE_PUSH, INTERLOCK_SERVER=down)
    local_ask(agent, result)
    assert allowed(agent, hook(box, agent, "ls", INTERLOCK_SERVER=down))
    assert box.records()[-2]["decision"] == "ask"


def test_a_password_in_the_server_url_is_never_shown(box: Sandbox) -> None:  # noqa: F811
    down = f"http://hook:s3cret-pw@127.0.0.1:{free_port()}"
    result = hook(box, "codex", FORCE_PUSH, INTERLOCK_SERVER=down)
    local_ask("codex", result)
    assert "s3cret-pw" not in result.stderr and "http://127.0.0.1:" in result.stderr
    assert "s3cret-pw" not in box.audit.read_text()


def local_ask(agent: str, result: Result) -> None:
    """The agent's own form of ``ask`` (a block for Codex and Gemini), with the server note."""
    assert "could not be reached" in text_of(result), result
    if agent == "claude-code":
        assert (
            result.code == 0 and result.json()["hookSpecificOutput"]["permissionDecision"] == "ask"
        )
    elif agent == "cursor":
        assert result.code == 0 and result.json()["permission"] == "ask"
    else:
        assert result.code == 2 and "needs a person" in result.stderr


class Misbehaving(http.server.BaseHTTPRequestHandler):
    """Answers every request with the status and body of its server's ``reply``."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.do_GET()

    def do_GET(self) -> None:
        status, body = self.server.reply  # type: ignore[attr-defined]
        if status == 0:  # no answer at all: hold the connection until the client gives up
            time.sleep(6)
            return
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def misbehaving() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


GARBAGE = {
    "html": (200, b"<html>hello</html>"),
    "error": (500, b'{"error": {"code": "boom", "message": "boom"}}'),
    "no-id": (200, b'{"state": "approved", "message": "sure"}'),
    "odd-state": (200, b'{"state": "allow", "id": "req_1"}'),
    "bad-id": (201, b'{"state": "pending", "id": "../../x"}'),
    "json-list": (200, b'["approved"]'),
    "silent": (0, b""),
}


@pytest.mark.parametrize("kind", GARBAGE)
@pytest.mark.parametrize("agent", ["claude-code", "codex"])
def test_a_server_answering_garbage_keeps_the_local_decision(
    agent: str,
    kind: str,
    box: Sandbox,  # noqa: F811
    misbehaving: http.server.ThreadingHTTPServer,
) -> None:
    misbehaving.reply = GARBAGE[kind]  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{misbehaving.server_address[1]}"
    began = time.monotonic()
    result = hook(box, agent, FORCE_PUSH, INTERLOCK_SERVER=url)
    local_ask(agent, result)
    assert time.monotonic() - began < 10  # a silent server costs one exchange timeout (3 s)


# --- the kill switch -------------------------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_kill_switch_denies_everything_for_every_agent(
    agent: str,
    box: Sandbox,  # noqa: F811
    served: Served,
) -> None:
    folder = box.project / ".interlock"
    folder.mkdir()
    (folder / "KILLED").write_text(json.dumps({"by": "alice", "reason": "incident 42"}))
    for command in ("ls", FORCE_PUSH, "rm -rf ~"):
        result = hook(box, agent, command, INTERLOCK_SERVER=served.url)
        assert result.code == 2, (command, result)
        assert "[rule killswitch]" in text_of(result) and "incident 42" in text_of(result)
    assert served.service.requests() == []  # nothing filed while killed
    assert {r["rule"] for r in box.records()} == {"killswitch"}
    (folder / "KILLED").unlink()
    assert allowed(agent, hook(box, agent, "ls"))


def test_kill_switch_denies_calls_with_nothing_to_check_and_is_read_in_three_places(
    box: Sandbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    web = claude(box.project, "WebFetch", {"url": "https://example.com"})
    assert box.run("claude-code", web).code == 0
    home_switch = tmp_path / "interlock-home"
    places = [
        (home_switch / "KILLED", {"INTERLOCK_HOME": str(home_switch)}),
        (box.project / ".interlock" / "KILLED", {}),
        (box.home / ".interlock" / "KILLED", {}),
    ]
    for path, env in places:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not json")  # malformed still counts as on
        result = box.run("claude-code", web, **env)
        assert result.code == 2 and "kill switch" in result.stderr, path
        path.unlink()
        assert box.run("claude-code", web, **env).code == 0


# --- waiting for a person in the same call ---------------------------------------------------


def write_policy(box: Sandbox, served: Served, wait: float) -> None:  # noqa: F811
    (box.project / "interlock.toml").write_text(
        f'[approvals]\nserver = "{served.url}"\nwait = {wait}\n'
    )


def start_hook(box: Sandbox, agent: str, command: str, **env: str) -> subprocess.Popen[bytes]:  # noqa: F811
    """The hook process, started in the background; its payload comes from a file."""
    payload = box.audit.parent / f"payload-{agent}.json"
    payload.parent.mkdir(parents=True, exist_ok=True)
    payload.write_text(json.dumps(shell_payload(agent, box.project, command)))
    with payload.open("rb") as stdin:
        return subprocess.Popen(
            [sys.executable, "-m", "interlock.hooks", agent],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=box.project,
            env=box.env(**env),
        )


def finish(proc: subprocess.Popen[bytes]) -> Result:
    out, err = proc.communicate(timeout=60)
    return Result(proc.returncode, out.decode(), err.decode())


def first_pending(served: Served, timeout: float = 10) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = served.service.requests(state="pending")
        if found:
            return str(found[0]["id"])
        time.sleep(0.05)
    raise AssertionError("the hook filed no request")


@pytest.mark.parametrize("agent", AGENTS)
def test_long_poll_an_approval_given_while_the_hook_waits_passes_in_the_same_call(
    agent: str,
    box: Sandbox,  # noqa: F811
    served: Served,
) -> None:
    write_policy(box, served, wait=15)
    began = time.monotonic()
    proc = start_hook(box, agent, FORCE_PUSH)
    request_id = first_pending(served)
    approve(served, request_id)
    result = finish(proc)
    assert allowed(agent, result), result
    assert time.monotonic() - began < 15
    assert served.service.get(request_id)["consumed"]  # type: ignore[index]
    assert granted_record(box)["reasons"][0]["message"].endswith(f"({request_id})")


def test_long_poll_a_deny_given_while_the_hook_waits_ends_the_wait(
    box: Sandbox,  # noqa: F811
    served: Served,
) -> None:
    write_policy(box, served, wait=15)
    proc = start_hook(box, "claude-code", FORCE_PUSH)
    request_id = first_pending(served)
    assert served.vote(served.sign_in("bob"), request_id, "deny").status_code == 200
    result = finish(proc)
    assert result.code == 2 and f"approval request {request_id} was denied" in result.stderr
    assert box.records()[-1]["rule"] == "approval.denied"


def test_the_poll_never_outlives_the_hooks_deadline(box: Sandbox, served: Served) -> None:  # noqa: F811
    write_policy(box, served, wait=25)
    began = time.monotonic()
    result = hook(box, "gemini", FORCE_PUSH, INTERLOCK_HOOK_DEADLINE="3")
    took = time.monotonic() - began
    pending_id("gemini", result)
    assert "approval.pending" in result.stderr  # answered by the poll, not cut by the alarm
    assert 1.0 < took < 3.0 + 1.0, took  # waited, and ended inside the deadline (+ start-up)


# --- the warm daemon gives the same answers ---------------------------------------------------


@pytest.fixture
def daemon(box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:  # noqa: F811
    """A daemon this test starts (and stops by its pid); the test process is its caller."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    for key, value in box.env(INTERLOCK_RUNTIME_DIR=str(runtime), INTERLOCK_DAEMON="1").items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(box.project)
    path = client.socket_path()
    proc = subprocess.Popen([sys.executable, "-m", "interlock.hooks.daemon", path], env=os.environ)
    try:
        for _ in range(300):
            if os.path.exists(path) and can_connect(path):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the daemon never came up")
        yield box.project
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def can_connect(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def via_daemon(box: Sandbox, command: str) -> tuple[int, bytes, bytes] | str | None:  # noqa: F811
    return client.ask(
        "claude-code", json.dumps(shell_payload("claude-code", box.project, command)).encode()
    )


def test_the_daemon_reads_the_kill_switch_on_every_call(box: Sandbox, daemon: Path) -> None:  # noqa: F811
    assert via_daemon(box, "ls") == (0, b"", b"")
    switch = box.project / ".interlock" / "KILLED"
    switch.parent.mkdir()
    switch.write_text(json.dumps({"by": "alice"}))
    answer = via_daemon(box, "ls")
    assert isinstance(answer, tuple) and answer[0] == 2 and b"[rule killswitch]" in answer[2]
    switch.unlink()
    assert via_daemon(box, "ls") == (0, b"", b"")


def test_the_daemon_files_but_hands_back_calls_that_may_wait(
    box: Sandbox,  # noqa: F811
    served: Served,
    daemon: Path,
) -> None:
    (box.project / "interlock.toml").write_text(f'[approvals]\nserver = "{served.url}"\n')
    answer = via_daemon(box, FORCE_PUSH)
    assert isinstance(answer, tuple) and answer[0] == 2
    assert REQUEST_ID.search(answer[2].decode())
    write_policy(box, served, wait=5)
    assert via_daemon(box, FORCE_PUSH) == "local"  # decided in the hook's own process
    assert via_daemon(box, "ls") == (0, b"", b"")  # and the daemon still answers the rest


# --- the hot path stays lean ------------------------------------------------------------------


def test_the_http_client_is_imported_only_to_talk_to_the_server(
    box: Sandbox,  # noqa: F811
    served: Served,
) -> None:
    probe = (
        "import io, json, sys\n"
        "from interlock.hooks.runner import run\n"
        "run('claude-code', io.BytesIO(sys.stdin.buffer.read()))\n"
        "print(json.dumps(sorted(m for m in ('http.client', 'interlock.hooks.approvals', "
        "'getpass') if m in sys.modules)))\n"
    )

    def loaded(command: str, **env: str) -> list[str]:
        payload = json.dumps(shell_payload("claude-code", box.project, command))
        done = subprocess.run(
            [sys.executable, "-c", probe],
            input=payload.encode(),
            capture_output=True,
            cwd=box.project,
            env=box.env(**env),
            timeout=60,
            check=True,
        )
        found: list[str] = json.loads(done.stdout)
        return found

    assert loaded(FORCE_PUSH) == []  # an ask without a server
    assert loaded("ls", INTERLOCK_SERVER=served.url) == []  # an allow with one
    assert loaded(FORCE_PUSH, INTERLOCK_SERVER=served.url) == [
        "getpass",
        "http.client",
        "interlock.hooks.approvals",
    ]


def test_a_module_imported_by_a_call_does_not_make_the_daemon_stale() -> None:
    """The first `git push` imports runner_git lazily; the next call must not restart the daemon."""
    from interlock.hooks.daemon import _package_root, changed

    catalogs = os.path.join(_package_root(), "analyzers", "catalogs")
    known = {"/pkg/a.py": (1, 10)}
    assert not changed(known, {"/pkg/a.py": (1, 10), "/pkg/late.py": (5, 3)})
    assert changed(known, {"/pkg/a.py": (1, 10), "/pkg/late.py": (6, 3)})  # now watched
    assert changed(known, {"/pkg/late.py": (5, 3)})  # a watched file went
    new_catalog = {**known, os.path.join(catalogs, "providers", "new.toml"): (1, 1)}
    assert changed(dict(known), new_catalog)
