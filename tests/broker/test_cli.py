"""`interlock credential`, `interlock token` and `interlock env`, end to end as subprocesses.

Every output of every command, the audit log and the database file are searched for the
credential's value and the tokens: the value must be nowhere, a token only where it is handed
out (the one line of `token issue` and of `interlock env`).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from interlock.broker.tokens import Tokens
from interlock.errors import BrokerError
from interlock.server import db
from tests.server.conftest import INTERLOCK, Scratch

SECRET = "rw_live_2b7e151628aed2a6abf7158809cf4f3c"
"""What a Railway token might look like; any occurrence of it (or most of it) is a leak."""


@dataclass
class Cli:
    project: Path
    data_dir: Path
    database_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    def run(self, *args: str, stdin: str = "", code: int = 0) -> subprocess.CompletedProcess[str]:
        command = [INTERLOCK, *args, "--data-dir", str(self.data_dir)]
        if self.database_url:
            command += ["--database-url", self.database_url]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
        environ.update(self.env)
        done = subprocess.run(
            command,
            cwd=self.project,
            env=environ,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.seen += [done.stdout, done.stderr]
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done

    def engine(self) -> sa.Engine:
        return db.connect(self.database_url or db.sqlite_url(self.data_dir))


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    return Cli(project=project, data_dir=tmp_path / "data")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_cli(request: pytest.FixtureRequest, cli: Cli) -> Cli:
    if request.param == "postgresql":
        scratch: Scratch = request.getfixturevalue("pg_scratch")
        cli.database_url = scratch.create()
    return cli


def _absent(text: str, *values: str) -> None:
    for value in values:
        assert value not in text
        assert value[4:] not in text
        assert value[-12:] not in text


def test_credentials_and_tokens_end_to_end(any_cli: Cli) -> None:
    cli = any_cli
    added = cli.run(
        "credential", "add", "railway-staging", "--upstream", "railway", "--value-stdin",
        stdin=SECRET + "\n",
    )  # fmt: skip
    assert "rw_l…****" in added.stdout
    key_file = cli.data_dir / "broker.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    listing = cli.run("credential", "list").stdout
    assert "railway-staging" in listing and "Bearer rw_l…****" in listing
    assert "1 credential(s) decrypt" in cli.run("credential", "verify").stdout

    issued = cli.run(
        "token", "issue", "--env", "staging", "--upstream", "railway", "--agent", "claude-code",
        "--session", "s-1", "--ttl", "600", "--operation", "volume.*", "--label", "ci",
    )  # fmt: skip
    token = issued.stdout.strip()
    assert re.fullmatch(r"ilk_[A-Za-z0-9_-]{43}", token), "stdout is the token alone"
    assert "session s-1" in issued.stderr and token not in issued.stderr

    exported = cli.run("env", "--env", "staging", "--session", "s-2").stdout
    lines = dict(
        re.findall(r"^export (\w+)=(.*)$", exported, flags=re.MULTILINE),
    )
    assert lines["INTERLOCK_ENV"] == "staging"
    assert lines["RAILWAY_URL"] == "http://127.0.0.1:8470/gateway/railway"
    env_token = lines["INTERLOCK_TOKEN"]
    assert env_token.startswith("ilk_") and env_token != token

    engine = cli.engine()
    try:
        tokens = Tokens(engine)
        first = tokens.authenticate(token)
        assert (first.environment, first.upstreams, first.operations, first.label) == (
            "staging",
            ("railway",),
            ("volume.*",),
            "ci",
        )
        assert first.expires_at - first.created_at == 600
        second = tokens.authenticate(env_token)
        assert second.session == "s-2" and second.upstreams == ("railway",)

        listed = cli.run("token", "list").stdout
        assert first.id in listed and second.id in listed
        cli.run("token", "revoke", first.id)
        with pytest.raises(BrokerError, match="revoked"):
            tokens.authenticate(token)
        assert first.id not in cli.run("token", "list").stdout
        assert first.id in cli.run("token", "list", "--all").stdout
        assert "1 token(s)" in cli.run("token", "suspend", "--session", "s-2").stdout
        with pytest.raises(BrokerError, match="suspended"):
            tokens.authenticate(env_token)
        assert "no active tokens" in cli.run("token", "list", "--session", "s-2").stdout
    finally:
        engine.dispose()

    cli.run("credential", "remove", "railway-staging")
    assert "no credentials" in cli.run("credential", "list").stdout

    handed_out = {issued.stdout, exported}
    _absent("".join(cli.seen), SECRET)
    _absent("".join(t for t in cli.seen if t not in handed_out), token, env_token)
    audit_log = (cli.data_dir / "audit.jsonl").read_text()
    _absent(audit_log, SECRET, token, env_token)
    events = re.findall(r'"event":"(\w+)"', audit_log)
    assert events == [
        "credential_added",
        "token_issued",
        "token_issued",
        "token_revoked",
        "token_suspended",
        "credential_removed",
    ]
    if cli.database_url is None:  # the SQLite file and its WAL, byte for byte
        stored = b"".join(p.read_bytes() for p in cli.data_dir.glob("interlock.db*"))
        for value in (SECRET, token, env_token):
            assert value.encode() not in stored and value[4:].encode() not in stored


def test_a_wrong_key_is_refused_with_a_clear_error(cli: Cli) -> None:
    cli.run("credential", "add", "gh", "--upstream", "github", "--value-stdin", stdin=SECRET)
    cli.env["INTERLOCK_BROKER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    verified = cli.run("credential", "verify", code=1)
    assert "stored under another broker key" in verified.stdout
    assert "cannot be decrypted" in verified.stderr
    added = cli.run(
        "credential", "add", "aws", "--upstream", "aws", "--value-stdin", stdin=SECRET, code=1
    )
    assert "another broker key" in added.stderr
    cli.env["INTERLOCK_BROKER_KEY"] = "bm90IGEga2V5"
    assert "does not hold a broker key" in cli.run("credential", "verify", code=1).stderr
    _absent("".join(cli.seen), SECRET)


def test_a_key_file_open_to_others_is_refused(cli: Cli) -> None:
    cli.run("credential", "add", "gh", "--upstream", "github", "--value-stdin", stdin=SECRET)
    (cli.data_dir / "broker.key").chmod(0o644)
    refused = cli.run("credential", "verify", code=1)
    assert "open to other users (mode 0644); refusing" in refused.stderr
    cli.run("credential", "add", "aws", "--upstream", "aws", "--value-stdin", stdin=SECRET, code=1)
    _absent("".join(cli.seen), SECRET)


def test_env_names_the_public_url_and_needs_an_upstream(cli: Cli) -> None:
    assert "no upstream to give the session" in cli.run("env", "--env", "staging", code=1).stderr
    (cli.project / "interlock.toml").write_text(
        '[server]\npublic_url = "https://interlock.example.com"\n'
    )
    exported = cli.run("env", "--env", "staging", "--upstream", "aws.s3").stdout
    assert "export AWS_S3_URL=https://interlock.example.com/gateway/aws.s3" in exported


def test_bad_input_is_refused_without_echoing_the_value(cli: Cli) -> None:
    refused = cli.run(
        "credential", "add", "gh", "--upstream", "github", "--value-stdin",
        stdin=" " + SECRET + " \n", code=1,
    )  # fmt: skip
    assert "surrounding spaces" in refused.stderr
    cli.run("token", "issue", "--env", "staging", "--upstream", "railway", "--ttl", "9999999",
            code=1)  # fmt: skip
    _absent("".join(cli.seen), SECRET)
