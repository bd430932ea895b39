"""What goes upstream and what comes back: the credential added, the agent's token not; replies
streamed as they are."""

from __future__ import annotations

import time
from collections.abc import Iterator

from tests.gateway.conftest import Setup
from tests.gateway.fakes import STREAM_CHUNKS, STREAM_GAP


def test_the_credential_goes_upstream_and_the_agents_token_does_not(gateway: Setup) -> None:
    token = gateway.issue("staging")
    agent = gateway.agent(token)
    answer = agent.post(
        "/gateway/api/echo/items?limit=5",
        content=b'{"name": "widget"}',
        headers={
            "Content-Type": "application/json",
            "X-Custom": "kept",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "dropped because Connection names it",
            "Keep-Alive": "timeout=5",
            "Cookie": "interlock_session=an-approvers-session",
            "X-Interlock-Token": token,
        },
    )
    assert answer.status_code == 201, answer.text
    (seen,) = gateway.upstream.requests
    assert seen["method"] == "POST"
    assert seen["path"] == "/echo/items" and seen["query"] == "limit=5"
    assert seen["body"] == '{"name": "widget"}'
    headers = seen["headers"]
    assert headers["authorization"] == f"Bearer {gateway.api_secret}"
    assert headers["x-custom"] == "kept"
    assert headers["content-type"] == "application/json"
    assert headers["accept-encoding"] == "identity"
    for gone in ("x-interlock-token", "x-hop", "keep-alive", "cookie"):
        assert gone not in headers, gone
    assert token not in str(headers)
    # The echo names the credential; the agent's copy has it struck out.
    assert gateway.api_secret not in answer.text
    assert "*" * len(gateway.api_secret) in answer.text


def test_an_upstream_that_reflects_the_credential_does_not_leak_it(gateway: Setup) -> None:
    answer = gateway.agent(gateway.issue("staging")).get("/gateway/api/reflect")
    assert answer.status_code == 200
    assert gateway.api_secret not in answer.text
    assert gateway.api_secret not in answer.headers["x-echo"]
    assert answer.headers["x-echo"] == "Bearer " + "*" * len(gateway.api_secret)
    assert int(answer.headers["content-length"]) == len(answer.content)


def test_a_streaming_reply_is_passed_through_as_it_comes(gateway: Setup) -> None:
    agent = gateway.agent(gateway.issue("staging"))
    arrived: list[tuple[float, bytes]] = []
    with agent.stream("GET", "/gateway/api/stream") as reply:
        assert reply.status_code == 206
        assert reply.headers["content-type"].startswith("text/event-stream")
        assert reply.headers["x-upstream"] == "kept"
        assert reply.headers["cache-control"] == "no-store"
        for chunk in reply.iter_raw():
            arrived.append((time.monotonic(), chunk))
    assert b"".join(c for _, c in arrived) == b"".join(STREAM_CHUNKS)
    produced = gateway.upstream.chunks
    assert len(produced) == len(STREAM_CHUNKS)
    # The first event reached the agent before the upstream had produced the last one: the
    # reply was relayed, not collected first.
    first_seen = arrived[0][0]
    last_made = produced[-1][0]
    assert first_seen < last_made - 2 * STREAM_GAP, (first_seen, last_made)


def test_a_path_cannot_climb_out_of_the_upstream(gateway: Setup) -> None:
    agent = gateway.agent(gateway.issue("staging"))
    for path in ("/gateway/api/echo/%2e%2e/admin", "/gateway/api/echo/%2E%2E"):
        answer = agent.get(path)
        assert answer.status_code == 400, (path, answer.text)
    assert gateway.upstream.requests == []


def test_a_compressed_or_binary_body_is_refused(gateway: Setup) -> None:
    agent = gateway.agent(gateway.issue("staging"))
    zipped = agent.post(
        "/gateway/api/echo", content=b"\x1f\x8b", headers={"Content-Encoding": "gzip"}
    )
    assert zipped.status_code == 415, zipped.text
    binary = agent.post("/gateway/api/echo", content=b"\xff\xfe\x00")
    assert binary.status_code == 415, binary.text
    assert gateway.upstream.requests == []


def test_an_upstream_that_does_not_answer_is_a_502(gateway: Setup) -> None:
    from tests.gateway.fakes import Running, UpstreamRecord, upstream_app

    # A port that was listening a moment ago and is closed now.
    running = Running(upstream_app(UpstreamRecord()))
    running.stop()
    gateway_ = gateway.served
    from interlock.gateway.http import gateway_of
    from interlock.gateway.settings import Upstream

    live = gateway_of(gateway_.state)
    live.settings.upstreams["gone"] = Upstream("gone", running.url, "generic")
    token = gateway.issue("staging", upstreams=("gone",))
    answer = gateway.agent(token).get("/gateway/gone/anything")
    assert answer.status_code == 502, answer.text
    assert answer.json()["error"]["code"] == "upstream_unreachable"


def test_a_body_over_the_limit_is_refused(gateway: Setup) -> None:
    agent = gateway.agent(gateway.issue("staging"))

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is met while it arrives
        for _ in range(12):
            yield b"x" * 100_000

    answer = agent.post("/gateway/api/echo", content=chunks())
    assert answer.status_code == 413, answer.text
    assert gateway.upstream.requests == []
    log = gateway.served.data_dir / "audit.jsonl"
    deadline = time.monotonic() + 10  # written after the answer, by the batch writer
    while '"outcome":"error 413: HTTPException"' not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the refused request was not audited"
        time.sleep(0.05)
