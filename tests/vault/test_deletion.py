"""Deletion: admin key only, a cooling-off that can be cancelled, alerts, and nothing young or
locked removed. Real vault folders, the server's real (SQLite) database for alerts, and a fake
clock passed in to step through 72 hours and 30 days."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from interlock.cli import main
from interlock.server import db
from interlock.vault import Repository, Snapshot, access, deletion, open_local, verify
from interlock.vault.backends import ObjectLocked
from interlock.vault.errors import VaultError
from interlock.vault.report import Reporter
from interlock.vault.sources.folders import backup_folder, restore_folder

HOUR = 3600.0
DAY = 86400.0


class Clock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An interlock.toml in the test's folder: alerts go to the server's SQLite database in
    ``.interlock/``; the sources keep backups 30 days (the default) or 1 day (``short``)."""
    for name in (
        "INTERLOCK_CONFIG",
        "INTERLOCK_HOME",
        "INTERLOCK_DATABASE_URL",
        "INTERLOCK_VAULT_ADMIN_KEY",
        "INTERLOCK_VAULT_ADMIN_KEY_FILE",
        "INTERLOCK_VAULT_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "interlock.toml").write_text(
        '[vault.sources.short]\nfolder = "data"\nkeep_within = "1d"\n'
    )
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "data"
    made.mkdir()
    for i in range(3):
        (made / f"f{i}").write_bytes(os.urandom(2500))
    return made


@pytest.fixture
def reporter(tmp_path: Path) -> Reporter:
    return Reporter(db.sqlite_url(tmp_path / ".interlock"))


def _events(tmp_path: Path) -> list[dict[str, Any]]:
    engine = db.connect(db.sqlite_url(tmp_path / ".interlock"))
    try:
        with engine.connect() as conn:
            query = sa.select(db.events).order_by(db.events.c.seq)
            return [{**r._asdict(), "detail": json.loads(r.detail)} for r in conn.execute(query)]
    except sa.exc.OperationalError:
        return []  # no database yet: nothing was ever recorded
    finally:
        engine.dispose()


def _two_backups(repository: Repository, folder: Path, source: str = "app") -> list[Snapshot]:
    return [backup_folder(repository, folder, source), backup_folder(repository, folder, source)]


def _stored(vault_dir: Path) -> tuple[set[str], set[str]]:
    repository = open_local(vault_dir)
    return set(repository.backend.list("snapshots")), set(repository.backend.list("objects"))


def test_a_request_is_pending_and_alerted_and_a_purge_before_72_hours_removes_nothing(
    repository: Repository, vault_dir: Path, folder: Path, reporter: Reporter, tmp_path: Path
) -> None:
    doomed, kept = _two_backups(repository, folder, "short")
    clock = Clock(repository_time(doomed) + 2 * DAY)  # past its 1-day keep_within
    made = deletion.request(
        vault_dir, doomed.id[:10], reason="test data", by="admin", clock=clock, reporter=reporter
    )
    assert made.snapshot == doomed.id and made.due == clock.now + 72 * HOUR
    assert deletion.pending(vault_dir) == [made]
    [alert] = _events(tmp_path)
    assert alert["kind"] == "vault.deletion_requested" and alert["actor"] == "admin"
    assert alert["detail"]["deletion"] == made.id and alert["detail"]["snapshot"] == doomed.id
    assert f"delete cancel {made.id}" in alert["detail"]["summary"]

    before = _stored(vault_dir)
    clock.advance(72 * HOUR - 1)
    assert deletion.purge(vault_dir, by="admin", clock=clock, reporter=reporter) == []
    assert _stored(vault_dir) == before
    assert deletion.pending(vault_dir) == [made]
    # A second request for the same backup is refused while the first waits.
    with pytest.raises(VaultError, match="already has a pending deletion request"):
        deletion.request(vault_dir, doomed.id, reason="again", by="admin", reporter=reporter)
    assert kept.id in before[0]


def test_a_due_request_removes_the_backup_and_only_its_objects_and_verify_stays_clean(
    repository: Repository, vault_dir: Path, folder: Path, reporter: Reporter, tmp_path: Path
) -> None:
    doomed, kept = _two_backups(repository, folder, "short")
    clock = Clock(repository_time(doomed) + 2 * DAY)
    made = deletion.request(
        vault_dir, doomed.id, reason="old", by="admin", clock=clock, reporter=reporter
    )
    snapshots, objects = _stored(vault_dir)
    own = {c.object for c in doomed.manifest.chunks()}
    clock.advance(72 * HOUR)
    assert deletion.purge(vault_dir, by="admin", clock=clock, reporter=reporter) == [doomed.id]
    assert _stored(vault_dir) == (snapshots - {doomed.id}, objects - own)
    report = verify(open_local(vault_dir))
    assert report.ok and report.snapshots == 1 and report.unreferenced == 0
    restore_folder(open_local(vault_dir), kept, tmp_path / "restored", force=False)
    assert (tmp_path / "restored" / "f0").read_bytes() == (folder / "f0").read_bytes()
    assert deletion.pending(vault_dir) == []
    assert [e["kind"] for e in _events(tmp_path)] == [
        "vault.deletion_requested",
        "vault.deletion_done",
    ]
    # Carried out once: a second purge has nothing to do, and it cannot be cancelled now.
    assert deletion.purge(vault_dir, by="admin", clock=clock, reporter=reporter) == []
    with pytest.raises(VaultError, match="carried out"):
        deletion.cancel(vault_dir, made.id, by="writer", reporter=reporter)


def test_a_cancelled_request_never_removes_anything(
    repository: Repository, vault_dir: Path, folder: Path, reporter: Reporter, tmp_path: Path
) -> None:
    doomed, _ = _two_backups(repository, folder, "short")
    clock = Clock(repository_time(doomed) + 2 * DAY)
    made = deletion.request(
        vault_dir, doomed.id, reason="mistake", by="attacker", clock=clock, reporter=reporter
    )
    clock.advance(HOUR)
    deletion.cancel(vault_dir, made.id, by="writer nightly", clock=clock, reporter=reporter)
    deletion.cancel(vault_dir, made.id, by="writer nightly", clock=clock, reporter=reporter)
    before = _stored(vault_dir)
    clock.advance(365 * DAY)
    assert deletion.purge(vault_dir, by="admin", clock=clock, reporter=reporter) == []
    assert _stored(vault_dir) == before
    assert deletion.pending(vault_dir) == []
    kinds = [e["kind"] for e in _events(tmp_path)]
    assert kinds == ["vault.deletion_requested", "vault.deletion_cancelled"]


def test_a_backup_inside_keep_within_stays_after_the_cooling_off_until_its_lock_ends(
    repository: Repository, vault_dir: Path, folder: Path, reporter: Reporter
) -> None:
    young, _ = _two_backups(repository, folder, "app")  # "app": the default 30 days
    clock = Clock(repository_time(young))
    made = deletion.request(
        vault_dir, young.id, reason="too soon", by="admin", clock=clock, reporter=reporter
    )
    before = _stored(vault_dir)
    clock.advance(72 * HOUR)
    assert deletion.purge(vault_dir, by="admin", clock=clock, reporter=reporter) == []
    clock.advance(20 * DAY)
    assert deletion.purge(vault_dir, by="admin", clock=clock, reporter=reporter) == []
    assert _stored(vault_dir) == before and deletion.pending(vault_dir) == [made]
    # Nor can anyone go around the purge: the backend itself refuses while locked.
    from interlock.vault.backends.local import LocalBackend

    with pytest.raises(ObjectLocked):
        LocalBackend(vault_dir, clock=clock).remove("snapshots", young.id)
    clock.advance(8 * DAY + 1)  # 30 days and a second after it finished
    assert deletion.purge(vault_dir, by="admin", clock=clock, reporter=reporter) == [young.id]


def test_a_cooling_off_below_the_vaults_floor_is_refused(
    repository: Repository, vault_dir: Path, folder: Path, reporter: Reporter, tmp_path: Path
) -> None:
    snapshot = backup_folder(repository, folder, "app")
    with pytest.raises(VaultError, match="shorter than this vault's floor of 3 d"):
        deletion.request(
            vault_dir, snapshot.id, reason="now", by="admin", cooling_off=0, reporter=reporter
        )
    with pytest.raises(VaultError, match="below the minimum"):
        deletion.set_floor(vault_dir, 24 * HOUR, by="admin")
    deletion.set_floor(vault_dir, 96 * HOUR, by="admin")
    assert deletion.floor(vault_dir) == 96 * HOUR
    with pytest.raises(VaultError, match="already has a cooling-off floor"):
        deletion.set_floor(vault_dir, 100 * HOUR, by="admin")
    with pytest.raises(VaultError, match="shorter than this vault's floor of 4 d"):
        deletion.request(
            vault_dir, snapshot.id, reason="x", by="admin", cooling_off=80 * HOUR, reporter=reporter
        )
    assert deletion.pending(vault_dir) == [] and _events(tmp_path) == []
    made = deletion.request(vault_dir, snapshot.id, reason="x", by="admin", reporter=reporter)
    assert made.cooling_off == 96 * HOUR
    longer = deletion.request(  # longer than the floor is fine (a new backup, same source)
        vault_dir,
        backup_folder(repository, folder, "app").id,
        reason="y",
        by="admin",
        cooling_off=10 * DAY,
        reporter=reporter,
    )
    assert longer.cooling_off == 10 * DAY


def test_no_request_without_somewhere_to_alert(
    repository: Repository, vault_dir: Path, folder: Path, tmp_path: Path
) -> None:
    snapshot = backup_folder(repository, folder, "app")
    (tmp_path / "interlock.toml").unlink()
    with pytest.raises(VaultError, match="no alert can be sent"):
        deletion.request(vault_dir, snapshot.id, reason="quiet", by="admin")
    assert deletion.pending(vault_dir) == []


def test_a_purge_cut_short_after_the_manifest_resumes_from_its_plan(
    repository: Repository,
    vault_dir: Path,
    folder: Path,
    reporter: Reporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doomed, _ = _two_backups(repository, folder, "short")
    clock = Clock(repository_time(doomed) + 2 * DAY)
    made = deletion.request(
        vault_dir, doomed.id, reason="r", by="a", clock=clock, reporter=reporter
    )
    clock.advance(72 * HOUR)
    from interlock.vault.backends.local import LocalBackend

    class DiesAfterManifest(LocalBackend):
        def remove(self, kind: Any, name: str) -> None:
            super().remove(kind, name)
            if kind == "snapshots":
                raise KeyboardInterrupt  # the process killed here

    # The storage-fault seam, as in test_faults.py: the same backend, killed mid-purge.
    with monkeypatch.context() as patched:
        patched.setattr(deletion, "LocalBackend", DiesAfterManifest)
        with pytest.raises(KeyboardInterrupt):
            deletion.purge(vault_dir, by="a", clock=clock, reporter=reporter)
    assert doomed.id not in _stored(vault_dir)[0]
    assert deletion.pending(vault_dir) == [made]  # not done yet; still not cancellable
    with pytest.raises(VaultError, match="carried out"):
        deletion.cancel(vault_dir, made.id, by="w", reporter=reporter)
    assert deletion.purge(vault_dir, by="a", clock=clock, reporter=reporter) == [doomed.id]
    report = verify(open_local(vault_dir))
    assert report.ok and report.unreferenced == 0


def test_a_purge_stops_when_another_manifest_cannot_be_read(
    repository: Repository, vault_dir: Path, folder: Path, reporter: Reporter
) -> None:
    doomed, other = _two_backups(repository, folder, "short")
    clock = Clock(repository_time(doomed) + 2 * DAY)
    deletion.request(vault_dir, doomed.id, reason="r", by="a", clock=clock, reporter=reporter)
    clock.advance(72 * HOUR)
    path = repository.backend.path("snapshots", other.id)  # type: ignore[attr-defined]
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    before = _stored(vault_dir)
    with pytest.raises(VaultError):
        deletion.purge(vault_dir, by="a", clock=clock, reporter=reporter)
    assert _stored(vault_dir) == before  # its objects might be the other's: nothing removed


def repository_time(snapshot: Snapshot) -> float:
    from interlock.vault.retention import finished

    return finished(snapshot.manifest).timestamp()


# -- the CLI: who may do what ------------------------------------------------------------------

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def call(*args: str) -> tuple[int, str, str]:
        code = main(["vault", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


@pytest.fixture
def keys(vault_dir: Path, repository: Repository) -> dict[str, str]:
    return {
        "admin": access.init_admin(vault_dir),
        "writer": access.add_writer(vault_dir, "nightly"),
    }


def test_a_writer_token_or_a_wrong_key_cannot_request_a_deletion(
    repository: Repository,
    vault_dir: Path,
    folder: Path,
    keys: dict[str, str],
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    snapshot = backup_folder(repository, folder, "app")
    other_vault = tmp_path / "other"
    other_vault.mkdir()
    wrong = [keys["writer"], access.init_admin(other_vault), "ilva_" + "A" * 43]
    for presented in wrong:
        monkeypatch.setenv("INTERLOCK_VAULT_ADMIN_KEY", presented)
        for args in (
            ["delete", "request", snapshot.id, "--reason", "x"],
            ["purge"],
            ["delete", "floor", "--set", "100h"],
        ):
            code, out, err = run(*args, "--vault", str(vault_dir))
            assert code == 1, (args, out)
            assert presented not in out + err
    monkeypatch.delenv("INTERLOCK_VAULT_ADMIN_KEY")
    monkeypatch.setenv("INTERLOCK_VAULT_TOKEN", keys["writer"])
    code, _, err = run("delete", "request", snapshot.id, "--reason", "x", "--vault", str(vault_dir))
    assert code == 1 and "no credential" in err
    assert not (vault_dir / "deletions").exists() or not list(
        (vault_dir / "deletions").glob("*.json")
    )
    assert deletion.pending(vault_dir) == [] and _events(tmp_path) == []
    assert deletion.floor(vault_dir) == 72 * HOUR


def test_the_admin_key_requests_from_a_private_file_and_a_writer_cancels(
    repository: Repository,
    vault_dir: Path,
    folder: Path,
    keys: dict[str, str],
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    snapshot = backup_folder(repository, folder, "app")
    key_file = tmp_path / "admin.key"
    key_file.write_text(keys["admin"] + "\n")
    key_file.chmod(0o644)
    monkeypatch.setenv("INTERLOCK_VAULT_ADMIN_KEY_FILE", str(key_file))
    args = ("delete", "request", snapshot.id[:12], "--reason", "cleanup", "--vault", str(vault_dir))
    code, _, err = run(*args)
    assert code == 1 and "open to other users" in err and deletion.pending(vault_dir) == []
    key_file.chmod(0o600)
    code, out, err = run(*args)
    assert code == 0, err
    [made] = deletion.pending(vault_dir)
    assert made.id in out and made.by.startswith("admin key") and made.reason == "cleanup"
    code, out, _ = run("delete", "list", "--vault", str(vault_dir))
    assert made.id in out and "due in 3d" in out and "cleanup" in out
    code, out, _ = run("retention", "--vault", str(vault_dir))
    assert f"deletion {made.id} pending" in out and "kept 30d more" in out
    code, out, _ = run("purge", "--vault", str(vault_dir))
    assert code == 0 and "0 backup(s) deleted; 1 request(s) still waiting" in out

    monkeypatch.delenv("INTERLOCK_VAULT_ADMIN_KEY_FILE")
    monkeypatch.setenv("INTERLOCK_VAULT_TOKEN", keys["writer"])
    code, out, err = run("delete", "cancel", made.id, "--vault", str(vault_dir))
    assert code == 0, err
    assert deletion.pending(vault_dir) == []
    cancelled = json.loads((vault_dir / "deletions" / f"{made.id}.cancel.json").read_text())
    assert cancelled["by"].startswith("writer nightly")
    kinds = [e["kind"] for e in _events(tmp_path)]
    assert kinds == ["vault.deletion_requested", "vault.deletion_cancelled"]
    everything = json.dumps(_events(tmp_path)) + out + err
    assert keys["admin"] not in everything and keys["writer"] not in everything
