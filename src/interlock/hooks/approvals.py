"""Hooks meet the approval server (issue 5 item 4): file an ``ask``, consume an approval, wait.

Imported only when ``[approvals] server`` (or ``INTERLOCK_SERVER``) is set and a call's
decision is ``ask``, so a hook that allows or denies never loads ``http.client``: the hot path
stays lean. Two exchanges, both in docs/server.md:

- ``POST {server}/api/v1/requests`` with ``{"action", "reason", "requester"}`` answers
  ``{"state", "id", "message", "approvers", "url"}``. ``approved`` means the server just
  consumed a person's approval of this exact action (once); ``pending`` names the request a
  person will decide; ``denied`` and ``killed`` are final.
- ``GET {server}/api/v1/requests/{id}/status?wait=N`` holds the answer up to N s while the
  request is pending.

What each answer becomes, per ask action (:func:`settle`):

1. ``approved``: allow, rule ``approval.granted``, "approved by alice, bob (req_…)".
2. ``pending``: with ``approvals.wait`` > 0, long-poll until a person decides or the wait ends,
   always inside the hook's deadline; an approval seen there is consumed by submitting again.
   Still pending: deny, rule ``approval.pending``, with the request id and the card's URL. It
   is a deny for every agent: Claude Code's or Cursor's own ask would let the person at the
   keyboard approve alone and skip the quorum.
3. ``denied``, ``killed``, or a request that was denied, expired or cancelled while waited on:
   deny with the server's reason.
4. Anything else (refused connection, timeout, a status other than the two above, a body that
   is not the JSON described): :class:`ServerUnreachable`, and the local decision stands with a
   note: an ask stays an ask (a block for Codex and Gemini), never an allow.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse
from dataclasses import dataclass, replace
from typing import Any

from interlock.actions import Action, action_to_json
from interlock.config import Approvals
from interlock.decisions import Decision, Reason, Verdict
from interlock.errors import ServerError

GRANTED, PENDING, DENIED, KILLED, UNREACHABLE = (
    "approval.granted",
    "approval.pending",
    "approval.denied",
    "approval.killed",
    "approval.unreachable",
)
SUBMIT_STATES = frozenset({"approved", "pending", "denied", "killed"})
STATUS_STATES = frozenset({"pending", "approved", "denied", "expired", "cancelled"})
EXCHANGE_TIMEOUT = 3.0
"""Seconds one exchange may take beyond what the server was asked to hold it. Under the warm
daemon's 5 s, so a slow server never makes the daemon's client give up and decide twice."""
ANSWER_RESERVE = 0.5
"""Seconds kept after the last exchange for the audit record and the answer."""
CONSUME_RESERVE = 1.0
"""Seconds a long-poll leaves before :data:`ANSWER_RESERVE` for consuming a late approval."""
MIN_HOLD = 0.2
"""A long-poll shorter than this is not worth a round trip: the request stays pending."""
MAX_ANSWER = 1_000_000
MAX_TEXT = 300
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ServerUnreachable(ServerError):
    """The approval server could not be asked or gave no answer the hook understands."""


@dataclass(frozen=True)
class Answer:
    """The server's word on one action."""

    state: str
    """``approved`` (consumed now), ``pending``, ``denied`` or ``killed``."""
    request_id: str | None
    message: str
    url: str = ""
    """The card a person decides on."""
    approvers: tuple[str, ...] = ()


class Server:
    """The approval server at ``base``; no exchange runs past ``until`` (``time.monotonic``)."""

    def __init__(self, base: str, until: float) -> None:
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerUnreachable("the configured server is not an http(s) URL")
        try:
            self.port = parts.port
        except ValueError:
            raise ServerUnreachable("the configured server's port is not a number") from None
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.prefix = parts.path.rstrip("/")
        # Shown to the agent and used for card links: without any user:password@ in the URL.
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        self.base = f"{parts.scheme}://{host}{port}{self.prefix}"
        self.until = until

    def submit(self, action: Action, reason: str, requester: str | None) -> Answer:
        """File ``action`` (or consume its approval): one POST, its answer checked."""
        body = {"action": action_to_json(action), "reason": reason, "requester": requester}
        status, data = self._exchange("POST", "/api/v1/requests", body, hold=0.0)
        if status not in (200, 201):
            raise ServerUnreachable(f"it answered HTTP {status} to a new request")
        state = data.get("state")
        request_id = data.get("id")
        if state not in SUBMIT_STATES:
            raise ServerUnreachable(f"it answered an unknown state {str(state)[:40]!r}")
        if request_id is not None and not (
            isinstance(request_id, str) and _REQUEST_ID.match(request_id)
        ):
            raise ServerUnreachable("it answered a malformed request id")
        if state in ("approved", "pending") and request_id is None:
            raise ServerUnreachable(f"it answered {state} without a request id")
        approvers = data.get("approvers") or []
        if not (isinstance(approvers, list) and all(isinstance(a, str) for a in approvers)):
            raise ServerUnreachable("it answered approvers that are not a list of names")
        message = data.get("message")
        url = data.get("url")
        return Answer(
            state=str(state),
            request_id=request_id,
            message=message[:MAX_TEXT] if isinstance(message, str) else "",
            url=url if isinstance(url, str) and url.startswith(("http://", "https://")) else "",
            approvers=tuple(a[:64] for a in approvers[:10]),
        )

    def wait(self, request_id: str, stop: float) -> str:
        """The request's state once a person decided it, or ``pending`` when ``stop`` comes.

        Each long-poll asks the server to hold the answer for what is left, less the time the
        answer needs to travel, so the last one ends before ``stop`` whatever the server does.
        """
        while True:
            left = min(stop, self.until) - time.monotonic()
            hold = left - ANSWER_RESERVE
            if hold < MIN_HOLD:
                return "pending"
            began = time.monotonic()
            state = self.status(request_id, hold)
            if state != "pending":
                return state
            # A server that answers at once (its own cap reached) is asked again, not hammered.
            spent = time.monotonic() - began
            if spent < MIN_HOLD:
                time.sleep(min(MIN_HOLD - spent, max(0.0, stop - time.monotonic())))

    def status(self, request_id: str, hold: float) -> str:
        target = f"/api/v1/requests/{request_id}/status?wait={hold:.1f}"
        status, data = self._exchange("GET", target, None, hold=hold)
        state = data.get("state")
        if status != 200 or state not in STATUS_STATES:
            raise ServerUnreachable(f"it answered HTTP {status} about {request_id}")
        return str(state)

    def card_url(self, answer: Answer) -> str:
        return answer.url or f"{self.base}/requests/{answer.request_id}"

    def _exchange(
        self, method: str, target: str, body: dict[str, Any] | None, hold: float
    ) -> tuple[int, dict[str, Any]]:
        left = self.until - time.monotonic()
        if left <= 0:
            raise ServerUnreachable("no time was left before the hook's deadline")
        factory = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = factory(self.host, self.port, timeout=min(left, hold + EXCHANGE_TIMEOUT))
        headers = {"Accept": "application/json", "User-Agent": "interlock-hook"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, self.prefix + target, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read(MAX_ANSWER + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise ServerUnreachable(_why(exc)) from None
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if len(raw) <= MAX_ANSWER else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ServerUnreachable(f"it answered HTTP {response.status} without a JSON object")
        return response.status, parsed


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "it did not answer in time"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)[:MAX_TEXT]


def requester() -> str | None:
    """The login name behind the agent: the server refuses to let it approve its own request."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


# --- what the answers do to the decisions ------------------------------------------------


Decided = list[tuple[Action, Decision]]


@dataclass(frozen=True)
class Settled:
    decided: Decided
    """Each action's decision after the server: ask actions approved, pending or denied."""
    requests: tuple[tuple[str, str], ...] = ()
    """(request id, card URL) of each pending request, when nothing was denied outright."""


def settle(decided: Decided, reason: str, approvals: Approvals, deadline: float) -> Settled:
    """File every ``ask`` action with the server and apply its answers (module docstring).

    ``deadline`` is the hook's own (``time.monotonic``); every exchange ends before it.
    """
    asks = [i for i, (_, d) in enumerate(decided) if d.verdict is Verdict.ASK]
    shown = approvals.server or "(none)"
    try:
        server = Server(approvals.server or "", deadline - ANSWER_RESERVE)
        shown = server.base
        who = requester()
        answers = {i: server.submit(decided[i][0], reason, who) for i in asks}
        if approvals.wait > 0:
            stop = min(time.monotonic() + approvals.wait, server.until - CONSUME_RESERVE)
            for i, answer in answers.items():
                if answer.state == "pending":
                    answers[i] = _await(server, answer, stop, decided[i][0], reason, who)
    except ServerUnreachable as exc:
        note = (
            f"the approval server {shown} could not be reached ({exc}), so the "
            "local decision stands"
        )
        kept = [(a, _unreachable(d, note) if i in asks else d) for i, (a, d) in enumerate(decided)]
        return Settled(kept)
    out = list(decided)
    for i, answer in answers.items():
        out[i] = (decided[i][0], _apply(decided[i][1], answer))
    pending = tuple(
        (a.request_id or "", server.card_url(a)) for a in answers.values() if a.state == "pending"
    )
    refused = any(a.state in ("denied", "killed") for a in answers.values())
    return Settled(out, () if refused else pending)


def _await(
    server: Server, answer: Answer, stop: float, action: Action, reason: str, who: str | None
) -> Answer:
    """Long-poll a pending request; an approval seen in time is consumed by submitting again."""
    assert answer.request_id is not None
    state = server.wait(answer.request_id, stop)
    if state == "pending":
        return answer
    if state == "approved":
        return server.submit(action, reason, who)
    ending = "; expiry means deny" if state == "expired" else ""
    text = f"approval request {answer.request_id} was {state}{ending}"
    return Answer("denied", answer.request_id, text, answer.url)


def _apply(decision: Decision, answer: Answer) -> Decision:
    """The local ``ask`` decision, turned by the server's answer; the ask's reasons are kept."""
    if answer.state == "approved":
        who = ", ".join(answer.approvers) or "the approvers"
        text = f"approved by {who} ({answer.request_id})"
        return _lead(decision, Verdict.ALLOW, GRANTED, text)
    if answer.state == "pending":
        text = f"{decision.message()} (approval request {answer.request_id})"
        return _lead(decision, Verdict.DENY, PENDING, text)
    rule = KILLED if answer.state == "killed" else DENIED
    text = answer.message or f"the approval server {answer.state} this"
    return _lead(decision, Verdict.DENY, rule, text)


def _lead(decision: Decision, verdict: Verdict, rule: str, text: str) -> Decision:
    """``decision`` with a new verdict whose reason comes first, so it names the rule."""
    return replace(
        decision, verdict=verdict, reasons=(Reason(rule, text, verdict), *decision.reasons)
    )


def _unreachable(decision: Decision, note: str) -> Decision:
    """The local ask, with the note last: its rule stays the one that asked."""
    return replace(decision, reasons=(*decision.reasons, Reason(UNREACHABLE, note, Verdict.ASK)))
