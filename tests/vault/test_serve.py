"""`interlock vault serve` as a real process on 127.0.0.1, used through `--vault http://…`.

Issue 7's done-when: an agent token, a broker credential and the writer key each fail to delete
a backup. Each refusal below is followed by the proof that nothing changed: the backup is still
listed, `vault verify` passes and every stored file is byte-identical.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from interlock.broker import keys as broker_keys
from interlock.broker.credentials import Credentials
from interlock.broker.tokens import Tokens
from interlock.cli import main
from interlock.server import db
from interlock.vault import access
from interlock.vault.backends import ObjectLocked
from interlock.vault.backends.local import LocalBackend
from interlock.vault.backends.rest import CA_ENV, TOKEN_ENV, RestBackend
from interlock.vault.errors import VaultError
from interlock.vault.keys import FILE_ENV
from tests.vault.test_postgres import SERVER, Databases, _fill


@dataclass
class Served:
    url: str
    root: Path
    writer: str
    admin: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


INTERLOCK = str(Path(sys.executable).with_name("interlock"))


def serve_command(root: Path, listen: str) -> list[str]:
    return [INTERLOCK, "vault", "serve", "--vault", str(root), "--listen", listen]


def start(root: Path, token: str, cwd: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """`interlock vault serve` in its own process; returns once it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    process = subprocess.Popen(
        serve_command(root, f"127.0.0.1:{port}"),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"vault serve exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            # With a valid token: a probe without one would count as a failed authentication.
            httpx.get(url + "/v1/config", headers={"authorization": f"Bearer {token}"}, timeout=1)
            return url, process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("vault serve did not answer within 20 s")


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    root = tmp_path / "vault"
    root.mkdir(mode=0o700)
    admin = access.init_admin(root)
    writer = access.add_writer(root, "nightly")
    # The key lives away from the served folder, as docs/vault.md says it must.
    key_file = tmp_path / "client" / "vault.key"
    key_file.parent.mkdir()
    key_file.write_text(base64.b64encode(os.urandom(32)).decode())
    key_file.chmod(0o600)
    monkeypatch.setenv(FILE_ENV, str(key_file))
    monkeypatch.setenv(TOKEN_ENV, writer)
    # Deletion requests alert through the nearest interlock.toml: the server's SQLite database
    # in <tmp>/.interlock (vault/report.py).
    (tmp_path / "interlock.toml").write_text("# vault serve tests\n")
    monkeypatch.chdir(tmp_path)
    url, process = start(root, writer, tmp_path)
    yield Served(url, root, writer, admin, process)
    process.terminate()
    process.wait(timeout=10)
    for stream in (process.stdout, process.stderr):
        assert stream is not None
        stream.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["vault", *args])
    out, err = capsys.readouterr()
    return code, out, err


def stored(root: Path) -> dict[str, bytes]:
    """Every file the vault's backups consist of (not the server's log or credentials)."""
    found = {"config": (root / "config").read_bytes()}
    for kind in ("objects", "snapshots"):
        for path in sorted((root / kind).rglob("*")):
            if path.is_file():
                found[str(path.relative_to(root))] = path.read_bytes()
    return found


def sqlite_db(path: Path, rows: int = 2000) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO users (name) VALUES (?)", [(f"u{i}",) for i in range(rows)])
    conn.close()
    return path


def backed_up(served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A SQLite backup through the served vault; its snapshot id."""
    source = sqlite_db(tmp_path / "app.db")
    code, out, err = run(
        capsys, "backup", "--vault", served.url, "--sqlite", str(source), "--name", "app"
    )
    assert code == 0, err
    names = sorted(p.name for p in (served.root / "snapshots").iterdir())
    assert len(names) == 1 and out.startswith(f"snapshot {names[0][:12]}")
    return names[0]


def assert_intact(
    served: Served, snapshot: str, before: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "list", "--vault", served.url)
    assert code == 0 and snapshot[:12] in out
    code, out, err = run(capsys, "verify", "--vault", served.url)
    assert code == 0 and "ok" in err + out, err
    assert stored(served.root) == before


def refused(served: Served, credential: str) -> dict[str, int]:
    """Every way of asking this API to delete or replace the one backup, with ``credential``."""
    snapshot = next((served.root / "snapshots").iterdir()).name
    obj = next((served.root / "objects").rglob("*/*")).name
    other = b"other bytes"
    headers = {"authorization": f"Bearer {credential}"}
    answers = {}
    with httpx.Client(base_url=served.url, headers=headers, timeout=10) as client:
        for method, path, body in [
            ("DELETE", f"/v1/snapshots/{snapshot}", None),
            ("DELETE", f"/v1/objects/{obj}", None),
            ("DELETE", "/v1/config", None),
            ("PUT", f"/v1/snapshots/{snapshot}", other),
            ("PATCH", f"/v1/snapshots/{snapshot}", other),
            ("POST", f"/v1/snapshots/{snapshot}", other),
            ("POST", f"/v1/objects/{obj}", other),
            ("POST", "/v1/config", b'{"format": "interlock-vault"}'),
            ("POST", "/v1/admin/deletions", json.dumps({"snapshot": snapshot}).encode()),
        ]:
            response = client.request(method, path, content=body)
            answers[f"{method} {path.split('/')[2]}"] = response.status_code
            assert "error" in response.json()
            assert credential not in response.text
    return answers


def test_backup_list_verify_restore_and_drill_through_the_served_vault(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = backed_up(served, tmp_path, capsys)
    folder = tmp_path / "files"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "big.bin").write_bytes(os.urandom(5 * 1024 * 1024))  # two chunks
    (folder / "note.txt").write_text("hello")
    assert (
        run(capsys, "backup", "--vault", served.url, "--folder", str(folder), "--name", "files")[0]
        == 0
    )

    code, out, _ = run(capsys, "list", "--vault", served.url)
    assert code == 0 and snapshot[:12] in out and "files" in out
    code, out, err = run(capsys, "verify", "--vault", served.url)
    assert code == 0 and "2 snapshot(s), 4 object(s)" in out + err

    code, _, err = run(
        capsys, "restore", snapshot[:12], "--to", str(tmp_path / "back.db"), "--vault", served.url
    )
    assert code == 0, err
    with sqlite3.connect(tmp_path / "back.db") as conn:
        assert conn.execute("SELECT count(*), max(name) FROM users").fetchone() == (2000, "u999")
    conn.close()
    code, out, err = run(capsys, "list", "--vault", served.url, "--source", "files")
    folder_id = out.split()[0]
    code, _, err = run(
        capsys, "restore", folder_id, "--to", str(tmp_path / "back"), "--vault", served.url
    )
    assert code == 0, err
    assert (tmp_path / "back" / "sub" / "big.bin").read_bytes() == (
        folder / "sub" / "big.bin"
    ).read_bytes()

    code, out, err = run(capsys, "drill", "--vault", served.url)
    assert code == 0, err
    assert out.count(": ok") == 2

    # The server held no key and wrote every blob under the hash of its bytes, once.
    assert not (served.root / "vault.key").exists()
    for name, data in stored(served.root).items():
        if name != "config":
            assert hashlib.sha256(data).hexdigest() == Path(name).name
    lines = [json.loads(line) for line in (served.root / "serve.log").read_text().splitlines()]
    assert all(line["credential"] == "nightly" and line["role"] == "writer" for line in lines)
    outcomes = [line["outcome"] for line in lines]
    assert outcomes.count("stored") == 1 + 2 + 4  # config, two manifests, four data objects
    assert outcomes.count("locked") == 2 + 4 and len(outcomes) == 13
    # Each backup is locked on the server's side (retention.py), for keep_within (30 days).
    local = LocalBackend(served.root)
    for kind in ("objects", "snapshots"):
        for name in local.list(kind):
            until = local.locked_until(kind, name)
            assert until is not None and until - datetime.now(UTC) > timedelta(days=29)


def test_postgres_backup_restore_and_drill_through_the_served_vault(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    databases = Databases()
    try:
        source = databases.create()
        _fill(source)
        code, _, err = run(
            capsys, "backup", "--vault", served.url, "--postgres", source, "--name", "pg"
        )
        assert code == 0, err
        snapshot = next((served.root / "snapshots").iterdir()).name
        target = SERVER + databases.name()
        code, _, err = run(
            capsys, "restore", snapshot[:12], "--to-postgres", target, "--vault", served.url
        )
        assert code == 0, err
        import psycopg

        with psycopg.connect(target) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone() == (500,)
        code, out, err = run(
            capsys, "drill", "--vault", served.url, "--postgres", SERVER + "postgres"
        )
        assert code == 0 and ": ok" in out, err
        assert run(capsys, "verify", "--vault", served.url)[0] == 0
    finally:
        databases.drop_all()


def test_an_agent_token_cannot_delete_or_overwrite_a_backup(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = backed_up(served, tmp_path, capsys)
    before = stored(served.root)
    (tmp_path / "broker").mkdir()
    engine = db.connect(db.sqlite_url(tmp_path / "broker"))
    db.migrate(engine)
    tokens = Tokens(engine)
    token, _ = tokens.issue("claude-code", "session-1", "production", ("railway",))
    assert tokens.authenticate(token).environment == "production"  # a real, valid agent token
    engine.dispose()

    answers = refused(served, token)
    assert set(answers.values()) == {401}, answers
    assert_intact(served, snapshot, before, capsys)
    assert token not in (served.root / "serve.log").read_text()


def test_a_broker_credential_cannot_delete_or_overwrite_a_backup(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = backed_up(served, tmp_path, capsys)
    before = stored(served.root)
    (tmp_path / "broker").mkdir()
    engine = db.connect(db.sqlite_url(tmp_path / "broker"))
    db.migrate(engine)
    credentials = Credentials(engine, broker_keys.generate())
    credentials.add("railway-prod", "railway", "rw_live_" + os.urandom(16).hex())
    header_value = credentials.get("railway-prod").value.reveal()  # "Bearer rw_live_…"
    engine.dispose()
    plaintext = header_value.split(" ", 1)[1]

    answers = refused(served, plaintext)
    assert set(answers.values()) == {401}, answers
    assert_intact(served, snapshot, before, capsys)
    assert plaintext not in (served.root / "serve.log").read_text()


def test_the_writer_token_cannot_delete_or_overwrite_a_backup(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = backed_up(served, tmp_path, capsys)
    before = stored(served.root)

    answers = refused(served, served.writer)
    assert answers == {
        "DELETE snapshots": 405,
        "DELETE objects": 405,
        "DELETE config": 405,
        "PUT snapshots": 405,
        "PATCH snapshots": 405,
        "POST snapshots": 400,  # other bytes under a name that is not their hash
        "POST objects": 400,
        "POST config": 409,
        "POST admin": 403,
    }
    # The very same bytes again: 409, the stored file is not touched.
    data = before[f"snapshots/{snapshot}"]
    response = httpx.post(
        f"{served.url}/v1/snapshots/{snapshot}",
        content=data,
        headers={"authorization": f"Bearer {served.writer}"},
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "exists"
    assert_intact(served, snapshot, before, capsys)

    log = (served.root / "serve.log").read_text()
    assert served.writer not in log and served.admin not in log
    refusals = [json.loads(line) for line in log.splitlines() if '"refused' in line]
    assert len(refusals) == 10 and {r["credential"] for r in refusals} == {"nightly"}


def test_the_admin_key_cannot_delete_through_the_api_verbs_either(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = backed_up(served, tmp_path, capsys)
    before = stored(served.root)
    answers = refused(served, served.admin)
    assert {k: v for k, v in answers.items() if not k.startswith("POST")} == {
        "DELETE snapshots": 405,
        "DELETE objects": 405,
        "DELETE config": 405,
        "PUT snapshots": 405,
        "PATCH snapshots": 405,
    }
    assert answers["POST snapshots"] == 400 and answers["POST config"] == 409
    assert answers["POST admin"] == 422  # a deletion request without a reason is refused
    assert_intact(served, snapshot, before, capsys)


def test_a_revoked_writer_is_refused_at_once(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backed_up(served, tmp_path, capsys)
    access.revoke_writer(served.root, "nightly")
    code, _, err = run(capsys, "list", "--vault", served.url)
    assert code == 1 and "refused the credential in INTERLOCK_VAULT_TOKEN (401)" in err
    assert served.writer not in err


def test_429_after_twenty_failures_a_minute(served: Served) -> None:
    wrong = {"authorization": "Bearer ilvw_" + "A" * 43}
    with httpx.Client(base_url=served.url, timeout=10) as client:
        codes = [client.get("/v1/config", headers=wrong).status_code for _ in range(25)]
        assert codes == [401] * 20 + [429] * 5
        limited = client.get("/v1/config", headers=wrong)
        assert limited.headers["retry-after"] == "60"
        # The real writer still gets through: an agent on the same host cannot lock it out.
        ok = client.get("/v1/snapshots/", headers={"authorization": f"Bearer {served.writer}"})
        assert ok.status_code == 200 and ok.json() == {"names": []}
    log = [json.loads(line) for line in (served.root / "serve.log").read_text().splitlines()]
    assert [entry["status"] for entry in log] == [401] * 20 + [429]


def test_uploads_are_checked_against_their_name_and_size(served: Served) -> None:
    body = os.urandom(1000)
    name = hashlib.sha256(body).hexdigest()
    headers = {"authorization": f"Bearer {served.writer}"}
    with httpx.Client(base_url=served.url, headers=headers, timeout=30) as client:
        wrong = client.post(f"/v1/objects/{'0' * 64}", content=body)
        assert wrong.status_code == 400 and "SHA-256" in wrong.json()["error"]["message"]
        assert client.post("/v1/objects/NOTAHASH", content=body).status_code == 400
        assert client.post("/v1/elsewhere/" + name, content=body).status_code == 404
        assert client.head(f"/v1/objects/{name}").status_code == 404
        assert client.post(f"/v1/objects/{name}", content=body).status_code == 201
        assert client.head(f"/v1/objects/{name}").headers["content-length"] == "1000"
        assert client.get(f"/v1/objects/{name}").content == body
        assert client.get("/v1/objects/").json() == {"names": [name]}
        big = b"x" * (16 * 1024 * 1024 + 1)
        too_big = client.post(f"/v1/objects/{hashlib.sha256(big).hexdigest()}", content=big)
        assert too_big.status_code == 413
        assert client.post("/v1/config", content=b"not json").status_code == 400
    assert not (served.root / "config").exists()
    assert [p.name for p in (served.root / "objects").rglob("*/*")] == [name]


def test_a_folder_holding_the_vault_key_is_not_served(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    root.mkdir()
    access.add_writer(root, "nightly")
    (root / "vault.key").write_text(base64.b64encode(os.urandom(32)).decode())
    result = subprocess.run(
        serve_command(root, f"127.0.0.1:{free_port()}"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "must not hold the key that opens it" in result.stderr
    assert "INTERLOCK_VAULT_KEY_FILE" in result.stderr


def test_a_key_copied_into_the_served_folder_stops_the_serving(served: Served) -> None:
    (served.root / "vault.key").write_text(base64.b64encode(os.urandom(32)).decode())
    headers = {"authorization": f"Bearer {served.writer}"}
    body = b"sealed bytes"
    answer = httpx.post(
        f"{served.url}/v1/objects/{hashlib.sha256(body).hexdigest()}", content=body, headers=headers
    )
    assert answer.status_code == 503 and "vault.key" in answer.json()["error"]["message"]
    assert httpx.get(f"{served.url}/v1/snapshots/", headers=headers).status_code == 503
    assert not (served.root / "objects").exists()


def test_a_folder_without_credentials_is_not_served(tmp_path: Path) -> None:
    result = subprocess.run(
        serve_command(tmp_path, f"127.0.0.1:{free_port()}"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1 and "has no credentials" in result.stderr


def test_access_commands_print_each_token_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "new-vault"
    code, out, _ = run(capsys, "access", "init", "--vault", str(root))
    assert code == 0 and out.startswith("ilva_") and access.check(root, out.strip()) == "admin"
    assert root.stat().st_mode & 0o777 == 0o700
    code, out, _ = run(capsys, "access", "writer-add", "backup-job", "--vault", str(root))
    token = out.strip()
    assert code == 0 and access.check(root, token) == "writer"
    code, out, _ = run(capsys, "access", "list", "--vault", str(root))
    assert code == 0 and "backup-job" in out and "active" in out and token not in out
    assert run(capsys, "access", "writer-revoke", "backup-job", "--vault", str(root))[0] == 0
    assert access.check(root, token) is None
    code, _, err = run(capsys, "access", "init", "--vault", str(root))
    assert code == 1 and "already has an admin key" in err


def _events(tmp_path: Path) -> list[str]:
    engine = db.connect(db.sqlite_url(tmp_path / ".interlock"))
    try:
        with engine.connect() as conn:
            return [r.kind for r in conn.execute(sa.select(db.events).order_by(db.events.c.seq))]
    finally:
        engine.dispose()


def test_the_admin_key_asks_for_a_deletion_that_waits_and_a_writer_cancels_it(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = backed_up(served, tmp_path, capsys)
    before = stored(served.root)
    admin = {"authorization": f"Bearer {served.admin}"}
    writer = {"authorization": f"Bearer {served.writer}"}
    with httpx.Client(base_url=served.url, timeout=30) as client:
        asked = client.post(
            "/v1/admin/deletions", json={"snapshot": snapshot[:12], "reason": "old"}, headers=admin
        )
        assert asked.status_code == 201, asked.text
        made = asked.json()
        assert made["snapshot"] == snapshot and made["due"] - made["requested"] >= 72 * 3600
        assert made["by"].startswith("admin key (vault serve, from 127.0.0.1)")
        short = client.post(
            "/v1/admin/deletions",
            json={"snapshot": snapshot, "reason": "now", "cooling_off_seconds": 60},
            headers=admin,
        )
        assert short.status_code == 422 and "floor" in short.json()["error"]["message"]
        listed = client.get("/v1/deletions", headers=writer).json()["pending"]
        assert [p["id"] for p in listed] == [made["id"]]
        assert_intact(served, snapshot, before, capsys)  # a request removes nothing

        cancelled = client.post(f"/v1/deletions/{made['id']}/cancel", headers=writer)
        assert cancelled.status_code == 200, cancelled.text
        assert client.get("/v1/deletions", headers=writer).json() == {"pending": []}
    assert _events(tmp_path) == ["vault.deletion_requested", "vault.deletion_cancelled"]
    assert_intact(served, snapshot, before, capsys)
    log = (served.root / "serve.log").read_text()
    assert served.admin not in log and served.writer not in log
    assert '"deletion requested"' in log and '"deletion cancelled"' in log


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (PEM files; the key 0600)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "interlock vault test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "vault.crt", folder / "vault.tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def test_https_with_a_certificate_the_client_is_told_to_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "vault"
    root.mkdir()
    monkeypatch.setenv(TOKEN_ENV, access.add_writer(root, "nightly"))
    key_file = tmp_path / "client.key"
    key_file.write_text(base64.b64encode(os.urandom(32)).decode())
    key_file.chmod(0o600)
    monkeypatch.setenv(FILE_ENV, str(key_file))
    cert, tls_key = _self_signed(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    command = [*serve_command(root, f"127.0.0.1:{port}"), "--tls-cert", str(cert)]
    process = subprocess.Popen([*command, "--tls-key", str(tls_key)], env=env)
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/v1/config", verify=False, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        source = sqlite_db(tmp_path / "app.db", rows=10)
        code, _, err = run(capsys, "backup", "--vault", url, "--sqlite", str(source), "--name", "a")
        assert code == 1 and "certificate of the vault" in err and "INTERLOCK_VAULT_CA_FILE" in err
        assert not (root / "config").exists()
        monkeypatch.setenv(CA_ENV, str(cert))
        code, _, err = run(capsys, "backup", "--vault", url, "--sqlite", str(source), "--name", "a")
        assert code == 0, err
        assert run(capsys, "verify", "--vault", url)[0] == 0
    finally:
        # The clients main() made are unreachable now; collecting them closes their
        # keep-alive connections, which a stopping server would otherwise wait for.
        gc.collect()
        process.terminate()
        process.wait(timeout=10)

    tls_key.chmod(0o644)
    result = subprocess.run(
        [*command, "--tls-key", str(tls_key)], capture_output=True, text=True, env=env, timeout=30
    )
    assert result.returncode == 1 and "open to other users" in result.stderr


def test_a_lock_only_grows_and_the_client_cannot_remove(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = backed_up(served, tmp_path, capsys)
    before = stored(served.root)
    backend = RestBackend(served.url, served.writer)
    until = backend.locked_until("snapshots", snapshot)
    assert until is not None and until == LocalBackend(served.root).locked_until(
        "snapshots", snapshot
    )
    with pytest.raises(ObjectLocked, match="would shorten it"):
        backend.extend_lock("snapshots", snapshot, until - timedelta(days=1))
    later = until + timedelta(days=1)
    backend.extend_lock("snapshots", snapshot, later)
    assert backend.locked_until("snapshots", snapshot) == later
    with pytest.raises(VaultError, match="at most 3650 days"):
        backend.extend_lock("snapshots", snapshot, datetime.now(UTC) + timedelta(days=4000))
    with pytest.raises(VaultError, match="not in the vault"):
        backend.extend_lock("snapshots", "0" * 64, later)
    with pytest.raises(VaultError, match="cannot remove anything through its API"):
        backend.remove("snapshots", snapshot)
    headers = {"authorization": f"Bearer {served.writer}"}
    path = f"{served.url}/v1/locks/snapshots/{snapshot}"
    assert (
        httpx.post(path, json={"until": "2030-01-01T00:00:00"}, headers=headers).status_code == 400
    )
    assert httpx.delete(path, headers=headers).status_code == 405
    assert httpx.post(path, json={"until": later.isoformat()}).status_code == 401
    backend.close()
    assert_intact(served, snapshot, before, capsys)
    assert LocalBackend(served.root).locked_until("snapshots", snapshot) == later
