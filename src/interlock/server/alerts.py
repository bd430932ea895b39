"""``POST /api/v1/alerts``: a hook reports a honeytoken used by an agent session (issue 6).

A hook that sees an agent session use a decoy credential (docs/honeytokens.md) posts the
alert here. Agents hold no credential, so, like filing a request, the endpoint needs none;
what it sets off only ever stops work, never starts any. In this order:

1. the session's kill file in the server's data folder (:func:`killswitch.kill_session`), so
   hooks that read that folder (``INTERLOCK_HOME``) deny the session too;
2. every live Interlock token of the session is suspended (``Tokens.suspend_session``): the
   gateway refuses them from then on, whatever the hook saw;
3. an ``events`` row of kind ``honeytoken`` (an alert, ``request_id`` null, ``detail`` with a
   one-line ``summary``): the live stream shows it and the notification outbox sends it
   (notify.py, messages.ALERTS: PagerDuty ``critical``, Slack, webhook ``alert.honeytoken``);
4. an audit record.

A forged alert can page people and stop a session it names; it cannot allow anything. When the
server holds the honeytoken registry (its data folder or the project's ``.interlock/``), an
alert whose fingerprint matches a planted value is marked ``verified``.

Every string from the caller is length-checked and masked; only a masked value (four
characters and ``****``) and the value's SHA-256 are accepted, never the value.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock import honeytokens, killswitch
from interlock.secrets import MASK, mask
from interlock.server import db
from interlock.server.app import API, State, body_json, register_routes, state_of

KIND = "honeytoken"
_LIMITS = {
    "agent": 100,
    "session": 200,
    "file": 500,
    "token_kind": 200,
    "how": 300,
    "masked": 20,
    "project": 1000,
    "user": 100,
}
_FINGERPRINT = re.compile(r"^(?:[0-9a-f]{64})?$")


def honeytoken(state: State, data: dict[str, Any]) -> dict[str, Any]:
    """Kill file, token suspension, events row, audit: a hook's honeytoken report, acted on.
    Returns the event's detail."""
    from interlock.broker.tokens import Tokens

    got = {name: _text(data, name, limit) for name, limit in _LIMITS.items()}
    session = data.get("session")
    fingerprint = data.get("fingerprint") or ""
    if not isinstance(fingerprint, str) or not _FINGERPRINT.match(fingerprint):
        raise HTTPException(400, "fingerprint must be the value's SHA-256 in hex, or empty")
    where = got["file"] or "an unknown file"
    agent = got["agent"] or "an agent"
    decoy = got["token_kind"] or "decoy credentials"
    killswitch.kill_session(
        state.settings.data_dir,
        session,
        {"by": KIND, "reason": f"it used decoy credentials planted in {where}", "agent": agent},
    )
    suspended = 0
    if session:
        tokens = Tokens(state.service.engine, state.service.clock, audit=state.service.audit)
        reason = f"honeytoken planted in {where} used ({decoy})"
        suspended = len(tokens.suspend_session(str(session), reason))
    detail = {
        "summary": (
            f"HONEYTOKEN: {agent} used {decoy} planted as a decoy in {where} "
            f"({got['how'] or 'its value was in the call'}); its session is stopped and "
            f"{suspended} Interlock token(s) of it suspended"
        ),
        "file": where,
        "decoy": decoy,
        "agent": agent,
        "session": session,
        "masked": f"{got['masked'][:4]}…{MASK}" if got["masked"] else "",
        "how": got["how"],
        "verified": _verified(state, fingerprint),
        "suspended": suspended,
        "user": got["user"],
        "project": got["project"],
    }
    detail = {k: mask(v) if isinstance(v, str) else v for k, v in detail.items()}
    _raise(state, agent, detail)
    return detail


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise HTTPException(400, f"{name} must be a string of at most {limit} characters")
    return value


def _verified(state: State, fingerprint: str) -> bool | None:
    """Whether the fingerprint is a value planted here; None when the server holds no registry
    or the alert carries none (a decoy file was used, not a value)."""
    registries = honeytokens.planted(
        state.settings.policy.project_root, data_dir=state.settings.data_dir
    )
    if not registries or not fingerprint:
        return None
    return any(
        hashlib.sha256(value.encode()).hexdigest() == fingerprint
        for registry in registries
        for value, _, _ in registry.values
    )


def _raise(state: State, actor: str, detail: dict[str, Any]) -> None:
    """The events row (committed first: every replica's notifier reads ``events``), the audit
    record, then this replica's listeners, which wake its notifier at once."""
    service = state.service
    with db.transaction(service.engine) as conn:
        db.insert_event(conn, at=service.clock(), kind=KIND, actor=actor[:200], detail=detail)
    if service.audit is not None:
        service.audit.append(
            {"type": "alert", "event": KIND, "actor": {"name": actor}, "detail": detail}
        )
    for listener in service.listeners:
        listener(KIND, {"request_id": None, "actor": actor, **detail})


async def post_alert(request: Request) -> Response:
    """``{"kind": "honeytoken", "agent", "session", "file", "token_kind", "how", "masked",
    "fingerprint", "project", "user"}``; 201 with what the server did."""
    data = await body_json(request)
    if data.get("kind") != KIND:
        raise HTTPException(400, "kind must be honeytoken")
    if data.get("session") is not None and not isinstance(data.get("session"), str):
        raise HTTPException(400, "session must be a string or null")
    detail = await run_in_threadpool(honeytoken, state_of(request), data)
    return JSONResponse(
        {"suspended": detail["suspended"], "verified": detail["verified"]}, status_code=201
    )


register_routes(lambda: [Route(f"{API}/alerts", post_alert, methods=["POST"])])
