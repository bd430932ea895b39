"""Credentials at rest: AES-GCM round trip, and every way a row can be wrong is refused.

Each test runs on SQLite and on PostgreSQL (conftest.py ``engine``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from interlock.audit import AuditLog
from interlock.broker import keys
from interlock.broker.credentials import Credentials
from interlock.errors import BrokerError
from interlock.secrets import Secret
from interlock.server.db import credentials

STAGING = "rw_staging_7f3e9a1c4b2d8e6f0a5c3b1d"
PRODUCTION = "rw_production_0c9b8a7f6e5d4c3b2a19f8e7"


@pytest.fixture
def store(engine: sa.Engine) -> Credentials:
    return Credentials(engine, keys.generate())


def _rows(engine: sa.Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(credentials)).mappings()]


def _set(engine: sa.Engine, which: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(credentials.update().where(credentials.c.name == which).values(**values))


def test_a_value_comes_back_as_the_header_the_gateway_sends(store: Credentials) -> None:
    store.add("railway-staging", "railway", STAGING)
    store.add("github", "github", Secret("ghp_" + "a" * 36), header="Authorization", scheme="")
    injected = store.for_upstream("railway")
    assert injected is not None
    assert injected.header == "authorization"
    assert injected.name == "railway-staging"
    assert isinstance(injected.value, Secret)
    assert injected.value.reveal() == f"Bearer {STAGING}"
    assert store.get("github").value.reveal() == "ghp_" + "a" * 36
    assert store.for_upstream("aws") is None
    assert store.names() == ["github", "railway-staging"]


def test_the_database_holds_only_ciphertext_with_a_fresh_nonce_each_time(
    store: Credentials, engine: sa.Engine
) -> None:
    store.add("a", "railway", STAGING)
    store.add("b", "railway-2", STAGING)
    rows = _rows(engine)
    dump = json.dumps(rows, default=str)
    assert STAGING not in dump
    assert STAGING[4:] not in dump
    assert base64.b64encode(STAGING.encode()).decode() not in dump
    nonces = [base64.b64decode(str(r["nonce"])) for r in rows]
    assert all(len(n) == 12 for n in nonces)
    assert nonces[0] != nonces[1]
    assert rows[0]["ciphertext"] != rows[1]["ciphertext"]
    store.add("a", "railway", STAGING, replace=True)
    again = {str(r["name"]): r for r in _rows(engine)}["a"]
    assert again["nonce"] != rows[0]["nonce"], "a replaced value gets a new nonce"


def test_a_wrong_key_is_a_clear_error_never_garbage(store: Credentials, engine: sa.Engine) -> None:
    store.add("railway-staging", "railway", STAGING)
    other = Credentials(engine, keys.generate())
    with pytest.raises(BrokerError) as caught:
        other.for_upstream("railway")
    assert caught.value.reason == "wrong_key"
    assert "another broker key" in str(caught.value)
    assert {"railway-staging"} == set(other.verify())
    assert all(p is not None and p.reason == "wrong_key" for p in other.verify().values())
    with pytest.raises(BrokerError) as adding:
        other.add("aws", "aws", "AKIA" + "B" * 16)
    assert adding.value.reason == "wrong_key", "one store, one key"


def test_a_forged_key_id_does_not_get_past_the_cipher(
    store: Credentials, engine: sa.Engine
) -> None:
    store.add("railway-staging", "railway", STAGING)
    other = keys.generate()
    _set(engine, "railway-staging", key_id=other.id)
    with pytest.raises(BrokerError) as caught:
        Credentials(engine, other).get("railway-staging")
    assert caught.value.reason == "tampered"


@pytest.mark.parametrize("column", ["ciphertext", "nonce"])
def test_a_tampered_row_is_refused(store: Credentials, engine: sa.Engine, column: str) -> None:
    store.add("railway-staging", "railway", STAGING)
    raw = bytearray(base64.b64decode(str(_rows(engine)[0][column])))
    raw[len(raw) // 2] ^= 0x01
    _set(engine, "railway-staging", **{column: base64.b64encode(bytes(raw)).decode()})
    with pytest.raises(BrokerError) as caught:
        store.for_upstream("railway")
    assert caught.value.reason == "tampered"
    assert STAGING not in caught.value.diagnostics()


def test_a_row_moved_to_another_upstream_is_refused(store: Credentials, engine: sa.Engine) -> None:
    """The associated data binds the ciphertext to its upstream: the staging credential
    cannot be made to answer for another upstream by editing one column."""
    store.add("railway-staging", "railway", STAGING)
    _set(engine, "railway-staging", upstream="railway-production")
    with pytest.raises(BrokerError) as caught:
        store.for_upstream("railway-production")
    assert caught.value.reason == "tampered"


def test_ciphertexts_swapped_between_names_are_refused(
    store: Credentials, engine: sa.Engine
) -> None:
    store.add("staging", "railway", STAGING)
    store.add("production", "railway-prod", PRODUCTION)
    rows = {str(r["name"]): r for r in _rows(engine)}
    for name, other in (("staging", "production"), ("production", "staging")):
        _set(
            engine,
            name,
            nonce=rows[other]["nonce"],
            ciphertext=rows[other]["ciphertext"],
        )
    for name in ("staging", "production"):
        with pytest.raises(BrokerError) as caught:
            store.get(name)
        assert caught.value.reason == "tampered"
    # Renaming rows instead of swapping blobs: the name is bound as well as the upstream.
    with store.engine.begin() as conn:
        conn.execute(credentials.delete())
    store.add("staging", "railway", STAGING)
    _set(store.engine, "staging", name="production")
    with pytest.raises(BrokerError):
        store.get("production")


def test_two_credentials_for_one_upstream_are_not_a_choice(store: Credentials) -> None:
    store.add("one", "railway", STAGING)
    store.add("two", "railway", PRODUCTION)
    with pytest.raises(BrokerError) as caught:
        store.for_upstream("railway")
    assert caught.value.reason == "ambiguous"
    assert store.get("two").value.reveal() == f"Bearer {PRODUCTION}"


@pytest.mark.parametrize(
    ("name", "upstream", "value", "header", "scheme"),
    [
        ("Bad Name", "railway", STAGING, "authorization", "Bearer"),
        ("ok", "rail/way", STAGING, "authorization", "Bearer"),
        ("ok", "railway", STAGING + "\r\nX-Evil: 1", "authorization", "Bearer"),
        ("ok", "railway", " " + STAGING, "authorization", "Bearer"),
        ("ok", "railway", "", "authorization", "Bearer"),
        ("ok", "railway", "x" * 20000, "authorization", "Bearer"),
        ("ok", "railway", STAGING, "x-token:", "Bearer"),
        ("ok", "railway", STAGING, "authorization", "Bearer x"),
    ],
)
def test_bad_input_is_refused_without_quoting_the_value(
    store: Credentials, name: str, upstream: str, value: str, header: str, scheme: str
) -> None:
    with pytest.raises(BrokerError) as caught:
        store.add(name, upstream, value, header=header, scheme=scheme)
    assert caught.value.reason == "invalid"
    if value:
        assert STAGING not in caught.value.diagnostics()
    assert store.names() == []


def test_an_existing_name_needs_replace(store: Credentials) -> None:
    store.add("railway-staging", "railway", STAGING)
    with pytest.raises(BrokerError) as caught:
        store.add("railway-staging", "railway", PRODUCTION)
    assert caught.value.reason == "exists"
    store.add("railway-staging", "railway", PRODUCTION, replace=True)
    assert store.get("railway-staging").value.reveal() == f"Bearer {PRODUCTION}"
    store.remove("railway-staging")
    with pytest.raises(BrokerError):
        store.remove("railway-staging")
    with pytest.raises(BrokerError):
        store.get("railway-staging")


def test_listing_needs_no_key_and_shows_at_most_four_characters(
    store: Credentials, engine: sa.Engine
) -> None:
    store.add("long", "railway", STAGING)
    store.add("short", "github", "abcdefgh12345")
    listing = {info.name: info for info in Credentials(engine, None).list()}
    assert listing["long"].hint == STAGING[:4] + "…****"
    assert listing["short"].hint == "****"
    text = repr(listing) + repr(store) + repr(store.get("long"))
    assert STAGING[4:8] not in text and "abcdefgh" not in text
    with pytest.raises(BrokerError):
        Credentials(engine, None).get("long")


def test_audit_records_name_credentials_never_their_values(
    engine: sa.Engine, tmp_path: Path
) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    store = Credentials(engine, keys.generate(), audit=log, actor="alice")
    store.add("railway-staging", "railway", STAGING)
    store.add("railway-staging", "railway", PRODUCTION, replace=True)
    store.remove("railway-staging")
    text = log.path.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["event"] for r in records] == [
        "credential_added",
        "credential_replaced",
        "credential_removed",
    ]
    assert records[0]["detail"]["name"] == "railway-staging"
    assert records[0]["actor"] == {"name": "alice"}
    for value in (STAGING, PRODUCTION):
        assert value not in text and value[:4] + "…" not in text
