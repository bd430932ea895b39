"""Interlock tokens: issued once, stored as a hash, refused when expired, revoked or suspended.

Each test runs on SQLite and on PostgreSQL (conftest.py ``engine``); time is injected.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from interlock import audit
from interlock.audit import AuditLog
from interlock.broker.tokens import DEFAULT_TTL, MAX_TTL, TokenInfo, Tokens
from interlock.errors import BrokerError
from interlock.secrets import mask, mask_json
from interlock.server.db import tokens
from tests.broker.conftest import Clock


@pytest.fixture
def issuer(engine: sa.Engine, clock: Clock) -> Tokens:
    return Tokens(engine, clock=clock)


def _issue(
    issuer: Tokens, session: str = "s-1", *, upstreams: tuple[str, ...] = ("railway",), **kw: Any
) -> tuple[str, TokenInfo]:
    return issuer.issue("claude-code", session, "staging", upstreams, **kw)


def test_a_token_is_recognisable_random_and_bound(issuer: Tokens, clock: Clock) -> None:
    token, info = issuer.issue(
        "claude-code", "s-1", "staging", ("railway", "github"), ("volume.*", "service.read")
    )
    assert re.fullmatch(r"ilk_[A-Za-z0-9_-]{43}", token)  # 43 x 6 bits >= 256
    assert issuer.issue("claude-code", "s-1", "staging", ("railway",))[0] != token
    assert info.expires_at == clock.now + DEFAULT_TTL == clock.now + 8 * 3600
    found = issuer.authenticate(token)
    assert found == info
    assert (found.agent, found.session, found.environment) == ("claude-code", "s-1", "staging")
    assert found.allows_upstream("railway") and not found.allows_upstream("aws")
    assert found.allows_operation("volume.delete")
    assert not found.allows_operation("project.delete")
    assert token not in repr(info)


def test_only_the_hash_is_stored(issuer: Tokens, engine: sa.Engine) -> None:
    token, _ = _issue(issuer)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(tokens)).mappings()]
    assert len(rows) == 1
    assert rows[0]["token_hash"] == "sha256:" + hashlib.sha256(token.encode()).hexdigest()
    dump = json.dumps(rows, default=str)
    assert token not in dump
    assert token[4:] not in dump
    assert token[4:20] not in dump


def test_a_token_expires(issuer: Tokens, clock: Clock) -> None:
    token, _ = _issue(issuer, ttl=600)
    clock.now += 599
    issuer.authenticate(token)
    clock.now += 1
    with pytest.raises(BrokerError) as caught:
        issuer.authenticate(token)
    assert caught.value.reason == "expired"


@pytest.mark.parametrize("ttl", [0, 59, MAX_TTL + 1, -5, 10**9])
def test_a_lifetime_is_bounded(issuer: Tokens, ttl: int) -> None:
    with pytest.raises(BrokerError) as caught:
        _issue(issuer, ttl=ttl)
    assert caught.value.reason == "invalid"
    _issue(issuer, ttl=MAX_TTL)


def test_a_revoked_token_is_refused(issuer: Tokens, clock: Clock) -> None:
    token, info = _issue(issuer)
    other, _ = _issue(issuer)
    revoked = issuer.revoke(info.id)
    assert revoked.revoked_at == clock.now
    clock.now += 5
    assert issuer.revoke(info.id).revoked_at == revoked.revoked_at, "idempotent"
    with pytest.raises(BrokerError) as caught:
        issuer.authenticate(token)
    assert caught.value.reason == "revoked"
    assert info.id in str(caught.value) and token not in caught.value.diagnostics()
    issuer.authenticate(other)
    with pytest.raises(BrokerError):
        issuer.revoke("tok_nonexistent")


def test_suspending_a_session_stops_all_its_tokens_and_only_its(issuer: Tokens) -> None:
    first, _ = _issue(issuer, session="s-1")
    second, _ = _issue(issuer, session="s-1", upstreams=("github",))
    bystander, _ = _issue(issuer, session="s-2")
    suspended = issuer.suspend_session("s-1", "3 denied attempts in 60 s")
    assert len(suspended) == 2
    assert all(s.suspended_at is not None for s in suspended)
    for token in (first, second):
        with pytest.raises(BrokerError) as caught:
            issuer.authenticate(token)
        assert caught.value.reason == "suspended"
        assert "3 denied attempts" in str(caught.value)
    issuer.authenticate(bystander)
    assert issuer.suspend_session("s-1", "again") == [], "already suspended"
    assert {t.session for t in issuer.list() if t.suspended_at} == {"s-1"}
    assert len(issuer.list(session="s-2")) == 1


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "ilk_",
        "ilk_short",
        "Bearer ilk_" + "a" * 43,
        "ilk_" + "a" * 44,
        "ilk_" + "a" * 42 + "!",
        "ghp_" + "a" * 43,
    ],
)
def test_a_malformed_token_is_refused_before_the_database(issuer: Tokens, presented: str) -> None:
    with pytest.raises(BrokerError) as caught:
        issuer.authenticate(presented)
    assert caught.value.reason == "malformed"


def test_an_unknown_token_is_refused(issuer: Tokens) -> None:
    token, _ = _issue(issuer)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(BrokerError) as caught:
        issuer.authenticate(forged)
    assert caught.value.reason == "unknown"
    assert forged not in caught.value.diagnostics()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("upstreams", ()),
        ("upstreams", ("Railway",)),
        ("operations", ()),
        ("operations", ("volume delete",)),
        ("label", "two\nlines"),
    ],
)
def test_a_binding_must_be_narrow_and_plain(issuer: Tokens, field: str, value: Any) -> None:
    with pytest.raises(BrokerError) as caught:
        _issue(issuer, **{field: value})
    assert caught.value.reason == "invalid"
    assert issuer.list() == []


def test_one_environment_per_token(issuer: Tokens) -> None:
    for environment in ("", "staging,production", "*", "Production"):
        with pytest.raises(BrokerError):
            issuer.issue("claude-code", "s-1", environment, ("railway",))


def test_audit_records_hold_ids_and_masked_tokens(
    engine: sa.Engine, clock: Clock, tmp_path: Path
) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    issuer = Tokens(engine, clock=clock, audit=log, actor="alice")
    token, info = _issue(issuer)
    issuer.revoke(info.id)
    _issue(issuer, session="s-9")
    issuer.suspend_session("s-9", "honeytoken used")
    # An agent's command that carries its token, as a hook or the gateway would record it.
    log.append({"type": "decision", "command": f"curl -H 'X-Interlock-Token: {token}' x"})
    log.append({"type": "decision", "command": f"echo {token}", "detail": {"note": token}})
    text = log.path.read_text()
    events = [json.loads(line).get("event") for line in text.splitlines()]
    assert events[:4] == ["token_issued", "token_revoked", "token_issued", "token_suspended"]
    assert info.id in text
    assert token not in text
    assert token[4:] not in text
    assert "ilk_****" in text
    assert audit.verify(log.path).ok


def test_mask_hides_an_interlock_token_wherever_it_appears() -> None:
    token = "ilk_" + "Zq9-_x" * 7 + "a"
    for text in (
        token,
        f"export INTERLOCK_TOKEN={token}",
        f"Authorization: Bearer {token}",
        f'{{"auth": "{token}"}}',
        f"curl https://gw/gateway/railway?t={token}",
    ):
        assert token[4:] not in mask(text), text
    assert token[4:] not in json.dumps(mask_json({"note": [token]}))
