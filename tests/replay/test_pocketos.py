"""`interlock replay pocketos` end to end: real PostgreSQL, the real hook, `interlock serve`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from interlock.cli import main
from interlock.replay import pocketos


def test_replay_loses_everything_without_interlock_and_nothing_with_it(tmp_path: Path) -> None:
    lines: list[str] = []
    result = pocketos.replay(lines.append, tmp_path)
    printed = "\n".join(lines)
    without, with_ = printed.split("── with Interlock")
    # Without Interlock: the incident's steps, and PostgreSQL confirms the loss.
    assert "Not Authorized" in without  # the credential mismatch
    assert "found a Railway token in ops/custom-domains/railway.env" in without
    assert (
        "volumeDelete by token 'custom-domains-cli': deleted volume instance in production"
        in without
    )
    assert "production database: GONE" in without
    assert "production backup weekly-2026-04-20: GONE" in without
    assert "ok   loss reproduced" in without
    # With Interlock: each layer's line, and nothing lost.
    for line in (
        "scanner    ok   interlock scan flags ops/custom-domains/railway.env:2",
        "scanner    ok   interlock scan --move",
        "honeytoken ok   decoys planted",
        "hook       ok   the hook stopped the token search",
        "gateway    ok   the staging token cannot reach the production volume",
        "honeytoken ok   the decoy from",
        "railway    ok   the decoy opens nothing at Railway",
        "hook       ok   the hook stopped the stopped session's next call",
        "gateway    ok   the stopped session's Interlock token is refused",
        "pagerduty  ok   paged: the token search, filed for approval",
        "pagerduty  ok   paged: the staging token aimed at production",
        "pagerduty  ok   paged: the decoy used",
        "postgres   ok   nothing lost: 5 databases",
        "vault      ok   scheduled backup of the production database: snapshot",
    ):
        assert line in with_, line
    # The last act: deleted by force outside Interlock, restored from the vault, RPO and RTO.
    with_, last = with_.split("── the last act")
    assert (
        "volumeDelete by token 'custom-domains-cli': deleted volume instance in production" in last
    )
    assert "postgres   ok   production database and Railway's backups of it: GONE" in last
    restored = re.search(
        r"vault      ok   restored snapshot \w{12} into a new database: ([\d,]+) rows", last
    )
    assert restored is not None, last
    assert int(restored.group(1).replace(",", "")) == 2840
    figures = re.search(
        r"vault      ok   RPO (\d+\.\d) s \(backup taken at [\d:]{8} UTC\), RTO (\d+\.\d) s", last
    )
    assert figures is not None, last
    assert 0 < float(figures.group(1)) < 600 and 0 < float(figures.group(2)) < 120
    assert "FAIL" not in with_ and "FAIL" not in last
    assert result.reproduced and result.protected and result.passed
    # Neither the Railway tokens, nor the decoys, nor the Interlock token were printed.
    assert result.timeline.secrets
    for secret in result.timeline.secrets:
        assert secret not in printed


def test_the_last_act_fails_when_the_restore_is_not_what_production_held(tmp_path: Path) -> None:
    """Rows written after the backup are lost with the volume: the restore does not match what
    production held, and the last act (so the replay) fails rather than claiming a recovery."""
    import psycopg

    from interlock.replay.databases import Cluster
    from interlock.replay.timeline import Timeline, checker

    cluster = Cluster(prefix="interlock_replay_test")
    lines: list[str] = []
    try:
        world = pocketos.build(cluster, tmp_path, "l")
        try:
            timeline = Timeline("last act", lines.append)
            timeline.secret(world.account_token)
            held: list[bool] = []
            backup = pocketos.scheduled_backup(timeline, world, checker(timeline, held))
            assert backup is not None and held == [True]
            production = cluster.url_of(world.databases["production database"])
            with psycopg.connect(production, autocommit=True) as db:
                db.execute("UPDATE customers SET email = 'changed@after.backup' WHERE id = 1")
            changed = cluster.contents(world.databases["production database"])
            assert changed is not None and changed != world.before["production database"]
            world.before["production database"] = changed  # what production held when deleted
            assert pocketos.last_act(timeline, world, backup) is False
        finally:
            world.close()
    finally:
        cluster.close()
    printed = "\n".join(lines)
    assert "production database and Railway's backups of it: GONE" in printed
    assert "FAIL the restored database differs from production" in printed
    assert world.account_token not in printed
    assert cluster.ours() == []


def test_world_holds_real_data_and_the_stray_token(tmp_path: Path) -> None:
    from interlock.replay.databases import Cluster

    cluster = Cluster(prefix="interlock_replay_test")
    try:
        world = pocketos.build(cluster, tmp_path, "w")
        try:
            assert world.before["production database"].rows["reservations"] == 1200
            assert len(world.before) == 5
            stray = (world.repo / pocketos.STRAY_FILE).read_text()
            assert world.account_token in stray
            found = pocketos.tokens_found(f"./{pocketos.STRAY_FILE}:2:{stray.splitlines()[1]}")
            assert found == [(pocketos.STRAY_FILE, world.account_token)]
            assert world.lost() == []
        finally:
            world.close()
    finally:
        cluster.close()
    assert cluster.ours() == []


def test_cli_without_postgresql_is_an_error_not_a_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", "pocketos", "--pg", "postgresql://postgres@127.0.0.1:1/postgres"])
    assert code == 1
    assert "cannot reach PostgreSQL" in capsys.readouterr().err
