"""`interlock replay pocketos` end to end: real PostgreSQL, the real hook, `interlock serve`."""

from __future__ import annotations

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
    ):
        assert line in with_, line
    assert "FAIL" not in with_
    assert result.reproduced and result.protected and result.passed
    # Neither the Railway tokens, nor the decoys, nor the Interlock token were printed.
    assert result.timeline.secrets
    for secret in result.timeline.secrets:
        assert secret not in printed


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
