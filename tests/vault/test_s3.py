"""The S3 backend with Object Lock in compliance mode, against moto's S3 server on 127.0.0.1.

moto speaks S3's real HTTP protocol (boto3 talks to it as to AWS) and enforces compliance
locks against deleting a version; it does not refuse shortening a compliance lock or turning
it into GOVERNANCE (../shared/notes/deps.md §5). Those tests show the store allowing it and
our client refusing or reporting it.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from interlock.cli import main
from interlock.vault import VaultError, open_vault, verify
from interlock.vault.backends import ObjectExists, ObjectLocked
from interlock.vault.backends.s3 import S3Backend, check_retention, from_url, parse_url
from interlock.vault.sources.sqlite import backup_sqlite, restore_sqlite

SECRET = "interlock-test-secret-0f9e8d7c6b5a"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Credentials, endpoint and key file for one test; nothing from the developer's AWS setup."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "INTERLOCK_VAULT_S3_RETAIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "interlock-test-writer")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("INTERLOCK_VAULT_S3_ENDPOINT", endpoint)
    key_file = tmp_path / "vault.key"
    monkeypatch.setenv("INTERLOCK_VAULT_KEY_FILE", str(key_file))
    monkeypatch.chdir(tmp_path)  # no interlock.toml from the checkout
    return key_file


@pytest.fixture
def s3(s3_env: Path, endpoint: str) -> Any:
    """A plain boto3 client: the bucket's owner, or someone holding the writer's credentials."""
    return boto3.client("s3", endpoint_url=endpoint)


def _bucket(s3: Any, *, lock: bool = True, default: str | None = None) -> str:
    name = f"vault-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)
    if default:
        s3.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": default, "Days": 1}},
            },
        )
    return name


@pytest.fixture
def bucket(s3: Any) -> str:
    return _bucket(s3)


def _database(path: Path, rows: int = 300) -> Path:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO users (name) VALUES (?)", [(f"user {i}",) for i in range(rows)])
        db.commit()
    return path


def _count(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM users").fetchone()[0])


def _keys(s3: Any, bucket: str) -> list[str]:
    listed = s3.list_object_versions(Bucket=bucket)
    return sorted({v["Key"] for v in listed.get("Versions", [])})


def _version(s3: Any, bucket: str, key: str) -> str:
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return str(listed["Versions"][-1]["VersionId"])


def _backed_up(bucket: str, tmp_path: Path) -> tuple[S3Backend, str, str]:
    """A vault in ``bucket`` with one SQLite backup: (backend, snapshot key, an object key)."""
    repository = open_vault(f"s3://{bucket}/vault", create=True)
    repository.chunk_size = 4096  # a few objects per backup, few requests to moto
    snapshot = backup_sqlite(repository, _database(tmp_path / "app.db"), "app")
    backend = repository.backend
    assert isinstance(backend, S3Backend)
    chunk = next(snapshot.manifest.chunks()).object
    return backend, backend.key("snapshots", snapshot.id), backend.key("objects", chunk)


def test_cli_backup_list_verify_restore_sqlite_and_folder(
    s3: Any, bucket: str, s3_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = _database(tmp_path / "app.db")
    folder = tmp_path / "site"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>hello</h1>")
    (folder / "assets" / "logo.bin").write_bytes(bytes(range(256)) * 40)
    vault = f"s3://{bucket}/prod/vault"

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["vault", *args, "--vault", vault])
        captured = capsys.readouterr()
        assert SECRET not in captured.out + captured.err
        return code, captured.out, captured.err

    assert run("backup", "--sqlite", str(database), "--name", "app")[0] == 0
    assert s3_env.exists()  # the first backup made the key, outside the bucket
    assert run("backup", "--folder", str(folder), "--name", "site")[0] == 0
    code, out, _ = run("list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 and "app" in lines[0] and "site" in lines[1]
    code, out, err = run("verify")
    assert code == 0 and "2 snapshot(s), 3 object(s)" in out and ": ok" in out, out + err

    code, out, err = run("drill")
    assert code == 0 and out.count(": ok") == 2, out + err

    assert run("restore", lines[0].split()[0], "--to", str(tmp_path / "back.db"))[0] == 0
    assert _count(tmp_path / "back.db") == 300
    assert run("restore", lines[1].split()[0], "--to", str(tmp_path / "back"))[0] == 0
    assert (tmp_path / "back" / "index.html").read_text() == "<h1>hello</h1>"
    assert (tmp_path / "back" / "assets" / "logo.bin").read_bytes() == bytes(range(256)) * 40

    # Every key is under the prefix, one of the three kinds, and locked in compliance mode.
    keys = _keys(s3, bucket)
    assert "prod/vault/config" in keys and len(keys) >= 5
    soon = datetime.now(UTC) + timedelta(days=29)
    for key in keys:
        assert key.split("/")[2] in ("config", "objects", "snapshots")
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] > soon
    key_material = s3_env.read_text().strip().encode()
    assert all(key_material not in s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys)


def test_a_locked_version_cannot_be_deleted_and_a_delete_marker_hides_nothing(
    s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend, snapshot_key, object_key = _backed_up(bucket, tmp_path)
    # The store refuses to delete a locked version, whoever asks (moto enforces this).
    for key in (snapshot_key, object_key):
        with pytest.raises(ClientError) as refused:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=_version(s3, bucket, key))
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        # A plain delete only adds a delete marker: S3 itself now answers 404 for the key...
        s3.delete_object(Bucket=bucket, Key=key)
        with pytest.raises(ClientError):
            s3.get_object(Bucket=bucket, Key=key)

    # ...but the vault reads versions: the backup is listed, verified and restores whole.
    vault = f"s3://{bucket}/vault"
    assert main(["vault", "list", "--vault", vault]) == 0
    listed = capsys.readouterr().out
    assert snapshot_key.rsplit("/", 1)[1][:12] in listed
    repository = open_vault(vault)
    [snapshot] = repository.snapshots()
    restore_sqlite(repository, snapshot, tmp_path / "back.db", force=False)
    assert _count(tmp_path / "back.db") == 300
    report = verify(repository)
    assert not any("missing" in p or "corrupt" in p for p in report.problems)
    marked = [p for p in report.problems if "delete marker" in p]
    assert len(marked) == 2 and {snapshot_key, object_key} == {p.split(":")[0] for p in marked}
    # The name still exists for writers: it is never written a second time.
    name = object_key.rsplit("/", 1)[1]
    assert backend.exists("objects", name)
    with pytest.raises(ObjectExists):
        backend.put("objects", name, b"anything")


def test_an_overwrite_is_ignored_and_reported(s3: Any, bucket: str, tmp_path: Path) -> None:
    backend, snapshot_key, object_key = _backed_up(bucket, tmp_path)
    name = object_key.rsplit("/", 1)[1]
    original = backend.get("objects", name)
    # Someone with PutObject writes a new version over the object and the manifest.
    for key in (object_key, snapshot_key):
        s3.put_object(Bucket=bucket, Key=key, Body=b"forged", ChecksumAlgorithm="SHA256")
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"forged"
    assert backend.get("objects", name) == original
    assert hashlib.sha256(original).hexdigest() == name

    repository = open_vault(f"s3://{bucket}/vault")
    [snapshot] = repository.snapshots()
    restore_sqlite(repository, snapshot, tmp_path / "back.db", force=False)
    assert _count(tmp_path / "back.db") == 300
    report = verify(repository)
    written_over = [p for p in report.problems if "2 versions under one name" in p]
    assert {p.split(":")[0] for p in written_over} == {object_key, snapshot_key}
    assert not any("corrupt" in p or "missing" in p for p in report.problems)


def test_the_client_never_shortens_a_lock_nor_writes_governance(
    s3: Any, bucket: str, tmp_path: Path
) -> None:
    backend, snapshot_key, object_key = _backed_up(bucket, tmp_path)
    name = object_key.rsplit("/", 1)[1]
    current = backend.locked_until("objects", name)
    assert current is not None and current > datetime.now(UTC) + timedelta(days=29)
    with pytest.raises(ObjectLocked, match="would shorten it"):
        backend.extend_lock("objects", name, current - timedelta(days=1))
    assert backend.locked_until("objects", name) == current
    later = current + timedelta(days=3, microseconds=1)
    backend.extend_lock("objects", name, later)
    head = s3.head_object(Bucket=bucket, Key=object_key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == later.replace(microsecond=0) + timedelta(seconds=1)
    with pytest.raises(VaultError, match="GOVERNANCE"):
        check_retention("GOVERNANCE", later + timedelta(days=1), later)
    with pytest.raises(ObjectLocked):
        check_retention("COMPLIANCE", later - timedelta(seconds=1), later)

    # moto's gap: it lets a client shorten a compliance lock and switch it to GOVERNANCE
    # (real S3 refuses both). The vault does not trust it: verify reports both.
    shorter = datetime.now(UTC) + timedelta(days=1)
    s3.put_object_retention(
        Bucket=bucket,
        Key=object_key,
        VersionId=_version(s3, bucket, object_key),
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": shorter},
    )
    s3.put_object_retention(
        Bucket=bucket,
        Key=snapshot_key,
        VersionId=_version(s3, bucket, snapshot_key),
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": shorter + timedelta(days=60)},
    )
    report = verify(open_vault(f"s3://{bucket}/vault"))
    assert any(p.startswith(f"{object_key}: its lock was shortened") for p in report.problems)
    assert any(
        p == f"{snapshot_key}: locked in GOVERNANCE mode, not COMPLIANCE" for p in report.problems
    )


def test_a_commit_lengthens_the_locks_to_the_sources_keep_within(
    s3: Any, bucket: str, tmp_path: Path
) -> None:
    (tmp_path / "interlock.toml").write_text(
        '[vault.sources.app]\nsqlite = "app.db"\nkeep_within = "45d"\n'
    )
    _, snapshot_key, object_key = _backed_up(bucket, tmp_path)
    later = datetime.now(UTC) + timedelta(days=44)
    for key in (snapshot_key, object_key):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] > later
    assert verify(open_vault(f"s3://{bucket}/vault")).ok


def test_buckets_that_do_not_lock_are_refused_at_open(s3: Any, tmp_path: Path) -> None:
    plain = _bucket(s3, lock=False)
    with pytest.raises(VaultError, match="does not have Object Lock enabled") as refused:
        open_vault(f"s3://{plain}/vault", create=True)
    assert "--object-lock-enabled-for-bucket" in refused.value.hint
    assert _keys(s3, plain) == []

    governance = _bucket(s3, default="GOVERNANCE")
    with pytest.raises(VaultError, match="GOVERNANCE default retention"):
        from_url(f"s3://{governance}")
    _bucket_ok = _bucket(s3, default="COMPLIANCE")
    assert from_url(f"s3://{_bucket_ok}/a/b").location == f"s3://{_bucket_ok}/a/b"

    # moto lets a lock bucket suspend versioning (real S3 does not); the client refuses it.
    suspended = _bucket(s3)
    s3.put_bucket_versioning(Bucket=suspended, VersioningConfiguration={"Status": "Suspended"})
    with pytest.raises(VaultError, match="versioning Suspended"):
        from_url(f"s3://{suspended}/vault")

    with pytest.raises(VaultError, match="there is no bucket") as missing:
        from_url("s3://no-such-bucket-here/vault")
    assert SECRET not in missing.value.diagnostics()


def test_remove_is_refused_while_locked_by_the_client_and_by_s3(
    s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERLOCK_VAULT_S3_RETAIN", "2s")
    backend = from_url(f"s3://{bucket}/vault")
    blob = b"sealed bytes"
    name = hashlib.sha256(blob).hexdigest()
    backend.put("objects", name, blob)
    with pytest.raises(ObjectExists):
        backend.put("objects", name, blob)
    with pytest.raises(ObjectLocked, match="locked until"):
        backend.remove("objects", name)
    # A client whose clock runs an hour ahead passes its own check; S3 still refuses.
    ahead = S3Backend(backend.client, bucket, "vault", 2, clock=lambda: time.time() + 3600)
    with pytest.raises(ObjectLocked, match="S3 refused"):
        ahead.remove("objects", name)
    with pytest.raises(VaultError, match="never removed"):
        backend.remove("config", "config")

    time.sleep(max(0.0, backend.locked_until("objects", name).timestamp() - time.time()) + 1.1)  # type: ignore[union-attr]
    backend.remove("objects", name)
    assert not backend.exists("objects", name)
    assert _keys(s3, bucket) == []
    with pytest.raises(FileNotFoundError):
        backend.remove("objects", name)


class _Store:
    """The real client, with one S3 behaviour changed: an injected transport, not a patch of
    our code. ``unlisted``: listings come back empty (another writer stored the name between
    our check and our upload); ``no_lock``: the store drops Object Lock headers on upload
    (an S3-compatible server without Object Lock)."""

    def __init__(self, client: Any, *, unlisted: bool = False, no_lock: bool = False) -> None:
        self._client, self._unlisted, self._no_lock = client, unlisted, no_lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_paginator(self, operation: str) -> Any:
        paginator = self._client.get_paginator(operation)
        if not self._unlisted:
            return paginator

        class _Empty:
            def paginate(self, **_: Any) -> list[dict[str, Any]]:
                return [{}]

        return _Empty()

    def put_object(self, **arguments: Any) -> Any:
        if self._no_lock:
            arguments = {k: v for k, v in arguments.items() if not k.startswith("ObjectLock")}
        return self._client.put_object(**arguments)


def test_a_racing_writer_is_refused_by_s3_and_an_unlocked_store_fails_the_put(
    s3: Any, bucket: str
) -> None:
    backend = from_url(f"s3://{bucket}/vault")
    blob = b"sealed bytes"
    name = hashlib.sha256(blob).hexdigest()
    backend.put("objects", name, blob)
    # Our check sees nothing, as if the other writer's upload landed just after it:
    # If-None-Match: * makes S3 refuse the second upload (412), so the name keeps one version.
    racing = S3Backend(_Store(backend.client, unlisted=True), bucket, "vault", 3600)
    with pytest.raises(ObjectExists):
        racing.put("objects", name, b"other bytes")
    assert (
        len(s3.list_object_versions(Bucket=bucket, Prefix=backend.key("objects", name))["Versions"])
        == 1
    )

    unlocked = S3Backend(_Store(backend.client, no_lock=True), bucket, "vault", 3600)
    other = b"more sealed bytes"
    with pytest.raises(VaultError, match="lock mode none, not COMPLIANCE") as refused:
        unlocked.put("objects", hashlib.sha256(other).hexdigest(), other)
    assert "does not honour Object Lock" in refused.value.hint


def test_urls_are_checked_and_never_echo_credentials() -> None:
    assert parse_url("s3://my-vault/team/prod/") == ("my-vault", "team/prod")
    assert parse_url("s3://my-vault") == ("my-vault", "")
    with pytest.raises(VaultError, match="never credentials") as refused:
        parse_url(f"s3://AKIAEXAMPLE:{SECRET}@my-vault/x")
    assert SECRET not in refused.value.diagnostics()
    for bad in ("s3://My_Bucket/x", "s3://ab/x", "s3://my-vault/../x", "s3://my-vault/x?y=1"):
        with pytest.raises(VaultError):
            parse_url(bad)
