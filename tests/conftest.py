"""Shared fixtures: a fixed project and home, so verdicts do not depend on the machine."""

from __future__ import annotations

import os

import pytest

from interlock.actions import ShellAction
from interlock.config import Policy
from interlock.decisions import Decision
from interlock.engine import decide

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
