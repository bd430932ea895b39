"""An approved volumeDelete through the gateway waits for a vault snapshot of what it destroys.

Everything real but Railway: the server and its gateway, a snapshotter on 127.0.0.1 with a
vault folder, a PostgreSQL database as the protected source (the data on the volume).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from interlock.vault import open_local
from interlock.vault.snapshotter import TOKEN_ENV
from interlock.vault.sources.postgres import restore_postgres
from tests.gateway.conftest import Setup
from tests.gateway.fakes import Running
from tests.vault import snapshotters
from tests.vault.test_postgres import Databases

STAGING_VOLUME = "vol-2c9e"
DELETE = json.dumps(
    {
        "query": "mutation VolumeDelete($id: String!) { volumeDelete(volumeId: $id) }",
        "variables": {"id": STAGING_VOLUME},
    }
)


class Vault:
    """A real vault folder, a PostgreSQL source on the volume, and [vault] in interlock.toml."""

    def __init__(self, setup: Setup, tmp_path: Path, databases: Databases) -> None:
        self.setup = setup
        self.folder = tmp_path / "vault"
        self.source = databases.create()
        with psycopg.connect(self.source, autocommit=True) as db:
            db.execute("CREATE TABLE reservations (id serial PRIMARY KEY, car text)")
            db.execute(
                "INSERT INTO reservations (car) SELECT 'car ' || i FROM generate_series(1, 120) i"
            )
        self.config = setup.served.project / "interlock.toml"
        self.base = self.config.read_text()
        self.running: Running | None = None
        self.writes = 0

    def configure(
        self, snapshotter: str, protects: str = f"railway:volume:{STAGING_VOLUME}"
    ) -> None:
        self.config.write_text(
            self.base + f'\n[vault]\nlocation = "{self.folder}"\nsnapshotter = "{snapshotter}"\n\n'
            f'[vault.sources.app]\npostgres = "{self.source}"\nprotects = ["{protects}"]\n'
        )
        # The server re-reads [vault] when the file's time changes: make each rewrite's differ.
        self.writes += 1
        stamp = time.time() + self.writes
        os.utime(self.config, (stamp, stamp))

    def start(self, token: str) -> str:
        settings = snapshotters.settings_for(
            self.folder,
            {"app": {"postgres": self.source, "protects": [f"railway:volume:{STAGING_VOLUME}"]}},
        )
        self.running = snapshotters.serve(settings, token)
        return self.running.url

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()

    def snapshots(self) -> list[Any]:
        if not (self.folder / "config").exists():
            return []
        return open_local(self.folder).snapshots()


@pytest.fixture
def vault(gateway: Setup, tmp_path: Path, databases: Databases) -> Iterator[Vault]:
    made = Vault(gateway, tmp_path, databases)
    yield made
    made.stop()


def _send(setup: Setup, token: str) -> tuple[int, dict[str, Any]]:
    answer = setup.agent(token).post(
        "/gateway/railway/graphql/v2", content=DELETE, headers={"Content-Type": "application/json"}
    )
    return answer.status_code, answer.json()


def _approved(setup: Setup, token: str, approver: str = "alice") -> str:
    status, first = _send(setup, token)
    assert status == 409, first
    request_id: str = first["request"]["id"]
    voted = setup.served.vote(setup.served.sign_in(approver), request_id)
    assert voted.json()["state"] == "approved", voted.text
    return request_id


def _events(setup: Setup, request_id: str) -> list[dict[str, Any]]:
    return [e for e in setup.served.service.events_since(0) if e["request_id"] == request_id]


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_protected_volume_is_snapshotted_then_deleted_once(
    gateway: Setup, vault: Vault, trigger: str, databases: Databases
) -> None:
    vault.configure(vault.start(trigger))
    token = gateway.issue("staging")
    request_id = _approved(gateway, token)
    assert vault.snapshots() == []  # nothing is taken for a request still waiting

    status, done = _send(gateway, token)
    assert status == 200, done
    assert gateway.world.deleted == [STAGING_VOLUME]
    assert gateway.world.mutations() == [DELETE.encode()]
    [snapshot] = vault.snapshots()
    assert snapshot.manifest.source == "app" and snapshot.manifest.tables == {
        "public.reservations": 120
    }
    # Restorable: the rows come back in a new database.
    restored = databases.name()
    restore_postgres(
        open_local(vault.folder), snapshot, snapshotters.PG_SERVER + restored, force=False
    )
    with psycopg.connect(snapshotters.PG_SERVER + restored) as db:
        assert db.execute("SELECT count(*) FROM reservations").fetchone() == (120,)
    # The snapshot's id is on the request (the card's events) and in the audit log.
    kinds = [e["kind"] for e in _events(gateway, request_id)]
    assert kinds.index("predestroy_snapshot") < kinds.index("consumed")
    taken = next(e for e in _events(gateway, request_id) if e["kind"] == "predestroy_snapshot")
    assert taken["detail"]["snapshots"][0]["snapshot"] == snapshot.id
    assert taken["detail"]["targets"] == [f"railway:volume:{STAGING_VOLUME}"]
    audit = gateway.served.data_dir / "audit.jsonl"
    deadline = time.monotonic() + 5
    while snapshot.id not in audit.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert snapshot.id in audit.read_text()
    assert trigger not in audit.read_text()


def test_no_snapshot_no_delete_and_the_approval_waits_for_the_vault(
    gateway: Setup, vault: Vault, trigger: str
) -> None:
    vault.configure(_closed_port())  # the snapshotter is down
    token = gateway.issue("staging")
    request_id = _approved(gateway, token)

    status, refused = _send(gateway, token)
    assert status == 503, refused
    assert refused["error"]["code"] == "snapshot_failed"
    message = refused["error"]["message"]
    assert "pre-destroy snapshot of app failed" in message and "unreachable" in message
    assert "did not run" in message
    assert gateway.world.deleted == [] and gateway.world.mutations() == []
    assert vault.snapshots() == []
    held = [e for e in _events(gateway, request_id) if e["kind"] == "vault.predestroy_failed"]
    assert held and "unreachable" in held[0]["detail"]["summary"]
    # Paged (critical) with the reason.
    deadline = time.monotonic() + 10
    while not any("held" in json.dumps(e) for e in gateway.pagerduty.events()):
        assert time.monotonic() < deadline, gateway.pagerduty.events()
        time.sleep(0.05)
    [page] = [e for e in gateway.pagerduty.events() if "held" in json.dumps(e)]
    assert page["payload"]["severity"] == "critical"
    assert "unreachable" in page["payload"]["summary"]

    # The vault works again: the same approval (not consumed) now goes through, once.
    vault.configure(vault.start(trigger))
    status, done = _send(gateway, token)
    assert status == 200, done
    assert gateway.world.deleted == [STAGING_VOLUME]
    assert len(vault.snapshots()) == 1
    assert [e["kind"] for e in _events(gateway, request_id)].count("consumed") == 1


def test_a_failing_backup_or_a_wrong_trigger_token_holds_the_delete(
    gateway: Setup, vault: Vault, trigger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.configure(vault.start(trigger))
    monkeypatch.setenv(TOKEN_ENV, snapshotters.new_token())  # the server holds another token
    token = gateway.issue("staging")
    _approved(gateway, token)
    status, refused = _send(gateway, token)
    assert status == 503, refused
    assert "answered 401" in refused["error"]["message"]
    assert gateway.world.deleted == []
    assert trigger not in json.dumps(refused)

    monkeypatch.setenv(TOKEN_ENV, trigger)
    unreachable = vault.source.replace("127.0.0.1:5432", "127.0.0.1:1")
    vault.stop()
    settings = snapshotters.settings_for(vault.folder, {"app": {"postgres": unreachable}})
    vault.running = snapshotters.serve(settings, trigger)
    vault.configure(vault.running.url)
    status, refused = _send(gateway, token)
    assert status == 503, refused
    assert "answered 502" in refused["error"]["message"]
    assert "cannot connect to PostgreSQL" in refused["error"]["message"]
    assert gateway.world.deleted == [] and vault.snapshots() == []


def test_an_unprotected_volume_is_forwarded_without_a_snapshot(
    gateway: Setup, vault: Vault, trigger: str
) -> None:
    vault.configure(vault.start(trigger), protects="railway:volume:vol-7d41")
    token = gateway.issue("staging")
    request_id = _approved(gateway, token)
    status, done = _send(gateway, token)
    assert status == 200, done
    assert gateway.world.deleted == [STAGING_VOLUME]
    assert vault.snapshots() == []
    assert "predestroy_snapshot" not in [e["kind"] for e in _events(gateway, request_id)]
