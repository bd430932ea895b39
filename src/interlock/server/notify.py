"""Notifications: Slack, PagerDuty and generic webhooks hear of approval requests (issue 5).

A notification never decides anything. This module reads ``events`` and ``requests`` and
writes only ``deliveries`` and ``notify_failed`` events, so a channel that is down, wrong or
slow leaves every request as it was (tests/server/test_notify.py proves it with every channel
failing). What each channel receives is in messages.py.

The outbox, in write order:

1. A transition commits its ``events`` row (approvals.py). Nothing here runs inside that
   transaction: a listener there has no connection to write with (on SQLite a second
   connection would wait on the transition's own write lock), and a row written beside a
   transaction that then rolls back would announce what never happened.
2. Every replica's worker reads the events committed since its floor (every POLL seconds, and
   at once when its own ApprovalService publishes a committed event) and, for each that calls
   for a notification and has no deliveries yet, inserts one ``deliveries`` row per channel,
   under one lock (PostgreSQL advisory lock 8472; SQLite's write lock), so two replicas never
   both insert.
3. A worker claims a due row with a conditional ``UPDATE … WHERE state = :seen AND attempts =
   :seen`` that also takes a lease (``next_at`` = now + LEASE). Only the replica whose update
   changed the row sends it.
4. The outcome is written, fenced by the attempt number: ``sent``; ``queued`` again after a
   backoff of 1, 2, 4 … s (or the receiver's ``Retry-After``); ``failed`` with an ``events``
   row ``notify_failed`` for the dashboard's live stream; or ``skipped`` (a "filed" message for
   a request decided meanwhile: nobody is paged for what is already settled).

A replica that dies mid-send leaves a leased row; when the lease runs out another replica sends
it (at least once, never lost). Within one request and channel rows go out in order: PagerDuty
never gets a resolve before its trigger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock.audit import AuditLog
from interlock.secrets import MASK, mask
from interlock.server import db, messages
from interlock.server.app import (
    API,
    State,
    approver,
    register_background,
    register_routes,
    state_of,
)
from interlock.server.db import deliveries, events
from interlock.server.settings import Channel

QUEUED, SENDING, SENT, FAILED, SKIPPED = "queued", "sending", "sent", "failed", "skipped"
STATES = (QUEUED, SENDING, SENT, FAILED, SKIPPED)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
LEASE = 60.0
"""Seconds a claimed row is this replica's; longer than any send (TIMEOUT) can take."""
POLL = 0.5
BATCH = 20
BACKOFF_CAP = 300.0
GRACE = 30.0
"""An event this old is committed: the floor only moves past events at least this old, so an
event whose transaction committed after a later-numbered one is still seen."""
LOOKBACK = 900.0
"""At start-up, events this recent are looked at again (a replica may have stopped between
committing an event and enqueueing its deliveries); older ones are not announced."""
_ENQUEUE_LOCK = 8472
"""PostgreSQL advisory lock of the enqueue step; 8470 is db.migrate's, 8471 approvals.py's
kill switch (sharing one would make enqueueing wait on every filing)."""

logger = logging.getLogger(__name__)


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt``: 1, 2, 4, 8 … up to 5 min."""
    return float(min(2 ** (attempt - 1), BACKOFF_CAP))


@dataclass(frozen=True)
class Delivery:
    id: int
    request_id: str
    channel: str
    event: str
    attempts: int
    """Including the one this claim is for."""


@dataclass(frozen=True)
class Attempt:
    """How one send went. ``error`` is already scrubbed of the channel's secrets."""

    ok: bool
    error: str = ""
    retry: bool = False
    wait: float = 0.0
    skipped: bool = False


class Outbox:
    """The ``deliveries`` table: enqueue from events, claim, record outcomes, list."""

    def __init__(
        self,
        engine: Engine,
        channels: Sequence[Channel],
        clock: Callable[[], float],
        audit: AuditLog | None = None,
    ) -> None:
        self.engine = engine
        self.channels = {c.name: c for c in channels}
        self.clock = clock
        self.audit = audit
        self.floor: int | None = None
        self._seen: set[int] = set()

    # --- 2. enqueue ----------------------------------------------------------------------

    def enqueue(self) -> int:
        """Insert the deliveries newly committed events call for; returns how many rows."""
        if self.floor is None:
            self.floor = self._start_floor()
        now = self.clock()
        rows = self._events_since(self.floor)
        wanted = [(_subject(r), r.kind) for r in rows if r.seq not in self._seen and _notifies(r)]
        added = self._insert(wanted, now) if wanted and self.channels else 0
        self._seen.update(r.seq for r in rows)
        settled = [r.seq for r in rows if r.at <= now - GRACE]
        if settled:
            self.floor = max(self.floor, *settled)
            self._seen = {s for s in self._seen if s > self.floor}
        return added

    def _start_floor(self) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(sa.func.max(events.c.seq)).where(events.c.at <= self.clock() - LOOKBACK)
            ).scalar()
        return int(found or 0)

    def _events_since(self, floor: int) -> list[Any]:
        rows: list[Any] = []
        with self.engine.connect() as conn:
            while True:
                page = conn.execute(
                    sa.select(
                        events.c.seq,
                        events.c.at,
                        events.c.kind,
                        events.c.request_id,
                        events.c.detail,
                    )
                    .where(events.c.seq > floor, events.c.kind.in_(_NOTIFYING))
                    .order_by(events.c.seq)
                    .limit(500)
                ).all()
                rows.extend(page)
                if len(page) < 500:
                    return rows
                floor = page[-1].seq

    def _insert(self, wanted: list[tuple[str, str]], now: float) -> int:
        with db.transaction(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ENQUEUE_LOCK})
            ids = sorted({request_id for request_id, _ in wanted})
            have = {
                (r.request_id, r.event)
                for r in conn.execute(
                    sa.select(deliveries.c.request_id, deliveries.c.event)
                    .where(deliveries.c.request_id.in_(ids))
                    .distinct()
                )
            }
            rows = [
                {
                    "request_id": request_id,
                    "channel": name,
                    "event": kind,
                    "state": QUEUED,
                    "attempts": 0,
                    "next_at": now,
                    "last_error": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for request_id, kind in dict.fromkeys(wanted)
                if (request_id, kind) not in have
                for name in self.channels
            ]
            if rows:
                conn.execute(deliveries.insert(), rows)
        return len(rows)

    # --- 3. claim --------------------------------------------------------------------------

    def claim(self) -> list[Delivery]:
        """Due rows this replica now holds (queued, or leased by a replica that stopped)."""
        now = self.clock()
        earlier = deliveries.alias("earlier")
        with self.engine.connect() as conn:
            due = conn.execute(
                sa.select(deliveries)
                .where(
                    deliveries.c.state.in_((QUEUED, SENDING)),
                    deliveries.c.next_at <= now,
                    ~sa.exists().where(
                        earlier.c.request_id == deliveries.c.request_id,
                        earlier.c.channel == deliveries.c.channel,
                        earlier.c.id < deliveries.c.id,
                        earlier.c.state.in_((QUEUED, SENDING)),
                    ),
                )
                .order_by(deliveries.c.id)
                .limit(BATCH)
            ).all()
        if not due:
            return []
        claimed: list[Delivery] = []
        with db.transaction(self.engine) as conn:
            for row in due:
                changed = conn.execute(
                    sa.update(deliveries)
                    .where(
                        deliveries.c.id == row.id,
                        deliveries.c.state == row.state,
                        deliveries.c.attempts == row.attempts,
                    )
                    .values(
                        state=SENDING,
                        attempts=row.attempts + 1,
                        next_at=now + LEASE,
                        updated_at=now,
                    )
                ).rowcount
                if changed == 1:
                    claimed.append(
                        Delivery(row.id, row.request_id, row.channel, row.event, row.attempts + 1)
                    )
        return claimed

    # --- 4. record -------------------------------------------------------------------------

    def finish(self, delivery: Delivery, attempt: Attempt) -> str | None:
        """Record ``attempt``; returns the new state, or None if the lease was lost meanwhile."""
        now = self.clock()
        channel = self.channels.get(delivery.channel)
        limit = channel.attempts if channel else 1
        values: dict[str, Any] = {"updated_at": now}
        if attempt.ok:
            values["state"] = SENT
        elif attempt.skipped:
            values.update(state=SKIPPED, last_error=attempt.error)
        elif attempt.retry and delivery.attempts < limit:
            wait = max(backoff(delivery.attempts), min(attempt.wait, BACKOFF_CAP))
            values.update(state=QUEUED, next_at=now + wait, last_error=attempt.error)
        else:
            values.update(state=FAILED, last_error=attempt.error)
        failed = _failure(delivery, attempt.error) if values["state"] == FAILED else None
        with db.transaction(self.engine) as conn:
            changed = conn.execute(
                sa.update(deliveries)
                .where(
                    deliveries.c.id == delivery.id,
                    deliveries.c.state == SENDING,
                    deliveries.c.attempts == delivery.attempts,
                )
                .values(**values)
            ).rowcount
            if changed != 1:
                return None
            if failed is not None:
                conn.execute(
                    events.insert().values(
                        at=now,
                        kind="notify_failed",
                        request_id=delivery.request_id,
                        actor="notify",
                        detail=json.dumps(failed, ensure_ascii=False),
                    )
                )
        if failed is not None:
            self._failed(delivery, failed)
        return str(values["state"])

    def _failed(self, delivery: Delivery, detail: dict[str, Any]) -> None:
        """Once committed, a failure goes where transitions go: the audit log, the server log
        (the ``notify_failed`` event written with it is what the live stream shows)."""
        if self.audit is not None:
            self.audit.append(
                {
                    "type": "approval",
                    "event": "notify_failed",
                    "request_id": delivery.request_id,
                    "actor": {"name": "notify"},
                    "detail": detail,
                }
            )
        logger.warning(
            "notification %s for %s (%s) failed after %d attempt(s): %s",
            delivery.channel,
            delivery.request_id,
            delivery.event,
            delivery.attempts,
            detail["error"],
        )

    # --- reading ---------------------------------------------------------------------------

    def rows(
        self, state: str | None = None, request_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = sa.select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(deliveries.c.state == state)
        if request_id is not None:
            query = query.where(deliveries.c.request_id == request_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "id": r.id,
                "request_id": r.request_id,
                "channel": r.channel,
                "type": self.channels[r.channel].type if r.channel in self.channels else None,
                "event": r.event,
                "state": r.state,
                "attempts": r.attempts,
                "next_at": r.next_at if r.state in (QUEUED, SENDING) else None,
                "last_error": r.last_error,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }
            for r in rows
        ]


def _failure(delivery: Delivery, error: str) -> dict[str, Any]:
    return {
        "delivery": delivery.id,
        "channel": delivery.channel,
        "event": delivery.event,
        "attempts": delivery.attempts,
        "error": error,
    }


_NOTIFYING = (*messages.KINDS, *messages.ALERTS)


def _subject(row: Any) -> str:
    """What a delivery is about: the request, or for an alert the event itself."""
    return f"{messages.EVENT_PREFIX}{row.seq}" if row.kind in messages.ALERTS else row.request_id


def _notifies(row: Any) -> bool:
    """Filed, or left ``pending``; an unused approval running out is not news to anyone."""
    if row.kind in messages.ALERTS:
        return True
    if row.request_id is None:
        return False
    if row.kind == "expired":
        return bool(json.loads(row.detail or "{}").get("from", "pending") == "pending")
    return True


# --- sending ---------------------------------------------------------------------------------


async def send(client: httpx.AsyncClient, channel: Channel, message: messages.Message) -> Attempt:
    """POST ``message``; 2xx is sent, 408/429/5xx and network errors are worth another try."""
    try:
        response = await client.post(
            channel.url.reveal(), content=message.body, headers=message.headers
        )
    except httpx.TimeoutException:
        return Attempt(False, f"no answer within {TIMEOUT.read:g} s", retry=True)
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        return Attempt(False, scrub(f"{type(exc).__name__}: {exc}", channel), retry=True)
    status = response.status_code
    if 200 <= status < 300:
        return Attempt(True)
    error = scrub(f"HTTP {status}: {response.text[:300].strip()}", channel)
    if status in (408, 429) or status >= 500:
        return Attempt(False, error, retry=True, wait=_retry_after(response))
    return Attempt(False, error)


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 0.0


def scrub(text: str, channel: Channel) -> str:
    """``text`` without the channel's URL, its path and query, routing key or signing secret."""
    url = channel.url.reveal()
    parts = urlsplit(url)
    values = [url, parts.path, parts.query, parts.password or ""]
    values += [s for s in parts.path.split("/") if len(s) >= 8]
    values += [v for _, v in parse_qsl(parts.query) if len(v) >= 8]
    for secret in (channel.routing_key, channel.secret):
        if secret is not None:
            values.append(secret.reveal())
    for value in sorted({v for v in values if len(v) > 1}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return mask(text)[:500]


async def deliver(
    client: httpx.AsyncClient, outbox: Outbox, state: State, delivery: Delivery
) -> str | None:
    """Send one claimed delivery and record how it went; returns its new state."""
    channel = outbox.channels.get(delivery.channel)
    if channel is None:
        attempt = Attempt(False, f"no channel named {delivery.channel!r} is configured here")
    elif delivery.attempts > channel.attempts:
        attempt = Attempt(False, "the replica sending it stopped; no attempts left")
    else:
        attempt = await _attempt(client, channel, state, delivery)
    return await run_in_threadpool(outbox.finish, delivery, attempt)


async def _attempt(
    client: httpx.AsyncClient, channel: Channel, state: State, delivery: Delivery
) -> Attempt:
    if delivery.request_id.startswith(messages.EVENT_PREFIX):
        return await _alert(client, channel, state, delivery)
    view = await run_in_threadpool(state.service.get, delivery.request_id)
    if view is None:
        return Attempt(False, f"request {delivery.request_id} does not exist")
    if delivery.event == messages.CREATED and view["state"] != "pending":
        return Attempt(False, f"not sent: the request was already {view['state']}", skipped=True)
    try:
        message = messages.build(
            channel, delivery.event, view, state.settings.base_url, delivery.id
        )
        return await send(client, channel, message)
    except Exception as exc:  # recorded on the row and retried, never lost in a log
        return Attempt(False, scrub(f"{type(exc).__name__}: {exc}", channel), retry=True)


async def _alert(
    client: httpx.AsyncClient, channel: Channel, state: State, delivery: Delivery
) -> Attempt:
    """An alert event (a gateway denial that pages): its row is the whole message."""
    seq = int(delivery.request_id.removeprefix(messages.EVENT_PREFIX))
    found = await run_in_threadpool(state.service.events_since, seq - 1, 1)
    if not found or found[0]["seq"] != seq:
        return Attempt(False, f"event {seq} does not exist")
    try:
        message = messages.build_alert(
            channel, delivery.event, found[0], state.settings.base_url, delivery.id
        )
        return await send(client, channel, message)
    except Exception as exc:  # recorded on the row and retried, never lost in a log
        return Attempt(False, scrub(f"{type(exc).__name__}: {exc}", channel), retry=True)


async def run(state: State) -> None:
    """This replica's delivery worker (registered with ``app.register_background``)."""
    if not state.settings.notify:
        return
    _hide.urls.update(str(httpx.URL(c.url.reveal())) for c in state.settings.notify)
    service = state.service
    outbox = Outbox(service.engine, state.settings.notify, service.clock, service.audit)
    wake = _waker(asyncio.get_running_loop())
    service.listeners.append(wake.listener)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            await _work(client, outbox, state, wake.event)
    finally:
        service.listeners.remove(wake.listener)


async def _work(
    client: httpx.AsyncClient, outbox: Outbox, state: State, wake: asyncio.Event
) -> None:
    while True:
        wake.clear()
        batch: list[Delivery] = []
        try:
            await run_in_threadpool(outbox.enqueue)
            batch = await run_in_threadpool(outbox.claim)
            done = await asyncio.gather(
                *(deliver(client, outbox, state, d) for d in batch), return_exceptions=True
            )
            for exc in (d for d in done if isinstance(d, Exception)):
                _log_crash(exc)  # its row is sent again when its lease runs out
        except Exception as exc:  # keep delivering; the cause is in the server log
            _log_crash(exc)
        if len(batch) < BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), POLL)


@dataclass(frozen=True)
class _Waker:
    event: asyncio.Event
    listener: Callable[[str, dict[str, Any]], None]


def _waker(loop: asyncio.AbstractEventLoop) -> _Waker:
    """Wakes this replica's worker when this replica commits an event that notifies, so its
    own requests go out at once; other replicas' events are found by the poll."""
    event = asyncio.Event()

    def listener(kind: str, detail: dict[str, Any]) -> None:
        if kind in _NOTIFYING:
            with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
                loop.call_soon_threadsafe(event.set)

    return _Waker(event, listener)


def _log_crash(exc: BaseException) -> None:
    logger.warning("notifications: %s: %s", type(exc).__name__, mask(str(exc))[:500])


# --- API -------------------------------------------------------------------------------------


async def list_deliveries(request: Request) -> Response:
    """``GET /api/v1/deliveries[?state=failed&request_id=…&limit=N]``, newest first."""
    await approver(request, write=False)
    query = request.query_params
    wanted = query.get("state")
    if wanted is not None and wanted not in STATES:
        raise HTTPException(400, f"state must be one of {', '.join(STATES)}")
    limit = query.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        raise HTTPException(400, "limit must be a whole number from 1 to 500")
    state = state_of(request)
    outbox = Outbox(state.service.engine, state.settings.notify, state.service.clock)
    rows = await run_in_threadpool(outbox.rows, wanted, query.get("request_id"), int(limit))
    return JSONResponse({"deliveries": rows})


class _HideChannelURLs(logging.Filter):
    """httpx logs every request's full URL at INFO, and a webhook URL is a credential: the
    channels' URLs are cut to their origin (other requests' URLs are left as they are)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._cut(a) for a in record.args)
        return True

    def _cut(self, value: Any) -> Any:
        if isinstance(value, httpx.URL) and str(value) in self.urls:
            return f"{value.scheme}://{value.netloc.decode()}/{MASK}"
        return value


_hide = _HideChannelURLs()
logging.getLogger("httpx").addFilter(_hide)
register_routes(lambda: [Route(f"{API}/deliveries", list_deliveries)])
register_background(run)
