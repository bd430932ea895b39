"""Shared fixtures: a fixed project and home, so verdicts do not depend on the machine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from interlock.actions import ShellAction
from interlock.config import Policy
from interlock.decisions import Decision
from interlock.engine import decide

if TYPE_CHECKING:
    from tests.vault.test_postgres import Databases

PROJECT = "/home/dev/app"
HOME = "/home/dev"


@pytest.fixture(autouse=True)
def _no_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hook processes a test starts decide in-process unless the test is about the daemon."""
    monkeypatch.setenv("INTERLOCK_DAEMON", "0")


@pytest.fixture(autouse=True)
def _no_machine_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent's AWS_PROFILE, DOCKER_HOST or kube context must not decide a test's verdict."""
    from interlock.analyzers.catalog_env import PROCESS_VARIABLES

    for name in PROCESS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KUBECONFIG", os.devnull)


@pytest.fixture
def policy() -> Policy:
    return Policy(project_root=PROJECT, home=HOME)


def shell(command: str, policy: Policy | None = None, env: str | None = None) -> Decision:
    """Decide one shell command in the fixed project."""
    return decide(
        ShellAction(command=command, cwd=PROJECT, env=env),
        policy or Policy(project_root=PROJECT, home=HOME),
    )


@pytest.fixture
def databases() -> Iterator[Databases]:
    """Scratch PostgreSQL databases made by the test, all dropped after it."""
    from tests.vault.test_postgres import Databases

    made = Databases()
    yield made
    made.drop_all()


@pytest.fixture
def trigger(monkeypatch: pytest.MonkeyPatch) -> str:
    """A pre-destroy snapshot trigger token, in the (in-process) server's environment."""
    from interlock.vault.snapshotter import FILE_ENV, TOKEN_ENV
    from tests.vault import snapshotters

    token = snapshotters.new_token()
    monkeypatch.setenv(TOKEN_ENV, token)
    monkeypatch.delenv(FILE_ENV, raising=False)
    return token
