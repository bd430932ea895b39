"""Fixtures for the end-to-end suite: a temporary project and HOME, the pinned client binaries.

``make test`` installs the clients (``make e2e-clients``) and sets ``INTERLOCK_E2E=require``,
so a missing client fails the run. A bare ``pytest`` without them skips these tests and says
how to get them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.clients import CLIENTS, TIMINGS, Client, Sandbox, binary, netns_available


def client_exe(name: str) -> Path:
    exe = binary(name)
    if exe is None:
        message = f"{name} is not installed for the end-to-end suite: run `make e2e-clients`"
        if os.environ.get("INTERLOCK_E2E") == "require":
            pytest.fail(message)
        pytest.skip(message)
    return exe


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    yield Sandbox.make(tmp_path)


def agent_params(*, all_modes: bool = True) -> list[object]:
    """(client, mode) pairs: every mode that matters, or one mode per client."""
    out: list[object] = []
    for client in CLIENTS.values():
        modes = client.modes if all_modes else client.modes[:1]
        out += [pytest.param(client, mode, id=f"{client.name}-{mode}") for mode in modes]
    return out


def installed(client: Client, box: Sandbox) -> Path:
    exe = client_exe(client.name)
    client.install_hook(box)
    return exe


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    total = sum(seconds for _, seconds in TIMINGS)
    where = "a private network namespace (unshare -n)" if netns_available() else "loopback only"
    terminalreporter.write_sep("-", "end-to-end agent sessions")
    terminalreporter.write_line(
        f"{len(TIMINGS)} client sessions in {where}: {total:.1f} s in total, "
        f"slowest {max(s for _, s in TIMINGS):.1f} s"
    )
    per_client: dict[str, list[float]] = {}
    for label, seconds in TIMINGS:
        per_client.setdefault(_client_of(label), []).append(seconds)
    for name, values in sorted(per_client.items()):
        terminalreporter.write_line(f"  {name}: {len(values)} sessions, {sum(values):.1f} s")


def _client_of(label: str) -> str:
    return label.split(" ", 1)[0]
