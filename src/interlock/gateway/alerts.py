"""Alerts the gateway raises: an ``events`` row that notifications turn into a page.

In PocketOS the attempt itself was the signal (../shared/notes/anchors.md §6): a staging agent
reaching for production's volume should wake someone even though it was denied. Kinds:

- ``gateway_env_mismatch``: a request named a target outside its token's environment;
- ``gateway_velocity``: a session went over its budget of denied or destructive attempts and
  its tokens were suspended.

The row is committed first (every replica's notification worker reads ``events``, and the
dashboard's live stream shows it), then the audit record is written, then this replica's
listeners hear of it, which wakes its own notification worker at once (server/notify.py).
"""

from __future__ import annotations

from typing import Any

from interlock.server import db
from interlock.server.approvals import ApprovalService

__all__ = ["ENV_MISMATCH", "VELOCITY", "raise_alert"]

ENV_MISMATCH = "gateway_env_mismatch"
VELOCITY = "gateway_velocity"


def raise_alert(service: ApprovalService, kind: str, actor: str, detail: dict[str, Any]) -> None:
    """Record alert ``kind`` (``detail`` has a one-line ``summary``) and wake the notifiers."""
    with db.transaction(service.engine) as conn:
        db.insert_event(conn, at=service.clock(), kind=kind, actor=actor[:200], detail=detail)
    if service.audit is not None:
        service.audit.append(
            {"type": "gateway", "event": kind, "actor": {"name": actor}, "detail": detail}
        )
    for listener in service.listeners:
        listener(kind, {"request_id": None, "actor": actor, **detail})
