"""Where the replay's pages land: a local PagerDuty Events API v2.

``POST /v2/enqueue`` answers as PagerDuty documents it (PagerDuty/developer-docs, "Trigger
Events"): ``202 {"status": "success", "message": "Event processed", "dedup_key": …}`` for a
well-formed event, ``400 {"status": "invalid event", "errors": […]}`` otherwise (a routing key of
32 characters, an ``event_action``, and for a trigger a payload with ``summary``, ``source`` and a
known ``severity``). Interlock's notifier is pointed here by ``url`` in ``[[server.notify]]``.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SEVERITIES = frozenset({"critical", "error", "warning", "info"})
ACTIONS = frozenset({"trigger", "acknowledge", "resolve"})


@dataclass(frozen=True)
class Page:
    action: str
    severity: str
    summary: str
    dedup_key: str


class PagerDuty:
    def __init__(self) -> None:
        self.pages: list[Page] = []
        self._lock = threading.Lock()

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v2/enqueue", self.enqueue, methods=["POST"])])

    def triggered(self) -> list[Page]:
        with self._lock:
            return [p for p in self.pages if p.action == "trigger"]

    async def enqueue(self, request: Request) -> JSONResponse:
        try:
            event = json.loads(await request.body())
        except ValueError:
            return _invalid("Event object is invalid")
        errors = event_errors(event)
        if errors:
            return _invalid(*errors)
        payload = event.get("payload") or {}
        key = str(event.get("dedup_key") or uuid.uuid4().hex)
        with self._lock:
            self.pages.append(
                Page(
                    str(event["event_action"]),
                    str(payload.get("severity", "")),
                    str(payload.get("summary", "")),
                    key,
                )
            )
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": key},
            status_code=202,
        )


def event_errors(event: Any) -> list[str]:
    if not isinstance(event, dict):
        return ["Event object is invalid"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("'routing_key' must be 32 characters")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing")
        else:
            for name in ("summary", "source"):
                if not isinstance(payload.get(name), str) or not payload[name]:
                    errors.append(f"'payload.{name}' is missing")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid")
    elif not event.get("dedup_key"):
        errors.append("'dedup_key' is required for acknowledge and resolve")
    return errors


def _invalid(*errors: str) -> JSONResponse:
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)},
        status_code=400,
    )
