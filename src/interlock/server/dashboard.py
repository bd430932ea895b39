"""The web dashboard: sign in, the requests waiting for a human, the card, the kill switch.

Server-rendered (Jinja2, ``templates/``) with a little vanilla JavaScript (``static/``) for what
must be live: the page follows the API's event stream (``/api/v1/events``) and re-renders its
live regions from the server when a request is filed, voted on, decided or expires, or when the
kill switch moves; time left counts down in the browser. No build step and no CDN: every file
is served from this package, so the dashboard works on a machine without internet access.

Authentication is the API's (accounts.py): the session cookie, and the session's CSRF token as
the form field ``csrf`` on every POST. A vote carries the binding of the card it was cast on,
so it counts only for exactly what the approver saw (``ApprovalService.vote`` checks it).
Refusals (the requester approving their own request, a second vote, an expired request) are
the server's, shown on the card as it gave them.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from interlock.config import Policy
from interlock.environments import UNKNOWN
from interlock.errors import ApprovalError
from interlock.server import app, backups
from interlock.server.accounts import Session

SIGN_IN_COOKIE = "interlock_sign_in"
"""A pre-session token for the sign-in form, so another site cannot sign a browser in as
someone else (login CSRF): it is SameSite=Strict, and the form must echo it."""

HISTORY = 50

# Pages show commands and hold vote buttons: no framing (clickjacking an Approve button), no
# script but ours, nothing cached.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Endpoint = Callable[[Request], Awaitable[Response]]


def _clock(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _duration(seconds: float) -> str:
    """Time left as the countdown shows it: ``59:58`` or ``1:59:58``."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("interlock.server", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(clock=_clock, iso=_iso, duration=_duration)
    env.filters.update(age=backups.age, size=backups.size, rto=backups.seconds)
    return env


templates = Jinja2Templates(env=_environment())


# --- plumbing -------------------------------------------------------------------------------


def _page(endpoint: Endpoint) -> Endpoint:
    """Sign-in redirects and HTML error pages instead of the API's JSON; security headers."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            response = await endpoint(request)
        except HTTPException as exc:
            if exc.status_code == 401:
                target = request.url.path if request.method == "GET" else "/"
                response = RedirectResponse(f"/sign-in?next={quote(target)}", 303)
            else:
                response = await _render(
                    request, "error.html", None, {"message": exc.detail}, exc.status_code
                )
        response.headers.update(_HEADERS)
        return response

    return wrapped


async def _render(
    request: Request,
    name: str,
    session: Session | None,
    context: dict[str, Any],
    status: int = 200,
) -> Response:
    """A page with what every page shows: who is signed in and the kill switch.

    A live page passes ``since``, the last event it has seen, read *before* its data, so the
    event stream starts where the page's data ends and nothing falls between them.
    """
    kill = await run_in_threadpool(app.state_of(request).service.kill_state)
    return templates.TemplateResponse(
        request,
        name,
        {"user": session, "kill": kill, "now": time.time(), "since": 0, **context},
        status_code=status,
    )


async def _form(request: Request) -> FormData:
    form = await request.form()
    return form


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _local(target: str) -> str:
    """Only a path on this site is a place to go back to (no open redirect)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


# --- sign in and out ------------------------------------------------------------------------


@_page
async def sign_in_page(request: Request) -> Response:
    target = _local(request.query_params.get("next", "/"))
    session = await run_in_threadpool(
        app.state_of(request).accounts.session, request.cookies.get(app.COOKIE)
    )
    if session is not None:
        return RedirectResponse(target, 303)
    return await _sign_in_form(request, target)


async def _sign_in_form(
    request: Request, target: str, error: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    context = {"next": target, "sign_in_token": token, "error": error}
    response = await _render(request, "sign_in.html", None, context, status)
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=3600,
        path="/sign-in",
    )
    return response


@_page
async def sign_in(request: Request) -> Response:
    form = await _form(request)
    target = _local(_field(form, "next"))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    sent = _field(form, "sign_in_token")
    if not expected or not secrets.compare_digest(sent, expected):
        return await _sign_in_form(
            request, target, "The sign-in form expired; please sign in again.", 403
        )
    accounts = app.state_of(request).accounts
    opened = await run_in_threadpool(
        accounts.sign_in, _field(form, "username"), _field(form, "password")
    )
    if opened is None:
        return await _sign_in_form(request, target, "Wrong name or password.", 401)
    token, _ = opened
    response = RedirectResponse(target, 303)
    app.set_session_cookie(response, token, request)
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return response


@_page
async def sign_out(request: Request) -> Response:
    await app.approver(request, write=True)
    token = request.cookies.get(app.COOKIE, "")
    await run_in_threadpool(app.state_of(request).accounts.sign_out, token)
    response = RedirectResponse("/sign-in", 303)
    response.delete_cookie(app.COOKIE, path="/")
    return response


# --- requests -------------------------------------------------------------------------------


@_page
async def index(request: Request) -> Response:
    """Pending requests first (oldest deadline first), then the recent history."""
    session = await app.approver(request, write=False)
    service = app.state_of(request).service
    since = await run_in_threadpool(service.last_event)
    pending = await run_in_threadpool(service.requests, "pending")
    recent = await run_in_threadpool(service.requests, None, HISTORY + len(pending))
    history = [r for r in recent if r["state"] != "pending"][:HISTORY]
    pending.sort(key=lambda r: r["expires_at"])
    context = {
        "pending": pending,
        "history": history,
        "live": "/",
        "since": since,
        "vault": await _vault_sources(request),
    }
    return await _render(request, "index.html", session, context)


async def _vault_sources(request: Request) -> dict[str, Any]:
    """The Backups panel's data: every vault source, ages at the service's clock."""
    state = app.state_of(request)
    settings = state.settings.vault
    sources = await run_in_threadpool(
        backups.sources, state.service.engine, settings, state.service.clock()
    )
    return {
        "sources": sources,
        "configured": bool(settings.location or settings.sources),
        "problems": sum(1 for s in sources if not s.ok),
        "poll": backups.POLL_SECONDS,
    }


@_page
async def card(request: Request) -> Response:
    session = await app.approver(request, write=False)
    voted = request.query_params.get("voted", "")
    return await _card(request, session, notice=voted if voted in ("approve", "deny") else "")


async def _card(
    request: Request, session: Session, *, notice: str = "", refusal: str = "", status: int = 200
) -> Response:
    request_id = request.path_params["id"]
    service = app.state_of(request).service
    since = await run_in_threadpool(service.last_event)
    found = await run_in_threadpool(service.get, request_id)
    if found is None:
        raise HTTPException(404, f"There is no request {request_id}.")
    mine = [v for v in found["votes"] if v["approver"] == session.username]
    context = {
        "r": found,
        "c": found["card"],
        "production": _production(found, app.state_of(request).settings.policy),
        "my_vote": mine[0]["vote"] if mine else None,
        "notice": notice,
        "refusal": refusal,
        "live": f"/requests/{request_id}",
        "since": since,
    }
    vault = await _vault_sources(request)
    context["vault"] = vault
    context["backup"] = backups.for_card(found["card"], vault["sources"])
    context["predestroy"] = await run_in_threadpool(
        backups.predestroy, app.state_of(request).service.engine, request_id
    )
    return await _render(request, "request.html", session, context, status)


def _production(found: dict[str, Any], policy: Policy) -> set[str | None]:
    """The environments on the card to badge PRODUCTION: the card's own verdict, the server's
    production names, and ``unknown`` (which the engine treats as production)."""
    names = {f["environment"] for f in found["card"]["findings"]}
    marked = {e for e in names if e == UNKNOWN or policy.is_production(e)}
    if found["production"]:
        marked.add(found["environment"])
    return marked


@_page
async def vote(request: Request) -> Response:
    """One approver's vote on the binding the card showed them; refusals render on the card."""
    session = await app.approver(request, write=True)
    form = await _form(request)
    request_id = request.path_params["id"]
    choice = _field(form, "vote")
    service = app.state_of(request).service
    try:
        await run_in_threadpool(
            functools.partial(
                service.vote,
                request_id,
                session.username,
                choice,
                binding=_field(form, "binding"),
                note=_field(form, "note"),
            )
        )
    except ApprovalError as exc:
        return await _card(request, session, refusal=str(exc), status=409)
    return RedirectResponse(f"/requests/{request_id}?voted={choice}", 303)


# --- kill switch ----------------------------------------------------------------------------


@_page
async def kill_switch(request: Request) -> Response:
    """``killed=on`` denies every pending request and every agent action; ``off`` resumes."""
    session = await app.approver(request, write=True)
    form = await _form(request)
    wanted = _field(form, "killed")
    if wanted not in ("on", "off"):
        raise HTTPException(400, "The kill switch form sends killed=on or killed=off.")
    await run_in_threadpool(
        app.apply_kill,
        app.state_of(request),
        wanted == "on",
        session.username,
        _field(form, "reason")[:500],
    )
    return RedirectResponse(_local(_field(form, "next")), 303)


def routes() -> list[BaseRoute]:
    return [
        Route("/", index),
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/requests/{id}", card),
        Route("/requests/{id}/vote", vote, methods=["POST"]),
        Route("/killswitch", kill_switch, methods=["POST"]),
        Mount("/static", app=StaticFiles(packages=[("interlock.server", "static")])),
    ]


app.register_routes(routes)
