from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from interlock.vault import Repository, open_local
from interlock.vault.keys import ENV


@pytest.fixture(autouse=True)
def _no_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test's vault uses its own key file, never one from the developer's shell."""
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv("INTERLOCK_VAULT", raising=False)
    yield


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def repository(vault_dir: Path) -> Repository:
    repo = open_local(vault_dir, create=True)
    repo.chunk_size = 1024  # small chunks, so a few KB make a multi-object stream
    return repo
