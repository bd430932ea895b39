"""The facade: every name in __all__ resolves, and importing the package stays cheap."""

from __future__ import annotations

import subprocess
import sys

import interlock


def test_every_exported_name_resolves() -> None:
    for name in interlock.__all__:
        assert getattr(interlock, name) is not None, name


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        interlock.nonexistent  # noqa: B018
    except AttributeError as exc:
        assert "nonexistent" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_importing_the_package_does_not_load_the_engine() -> None:
    """The hook's fast path imports `interlock`; the engine must load only when asked for."""
    code = (
        "import sys, interlock; print(sorted(m for m in sys.modules if m.startswith('interlock')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "['interlock']"


def test_facade_decides() -> None:
    policy = interlock.Policy(project_root="/home/dev/app", home="/home/dev")
    decision = interlock.decide(interlock.ShellAction(command="rm -rf ~"), policy)
    assert decision.verdict is interlock.Verdict.DENY
