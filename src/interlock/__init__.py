"""Interlock: one decision point between AI coding agents and production.

The public API, importable from here::

    from interlock import ShellAction, decide, load_policy
    decision = decide(ShellAction(command="rm -rf ~", cwd="/srv/app"), load_policy("/srv/app"))
    decision.verdict, decision.message()

Names load on first use (PEP 562): the hook's fast path imports this package and must not pay
for the decision engine it hands its work to.
"""

from __future__ import annotations

import importlib

# Not `from typing import TYPE_CHECKING`: importing typing at all costs the hook's fast path
# about 7 ms of its 20 ms (bench/). mypy honours a module-level TYPE_CHECKING constant.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Action": "interlock.actions",
    "Actor": "interlock.actions",
    "HttpAction": "interlock.actions",
    "ShellAction": "interlock.actions",
    "SqlAction": "interlock.actions",
    "TerraformPlanAction": "interlock.actions",
    "ToolCallAction": "interlock.actions",
    "Decision": "interlock.decisions",
    "Finding": "interlock.decisions",
    "Reason": "interlock.decisions",
    "Verdict": "interlock.decisions",
    "Policy": "interlock.config",
    "Rule": "interlock.config",
    "load_policy": "interlock.config",
    "parse_policy": "interlock.config",
    "analyze": "interlock.engine",
    "decide": "interlock.engine",
    "InterlockError": "interlock.errors",
    "ConfigError": "interlock.errors",
    "HookInputError": "interlock.errors",
    "AuditError": "interlock.errors",
    "AuditTamperError": "interlock.errors",
    "SetupError": "interlock.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'interlock' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
