"""What an agent is about to do, as typed values.

Every enforcement point (a hook, `interlock check`, later the gateways) turns what it sees into
one of these and hands it to :func:`interlock.engine.decide`. They are frozen and carry no
behaviour beyond a stable digest, which binds a decision (and later an approval) to the exact
action.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ActionKind = Literal["shell", "sql", "http", "terraform_plan", "tool_call"]


@dataclass(frozen=True)
class Actor:
    """Who asked: the agent (claude-code, cursor, codex, gemini, cli) and its session."""

    agent: str | None = None
    session: str | None = None


@dataclass(frozen=True, kw_only=True)
class _Base:
    env: str | None = None
    """The environment the action targets, when the caller knows it (``--env production``)."""
    cwd: str | None = None
    actor: Actor = field(default_factory=Actor)

    kind: str = "action"

    def payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def digest(self) -> str:
        """SHA-256 over the canonical JSON of kind, payload, environment and working directory.

        The actor is left out on purpose: the same command from another session is the same
        action. Lone surrogates (JSON may carry ``"\\ud800"``) are hashed in their three-byte
        form instead of raising: every ``str`` has a digest, and different strings different ones.
        """
        canonical = json.dumps(
            {"kind": self.kind, "payload": self.payload(), "env": self.env, "cwd": self.cwd},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        )
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class ShellAction(_Base):
    command: str
    kind: str = "shell"

    def payload(self) -> dict[str, Any]:
        return {"command": self.command}


@dataclass(frozen=True, kw_only=True)
class SqlAction(_Base):
    sql: str
    dialect: str = "postgres"
    """postgres, mysql, sqlite, redis or mongodb: which client the statement goes to."""
    kind: str = "sql"

    def payload(self) -> dict[str, Any]:
        return {"sql": self.sql, "dialect": self.dialect}


@dataclass(frozen=True, kw_only=True)
class HttpAction(_Base):
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    kind: str = "http"

    def payload(self) -> dict[str, Any]:
        return {
            "method": self.method.upper(),
            "url": self.url,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": self.body,
        }


@dataclass(frozen=True, kw_only=True)
class TerraformPlanAction(_Base):
    plan: Mapping[str, Any]
    """The output of ``terraform show -json PLANFILE``."""
    kind: str = "terraform_plan"

    def payload(self) -> dict[str, Any]:
        return {"plan": dict(self.plan)}


ToolOperation = Literal["read", "write", "call"]


@dataclass(frozen=True, kw_only=True)
class ToolCallAction(_Base):
    """A file read or write by an agent's own tool, or an MCP tool call."""

    tool: str
    operation: ToolOperation
    path: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "tool_call"

    def payload(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "operation": self.operation,
            "path": self.path,
            "arguments": dict(self.arguments),
        }


Action = ShellAction | SqlAction | HttpAction | TerraformPlanAction | ToolCallAction
