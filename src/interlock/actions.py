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
from json.encoder import encode_basestring
from typing import Any, Literal

from interlock.frozen import quick_init

ActionKind = Literal["shell", "sql", "http", "terraform_plan", "tool_call"]

_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)
"""The digest's JSON form, built once: ``json.dumps`` made a new encoder on every decision."""


@quick_init
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
        canonical = self.canonical().encode("utf-8", "surrogatepass")
        return "sha256:" + hashlib.sha256(canonical).hexdigest()

    def canonical(self) -> str:
        """The JSON text the digest is taken over: sorted keys, no spaces, UTF-8 as is."""
        return _CANONICAL.encode(
            {"kind": self.kind, "payload": self.payload(), "env": self.env, "cwd": self.cwd}
        )


@quick_init
@dataclass(frozen=True, kw_only=True)
class ShellAction(_Base):
    command: str
    kind: str = "shell"

    def payload(self) -> dict[str, Any]:
        return {"command": self.command}

    def canonical(self) -> str:
        """The same text as the general form, written out directly: the encoder's set-up was a
        tenth of a shell decision (issue #2 item 9). Only for plain strings and None, which is
        what hooks build; anything else goes the general way."""
        cwd, env, kind, command = self.cwd, self.env, self.kind, self.command
        if not (
            type(command) is str
            and type(kind) is str
            and (cwd is None or type(cwd) is str)
            and (env is None or type(env) is str)
        ):
            return super().canonical()
        cwd_json = "null" if cwd is None else encode_basestring(cwd)
        env_json = "null" if env is None else encode_basestring(env)
        kind_json, command_json = encode_basestring(kind), encode_basestring(command)
        return (
            f'{{"cwd":{cwd_json},"env":{env_json},"kind":{kind_json},'
            f'"payload":{{"command":{command_json}}}}}'
        )


@quick_init
@dataclass(frozen=True, kw_only=True)
class SqlAction(_Base):
    sql: str
    dialect: str = "postgres"
    """postgres, mysql, sqlite, redis or mongodb: which client the statement goes to."""
    kind: str = "sql"

    def payload(self) -> dict[str, Any]:
        return {"sql": self.sql, "dialect": self.dialect}


@quick_init
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


@quick_init
@dataclass(frozen=True, kw_only=True)
class TerraformPlanAction(_Base):
    plan: Mapping[str, Any]
    """The output of ``terraform show -json PLANFILE``."""
    kind: str = "terraform_plan"

    def payload(self) -> dict[str, Any]:
        return {"plan": dict(self.plan)}


ToolOperation = Literal["read", "write", "call"]


@quick_init
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


_KINDS: dict[str, type[_Base]] = {
    "shell": ShellAction,
    "sql": SqlAction,
    "http": HttpAction,
    "terraform_plan": TerraformPlanAction,
    "tool_call": ToolCallAction,
}
_COMMON = ("env", "cwd")


def action_to_json(action: Action) -> dict[str, Any]:
    """The wire form a hook sends to the approval server: kind, payload, where, who."""
    return {
        "kind": action.kind,
        "payload": action.payload(),
        "env": action.env,
        "cwd": action.cwd,
        "actor": {"agent": action.actor.agent, "session": action.actor.session},
    }


def action_from_json(data: Mapping[str, Any]) -> Action:
    """The inverse of :func:`action_to_json`; raises ``ValueError`` on any wrong shape.

    Untrusted input (an API body), so every field is checked; the digest of the result equals
    the digest of the action that was sent.
    """
    if not isinstance(data, Mapping):
        raise ValueError("action must be an object")
    kind = data.get("kind")
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"action.kind must be one of {', '.join(_KINDS)}")
    payload = data.get("payload")
    if not isinstance(payload, Mapping):
        raise ValueError("action.payload must be an object")
    common: dict[str, Any] = {}
    for key in _COMMON:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"action.{key} must be a string or null")
        common[key] = value
    actor = data.get("actor") or {}
    if not isinstance(actor, Mapping) or any(
        v is not None and not isinstance(v, str) for v in actor.values()
    ):
        raise ValueError("action.actor must be an object of strings")
    common["actor"] = Actor(agent=actor.get("agent"), session=actor.get("session"))
    fields = {k: v for k, v in payload.items() if k in cls.__dataclass_fields__ and k != "kind"}
    if set(fields) != set(payload):
        raise ValueError(f"action.payload has fields a {kind} action does not take")
    try:
        action: Action = cls(**fields, **common)  # type: ignore[assignment]
    except TypeError as exc:
        raise ValueError(f"action.payload is incomplete: {exc}") from None
    _check_types(action)
    return action


def _check_types(action: Action) -> None:
    strings: dict[str, Any] = {}
    if isinstance(action, ShellAction):
        strings = {"command": action.command}
    elif isinstance(action, SqlAction):
        strings = {"sql": action.sql, "dialect": action.dialect}
    elif isinstance(action, HttpAction):
        strings = {"method": action.method, "url": action.url, "body": action.body}
        if not isinstance(action.headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in action.headers.items()
        ):
            raise ValueError("action.payload.headers must map strings to strings")
    elif isinstance(action, TerraformPlanAction):
        if not isinstance(action.plan, Mapping):
            raise ValueError("action.payload.plan must be an object")
    else:
        strings = {"tool": action.tool, "operation": action.operation}
        if action.path is not None and not isinstance(action.path, str):
            raise ValueError("action.payload.path must be a string or null")
        if not isinstance(action.arguments, Mapping):
            raise ValueError("action.payload.arguments must be an object")
    for name, value in strings.items():
        if not isinstance(value, str):
            raise ValueError(f"action.payload.{name} must be a string")
