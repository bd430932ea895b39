"""The ASGI application: a versioned REST API under ``/api/v1``, the dashboard, ``/health``.

Who may call what (docs/server.md, "Who can approve"):

- **agents** (hooks, later gateways) file requests (``POST /api/v1/requests``) and read a
  request's state (``GET /api/v1/requests/{id}/status``). Neither needs or accepts a secret,
  and neither can change a request's state except consuming an approval people granted.
- **approvers** sign in with a password; every other endpoint needs their session cookie, and
  every state change also needs the session's CSRF token (header ``X-CSRF-Token`` or form field
  ``csrf``).

Every error is one JSON shape: ``{"error": {"code": "...", "message": "..."}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interlock import killswitch
from interlock.actions import action_from_json
from interlock.audit import GroupCommitLog
from interlock.errors import ApprovalError
from interlock.server import db, predestroy
from interlock.server.accounts import SESSION_SECONDS, Accounts, Session
from interlock.server.approvals import STATES, ApprovalService
from interlock.server.openapi import document
from interlock.server.settings import ServerSettings

API = "/api/v1"
COOKIE = "interlock_session"
MAX_BODY = 1_000_000
SWEEP_SECONDS = 1.0


@dataclass
class State:
    settings: ServerSettings
    service: ApprovalService
    accounts: Accounts


def create_app(settings: ServerSettings) -> Starlette:
    import interlock.gateway.http  # registers /gateway/<upstream>/… and its client
    import interlock.server.alerts  # registers POST /api/v1/alerts (honeytokens)
    import interlock.server.notify  # noqa: F401  (registers /deliveries and its worker)
    from interlock.server import (
        dashboard,  # noqa: F401  (registers the dashboard's routes)
        vault_status,  # noqa: F401  (/vault/sources, freshness checks)
    )

    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = db.connect(settings.database_url, background_checkpoints=True)
    db.migrate(engine)
    audit = GroupCommitLog(settings.data_dir / "audit.jsonl")
    state = State(
        settings=settings,
        service=ApprovalService(engine, settings.policy, audit=audit),
        accounts=Accounts(engine),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # What start-up loaded (SQLAlchemy, the analyzers, their catalogs) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it while a
        # request waits.
        gc.collect()
        gc.freeze()
        tasks = [asyncio.create_task(_housekeeping(state))]
        for start in _background:
            tasks.append(asyncio.create_task(start(state)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            engine.dispose()

    routes: list[BaseRoute] = [
        Route("/health", health),
        Route(f"{API}/openapi.json", openapi),
        Route(f"{API}/requests", submit, methods=["POST"]),
        Route(f"{API}/requests", list_requests, methods=["GET"]),
        Route(f"{API}/requests/{{id}}/status", status),
        Route(f"{API}/requests/{{id}}", get_request),
        Route(f"{API}/requests/{{id}}/votes", vote, methods=["POST"]),
        Route(f"{API}/requests/{{id}}/cancel", cancel, methods=["POST"]),
        Route(f"{API}/session", sign_in, methods=["POST"]),
        Route(f"{API}/session", sign_out, methods=["DELETE"]),
        Route(f"{API}/session", whoami, methods=["GET"]),
        Route(f"{API}/killswitch", kill_state, methods=["GET"]),
        Route(f"{API}/killswitch", set_kill, methods=["POST"]),
        Route(f"{API}/events", event_stream),
    ]
    for extra in _route_providers:
        routes.extend(extra())
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(BodyLimit, limit=MAX_BODY)],
        exception_handlers={
            HTTPException: _http_error,  # type: ignore[dict-item]
            ApprovalError: _approval_error,  # type: ignore[dict-item]
            Exception: _server_error,
        },
    )
    app.state.interlock = state
    return app


# Seams for the dashboard and notifications, registered at import (see dashboard.py, notify.py).
_route_providers: list[Callable[[], list[BaseRoute]]] = []
_background: list[Callable[[State], Coroutine[Any, Any, None]]] = []


def register_routes(provider: Callable[[], list[BaseRoute]]) -> None:
    _route_providers.append(provider)


def register_background(task: Callable[[State], Coroutine[Any, Any, None]]) -> None:
    _background.append(task)


def state_of(request: Request) -> State:
    found: State = request.app.state.interlock
    return found


# --- errors ---------------------------------------------------------------------------------


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return error(exc.status_code, _CODES.get(exc.status_code, "error"), str(exc.detail))


async def _approval_error(request: Request, exc: ApprovalError) -> Response:
    return error(409, "refused", str(exc))


async def _server_error(request: Request, exc: Exception) -> Response:
    # The details go to the server's log (uvicorn prints the traceback), not to the caller.
    return error(500, "internal", "the server failed on this request; see its log")


_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "refused",
    413: "too_large",
}


class BodyLimit:
    """Refuses a body over ``limit`` bytes (413) while it arrives, before it is all in memory.

    Every route reads through it, JSON and forms alike: a declared Content-Length over the
    limit is refused at once, a chunked body as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await error(413, "too_large", "request body over 1 MB")(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, "request body over 1 MB")
            return message

        await self.app(scope, limited, send)


async def body_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise HTTPException(400, "request body is not JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "request body must be a JSON object")
    return data


# --- authentication -------------------------------------------------------------------------


async def approver(request: Request, *, write: bool) -> Session:
    """The signed-in approver; for a write, the session's CSRF token must come with it."""
    session = await run_in_threadpool(
        state_of(request).accounts.session, request.cookies.get(COOKIE)
    )
    if session is None:
        raise HTTPException(401, "sign in as an approver")
    if write:
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else None
        if not sent or not secrets.compare_digest(sent, session.csrf):
            raise HTTPException(403, "missing or wrong CSRF token")
    return session


# --- endpoints ------------------------------------------------------------------------------


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True, "time": time.time()})


async def openapi(request: Request) -> Response:
    return JSONResponse(document())


async def submit(request: Request) -> Response:
    """An agent files an action (or consumes its approval). No credential is involved."""
    data = await body_json(request)
    try:
        action = action_from_json(data.get("action"))  # type: ignore[arg-type]
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    reason = data.get("reason") or ""
    requester = data.get("requester")
    if not isinstance(reason, str) or (requester is not None and not isinstance(requester, str)):
        raise HTTPException(400, "reason and requester must be strings")
    # An approved destructive action waits for a vault snapshot of what it destroys (issue 7).
    outcome, _ = await predestroy.release(
        state_of(request).settings.policy.source,
        state_of(request).service,
        action,
        reason=reason,
        requester=requester,
        wait=predestroy.HOOK_WAIT,
    )
    body = outcome.to_json()
    if outcome.request_id:
        body["url"] = f"{state_of(request).settings.base_url}/requests/{outcome.request_id}"
    return JSONResponse(body, status_code=201 if outcome.state == "pending" else 200)


async def status(request: Request) -> Response:
    """A request's state; ``?wait=N`` holds the answer up to N s while it is pending."""
    state = state_of(request)
    request_id = request.path_params["id"]
    try:
        wait = min(float(request.query_params.get("wait", "0")), state.settings.long_poll_max)
    except ValueError:
        raise HTTPException(400, "wait must be a number of seconds") from None
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        found = await run_in_threadpool(state.service.status, request_id)
        if found is None:
            raise HTTPException(404, f"no request {request_id}")
        if found["state"] != "pending" or time.monotonic() >= deadline:
            return JSONResponse(found)
        await asyncio.sleep(0.1)


async def list_requests(request: Request) -> Response:
    await approver(request, write=False)
    wanted = request.query_params.get("state")
    if wanted is not None and wanted not in STATES:
        raise HTTPException(400, f"state is one of {', '.join(STATES)}")
    rows = await run_in_threadpool(state_of(request).service.requests, wanted)
    return JSONResponse({"requests": rows})


async def get_request(request: Request) -> Response:
    await approver(request, write=False)
    found = await run_in_threadpool(state_of(request).service.get, request.path_params["id"])
    if found is None:
        raise HTTPException(404, f"no request {request.path_params['id']}")
    return JSONResponse(found)


async def vote(request: Request) -> Response:
    session = await approver(request, write=True)
    data = await body_json(request)
    choice, binding, note = data.get("vote"), data.get("binding"), data.get("note", "")
    if not isinstance(choice, str) or not isinstance(binding, str) or not isinstance(note, str):
        raise HTTPException(400, "send vote (approve or deny), binding (from the card) and note")
    result = await run_in_threadpool(
        lambda: state_of(request).service.vote(
            request.path_params["id"], session.username, choice, binding=binding, note=note
        )
    )
    return JSONResponse(result)


async def cancel(request: Request) -> Response:
    session = await approver(request, write=True)
    await run_in_threadpool(
        state_of(request).service.cancel, request.path_params["id"], session.username
    )
    return JSONResponse({"ok": True})


async def sign_in(request: Request) -> Response:
    data = await body_json(request)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise HTTPException(400, "send username and password")
    opened = await run_in_threadpool(state_of(request).accounts.sign_in, username, password)
    if opened is None:
        raise HTTPException(401, "wrong name or password")
    token, session = opened
    response = JSONResponse({"username": session.username, "csrf": session.csrf})
    set_session_cookie(response, token, request)
    return response


def set_session_cookie(response: Response, token: str, request: Request) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int(SESSION_SECONDS),
        path="/",
    )


async def sign_out(request: Request) -> Response:
    await approver(request, write=True)
    await run_in_threadpool(state_of(request).accounts.sign_out, request.cookies.get(COOKIE, ""))
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE, path="/")
    return response


async def whoami(request: Request) -> Response:
    session = await approver(request, write=False)
    return JSONResponse({"username": session.username, "csrf": session.csrf})


async def kill_state(request: Request) -> Response:
    found = await run_in_threadpool(state_of(request).service.kill_state)
    return JSONResponse({"killed": found is not None, **(found or {})})


async def set_kill(request: Request) -> Response:
    """``{"killed": true, "reason": "…"}`` turns it on, ``false`` off; both need an approver."""
    session = await approver(request, write=True)
    data = await body_json(request)
    on, reason = data.get("killed"), data.get("reason", "")
    if not isinstance(on, bool) or not isinstance(reason, str):
        raise HTTPException(400, "send killed (true or false) and an optional reason")
    state = state_of(request)
    await run_in_threadpool(apply_kill, state, on, session.username, reason)
    return JSONResponse({"killed": on})


def apply_kill(state: State, on: bool, by: str, reason: str) -> None:
    if on:
        state.service.kill(by, reason)
        killswitch.write(state.settings.data_dir, by, reason)
    else:
        state.service.resume(by)
        killswitch.clear(state.settings.data_dir)


async def event_stream(request: Request) -> Response:
    """Server-sent events: each transition, from whichever replica made it (polls ``events``)."""
    await approver(request, write=False)
    service = state_of(request).service
    start = request.headers.get("last-event-id") or request.query_params.get("since")
    seen = int(start) if start and start.isdigit() else await run_in_threadpool(service.last_event)

    async def stream() -> AsyncIterator[str]:
        nonlocal seen
        yield "retry: 1000\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            fresh = await run_in_threadpool(service.events_since, seen)
            for item in fresh:
                seen = item["seq"]
                item["detail"].pop("card", None)
                yield f"id: {seen}\nevent: {item['kind']}\ndata: {json.dumps(item)}\n\n"
            quiet = 0.0 if fresh else quiet + 0.25
            if quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(0.25)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _housekeeping(state: State) -> None:
    """Expire what ran out of time; mirror the shared kill switch into this replica's folder."""
    while True:
        try:
            await run_in_threadpool(state.service.sweep)
            await run_in_threadpool(db.checkpoint, state.service.engine)
            killed = await run_in_threadpool(state.service.kill_state)
            if killed is not None:
                if not (state.settings.data_dir / killswitch.FILE_NAME).exists():
                    killswitch.write(
                        state.settings.data_dir, killed["by"], killed["reason"], killed["at"]
                    )
            else:
                killswitch.clear(state.settings.data_dir)
        except Exception as exc:  # keep sweeping; a failure is visible in the server log
            print(f"interlock serve: housekeeping failed: {type(exc).__name__}: {exc}")
        await asyncio.sleep(SWEEP_SECONDS)
