"""The HTTP gateway in ``interlock serve``: ``/gateway/<upstream>/<path>`` (issue 6 item 2).

"If an agent has the credential, the guardrail is already losing." An agent session holds an
Interlock token (``ilk_…``, bound to one environment, docs/broker.md) and the gateway's URL; the
real credential stays in the broker and is added here, on the way out, to requests Interlock
let through. Each request, in order (the first refusal ends it):

1. the kill switch is off (this replica's ``KILLED`` file, and the shared database's switch
   read at most every 0.25 s);
2. the body is read whole (at most 1 MB, UTF-8, not content-encoded): what is analysed and
   approved must be exactly what is forwarded, so it cannot stream past the analysis;
3. no honeytoken (``interlock honeytoken plant``) is anywhere in the URL, headers or body: one
   stops the session, suspends its tokens and pages (before the token is looked at: a decoy
   is most likely used in place of one);
4. the Interlock token (``Authorization: Bearer ilk_…`` or ``X-Interlock-Token``) is known,
   unexpired, unrevoked and not suspended (401 otherwise; admission.py remembers a good one
   for a second);
5. the upstream is configured (``[gateway.upstreams.<name>]``) and the token names it;
6. every Railway object the request names is placed in its environment (resolvers/railway.py);
7. :func:`interlock.engine.decide` reads the request; a target outside the token's environment
   is denied and pages (``gateway_env_mismatch``); an operation the token does not allow, or a
   ``deny``, is denied;
8. an ``ask`` counts against the session's velocity budget and goes to the approval server: the
   agent gets 409 with the request's id and card; the same request sent once it is approved is
   forwarded once, with exactly the approved bytes (the approval is consumed);
9. an allowed request is forwarded with the broker credential; the reply streams back.

Every request is audited (``type: gateway``): who, which token (its id), upstream, method and
masked URL, the body's digest and size, targets and their environments, the decision and the
outcome. Never a token, never a credential. Denials are written before the answer; a forwarded
request's record once its reply has been streamed (it has the status and size).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from interlock import honeytokens, killswitch
from interlock.broker.credentials import Injected
from interlock.broker.tokens import TokenInfo
from interlock.decisions import Decision, Verdict
from interlock.engine import decide
from interlock.environments import UNKNOWN
from interlock.errors import BrokerError
from interlock.gateway import alerts, analysis, forward
from interlock.gateway.admission import Admission
from interlock.gateway.records import AuditWriter, Trail
from interlock.gateway.resolvers import railway
from interlock.gateway.settings import GatewaySettings, Upstream, load
from interlock.gateway.velocity import VelocityLimit
from interlock.server import alerts as server_alerts
from interlock.server import predestroy
from interlock.server.app import State, register_background, register_routes, state_of
from interlock.server.approvals import ApprovalService

__all__ = ["PREFIX", "Gateway", "gateway_of"]

PREFIX = "/gateway"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
DECOYS_CHECK = 1.0
"""Seconds between looks for honeytoken registries (a registry read is cached by its file)."""
KILL_CHECK = 0.25
"""Seconds between reads of the shared kill switch (this replica's file is checked every time)."""


class _Refused(Exception):
    """The gateway's own answer instead of the upstream's."""

    def __init__(
        self, status: int, code: str, message: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.extra = extra or {}

    def response(self) -> JSONResponse:
        body = {"error": {"code": self.code, "message": str(self)}, **self.extra}
        return JSONResponse(body, status_code=self.status, headers={"X-Interlock": self.code})


class Gateway:
    """One replica's gateway: settings, resolvers, the upstream client, the broker."""

    def __init__(self, state: State, settings: GatewaySettings | None = None) -> None:
        self.state = state
        self.settings = settings or load(state.settings.policy.source)
        service = state.service
        self.railway = railway.RailwayResolver(
            state.settings.policy, ttl=self.settings.resolver_ttl
        )
        base = state.settings.policy
        self.policy = replace(base, resolvers=(*base.resolvers, self.railway))
        # Its own service so decisions consult the resolvers; the same database, audit log and
        # listeners as the server's, so requests it files are the server's requests.
        self.approvals = ApprovalService(
            service.engine, self.policy, audit=service.audit, clock=service.clock
        )
        self.approvals.listeners = service.listeners
        self.admission = Admission(service.engine, state.settings.data_dir)
        self.audit = AuditWriter(service.audit)
        self.velocity = VelocityLimit(service.engine, self.settings.velocity)
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.timeout, connect=min(10.0, self.settings.timeout)),
            follow_redirects=False,
            trust_env=False,
        )
        self._killed: dict[str, Any] | None = None
        self._kill_read = float("-inf")
        self._decoys: list[honeytokens.Registry] = []
        self._decoys_read = float("-inf")
        self.clock = time.monotonic

    async def close(self) -> None:
        await self.audit.close()
        await self.client.aclose()

    # --- the pipeline --------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        trail = Trail(upstream=request.path_params.get("upstream", ""), method=request.method)
        try:
            return await self._handle(request, trail)
        except _Refused as refusal:
            trail.outcome = refusal.code
            await self.audit.write(trail.record())
            return refusal.response()
        except Exception as exc:  # a body over the limit, a database down: recorded, then raised
            status = getattr(exc, "status_code", 500)
            trail.outcome = f"error {status}: {type(exc).__name__}"
            self.audit.write(trail.record())
            raise

    async def _handle(self, request: Request, trail: Trail) -> Response:
        await self._check_kill()
        body = await _body(request)
        trail.size = len(body)
        await self._check_decoys(request, body, trail)
        token, upstream, injected = await self._admit(_token_of(request), trail)
        path, query = _path_and_query(request, upstream.name)
        headers = forward.request_headers(
            request.headers.items(), injected.header if injected else None
        )
        url = upstream.analysis_base + path + (f"?{query}" if query else "")
        trail.url = url
        text = body.decode("utf-8")
        action = analysis.action_for(
            token, request.method, url, forward.bound_headers(headers), text
        )
        trail.digest = action.digest()
        placed = await self._place(upstream, injected, text, query, headers)
        decision = decide(action, self.policy)
        named = {p.ident for p in placed}
        placed += [p for p in analysis.placed_findings(decision) if p.ident not in named]
        trail.targets = [p.to_json() for p in placed]
        trail.decision = {
            "verdict": decision.verdict.value,
            "rule": decision.rule,
            "reasons": [r.to_json() for r in decision.reasons],
        }
        await self._enforce(token, upstream, decision, placed, request.method)
        if decision.verdict is Verdict.ASK:
            await self._approval(token, upstream, action, trail)
        target = upstream.url + path + (f"?{query}" if query else "")
        return await self._forward(request.method, target, headers, body, injected, trail)

    async def _check_kill(self) -> None:
        path = os.path.join(self.state.settings.data_dir, killswitch.FILE_NAME)
        record: dict[str, Any] | None
        if os.access(path, os.F_OK):
            record = _kill_file(path)
        elif time.monotonic() - self._kill_read >= KILL_CHECK:
            self._killed = await run_in_threadpool(self.state.service.kill_state)
            self._kill_read = time.monotonic()
            record = self._killed
        else:
            record = self._killed
        if record is not None:
            raise _Refused(403, "killed", killswitch.message(record))

    async def _check_decoys(self, request: Request, body: bytes, trail: Trail) -> None:
        """A honeytoken anywhere in the request (URL, any header, the body) stops the session:
        kill file, its tokens suspended, a critical alert naming the file the decoy was
        planted in (server/alerts.py, docs/honeytokens.md). Checked before the token, because
        the likeliest use of a decoy is in place of one."""
        if self.clock() - self._decoys_read > DECOYS_CHECK:
            self._decoys = await run_in_threadpool(
                honeytokens.planted,
                self.state.settings.policy.project_root,
                self.state.settings.data_dir,
            )
            self._decoys_read = self.clock()
        if not self._decoys:
            return
        seen = b"\n".join(
            [request.scope.get("raw_path", b""), request.scope.get("query_string", b"")]
            + [name + b": " + value for name, value in request.scope["headers"]]
            + [body]
        )
        decoy = next((d for r in self._decoys if (d := r.find(seen)) is not None), None)
        if decoy is None:
            return
        presented = _token_of(request)
        holder = None
        if presented is not None:
            try:
                holder = await run_in_threadpool(self.admission.authenticate, presented)
            except BrokerError:
                holder = None
        trail.token = holder
        report = {
            "kind": "honeytoken",
            "agent": holder.agent if holder else "an agent without an Interlock token",
            "session": holder.session if holder else None,
            "file": decoy.where(),
            "token_kind": decoy.label,
            "how": f"sent through the gateway to upstream {trail.upstream}",
            "masked": decoy.masked(),
            "fingerprint": decoy.fingerprint(),
            "project": decoy.project,
        }
        await run_in_threadpool(server_alerts.honeytoken, self.state, report)
        if holder is not None:
            self.admission.forget_session(holder.session)
        raise _Refused(
            403,
            "honeytoken",
            f"this request carries a decoy credential planted in {decoy.where()}; the session "
            "is stopped and people are paged",
        )

    async def _admit(
        self, presented: str | None, trail: Trail
    ) -> tuple[TokenInfo, Upstream, Injected | None]:
        """Steps 2 and 3, and the credential the request would carry: remembered answers
        when there are (admission.py), else one trip to a worker thread for both reads."""
        if presented is None:
            raise _Refused(
                401,
                "unauthenticated",
                "send an Interlock token: Authorization: Bearer ilk_… (interlock env prints it); "
                "a provider's own credential is never accepted or forwarded",
            )
        token = self.admission.recall_token(presented)
        if token is not None:
            trail.token = token
            upstream = self._upstream(trail.upstream, token)
            known, injected = self.admission.recall_credential(upstream)
            if known:
                return token, upstream, injected
        return await run_in_threadpool(self._read_admission, presented, trail)

    def _read_admission(
        self, presented: str, trail: Trail
    ) -> tuple[TokenInfo, Upstream, Injected | None]:
        try:
            token = self.admission.authenticate(presented)
        except BrokerError as exc:
            raise _Refused(401, "unauthenticated", str(exc), {"reason": exc.reason}) from None
        trail.token = token
        upstream = self._upstream(trail.upstream, token)
        try:
            return token, upstream, self.admission.credential(upstream)
        except BrokerError as exc:
            raise _Refused(502, "credential_unavailable", str(exc)) from None

    def _upstream(self, name: str, token: TokenInfo) -> Upstream:
        upstream = self.settings.upstreams.get(name)
        if upstream is None:
            raise _Refused(403, "unknown_upstream", f"no upstream {name!r} is configured")
        if not token.allows_upstream(name):
            raise _Refused(
                403,
                "upstream_not_allowed",
                f"token {token.id} is for {', '.join(token.upstreams)}, not {name}",
            )
        return upstream

    async def _place(
        self,
        upstream: Upstream,
        injected: Injected | None,
        body: str,
        query: str,
        headers: dict[str, str],
    ) -> list[analysis.Placed]:
        """Railway objects the request names, each with the environments Railway reports."""
        if upstream.provider != "railway":
            return []
        wanted = railway.targets(body, query, headers.get("content-type", ""))
        if not wanted:
            return []
        auth = {injected.header: injected.value.reveal()} if injected else {}
        endpoint = upstream.url
        if not endpoint.endswith(railway.GRAPHQL_PATH):
            endpoint += railway.GRAPHQL_PATH
        await self.railway.refresh(self.client, endpoint, auth, wanted)
        out = []
        for target in wanted:
            found = self.railway.environments(target.ident) or frozenset({UNKNOWN})
            out.append(analysis.Placed(target.type, target.ident, tuple(sorted(found))))
        return out

    async def _enforce(
        self,
        token: TokenInfo,
        upstream: Upstream,
        decision: Decision,
        placed: list[analysis.Placed],
        method: str,
    ) -> None:
        """Steps 6 and 7's velocity count: every refusal counts against the session."""
        strays = analysis.outside(self.policy, token, placed)
        if strays:
            where = "; ".join(
                f"{p.kind} {p.ident} is in {', '.join(p.environments)}" for p in strays
            )
            message = (
                f"token {token.id} is for {token.environment}, and this request reaches "
                f"outside it: {where}"
            )
            summary = (
                f"{token.environment} token {token.id} of {token.agent} (session "
                f"{token.session}) sent a request to {upstream.name} reaching outside "
                f"{token.environment}: {where}. Denied."
            )
            await run_in_threadpool(
                alerts.raise_alert,
                self.approvals,
                alerts.ENV_MISMATCH,
                token.agent,
                {
                    "summary": summary,
                    "token": token.id,
                    "session": token.session,
                    "environment": token.environment,
                    "upstream": upstream.name,
                    "targets": [p.to_json() for p in strays],
                },
            )
            await self._count(token, "denied", None, "environment_mismatch", message)
            raise _Refused(403, "environment_mismatch", message)
        refused = analysis.refused_operations(token, analysis.operations(method, decision))
        if refused:
            message = f"token {token.id} does not allow {', '.join(refused)}"
            await self._count(token, "denied", None, "operation_not_allowed", message)
            raise _Refused(403, "operation_not_allowed", message)
        if decision.verdict is Verdict.DENY:
            await self._count(token, "denied", None, "denied", decision.message())
            raise _Refused(403, "denied", decision.message(), {"rule": decision.rule})
        if decision.verdict is Verdict.ASK:
            await self._count(token, "destructive", decision.action_digest, "", "")

    async def _count(
        self, token: TokenInfo, kind: str, key: str | None, code: str, message: str
    ) -> None:
        """Count an attempt; over the budget, suspend the session and refuse this attempt."""
        attempts = await run_in_threadpool(self.velocity.record, token.session, kind, key)
        if not self.velocity.exceeded(attempts):
            return
        limit = self.velocity.limit
        why = (
            f"{attempts} denied or destructive attempts within {limit.window:g} s "
            f"(the budget is {limit.attempts})"
        )
        suspended = await run_in_threadpool(
            self.admission.tokens.suspend_session, token.session, f"velocity limit: {why}"
        )
        self.admission.forget_session(token.session)
        if suspended:
            summary = (
                f"session {token.session} of {token.agent} made {why}; its "
                f"{len(suspended)} token(s) are suspended"
            )
            await run_in_threadpool(
                alerts.raise_alert,
                self.approvals,
                alerts.VELOCITY,
                token.agent,
                {
                    "summary": summary,
                    "session": token.session,
                    "tokens": [t.id for t in suspended],
                    "attempts": attempts,
                    "window": limit.window,
                    "budget": limit.attempts,
                },
            )
        then = f" (this attempt: {message})" if message else ""
        raise _Refused(
            403,
            "session_suspended",
            f"the velocity limit suspended this session's tokens: {why}{then}",
            {"refused": code} if code else None,
        )

    async def _approval(
        self, token: TokenInfo, upstream: Upstream, action: Any, trail: Trail
    ) -> None:
        """Consume an approval for exactly this request, or file one (step 7)."""
        # Released only after a vault snapshot of what it destroys (server/predestroy.py).
        outcome, snapshot = await predestroy.release(
            self.state.settings.policy.source,
            self.approvals,
            action,
            reason=f"sent through the Interlock gateway to upstream {upstream.name} "
            f"with token {token.id} ({token.environment})",
        )
        trail.request_id = outcome.request_id
        if not snapshot.ok:
            raise _Refused(503, "snapshot_failed", outcome.message)
        if outcome.state == "approved":
            trail.outcome = "approved"
            return
        base = self.state.settings.base_url
        request = None
        if outcome.request_id:
            request = {
                "id": outcome.request_id,
                "state": outcome.state,
                "url": f"{base}/requests/{outcome.request_id}",
                "status_url": f"{base}/api/v1/requests/{outcome.request_id}/status",
            }
        extra = {"request": request} if request else {}
        if outcome.state == "pending":
            raise _Refused(409, "approval_pending", outcome.message, extra)
        if outcome.state == "killed":
            raise _Refused(403, "killed", outcome.message)
        raise _Refused(403, "approval_denied", outcome.message, extra)

    async def _forward(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        injected: Injected | None,
        trail: Trail,
    ) -> Response:
        outgoing = dict(headers)
        secrets: list[bytes] = []
        if injected is not None:
            value = injected.value.reveal()
            outgoing[injected.header] = value
            secrets = forward.secret_forms(value)
        outgoing["accept-encoding"] = "identity"
        built = self.client.build_request(method, url, headers=outgoing, content=body)
        try:
            upstream = await self.client.send(built, stream=True)
        except httpx.TimeoutException:
            raise _Refused(
                504, "upstream_timeout", f"{trail.upstream} did not answer in time"
            ) from None
        except httpx.HTTPError as exc:
            raise _Refused(
                502, "upstream_unreachable", f"{trail.upstream}: {type(exc).__name__}"
            ) from None
        trail.outcome = trail.outcome or "forwarded"
        trail.status = upstream.status_code

        async def done(sent: int) -> None:
            trail.sent = sent
            self.audit.write(trail.record())

        return _Relay(upstream, forward.Scrubber(secrets), done)


class _Relay(Response):
    """The upstream's reply, streamed; the upstream connection is closed and the request
    audited once the last byte went out (or the client went away)."""

    def __init__(
        self,
        upstream: httpx.Response,
        scrubber: forward.Scrubber,
        done: Callable[[int], Awaitable[None]],
    ) -> None:
        self.upstream = upstream
        self.scrubber = scrubber
        self.done = done
        self.status_code = upstream.status_code
        self.background = None
        self.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in forward.response_headers(upstream.headers.raw, scrubber)
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = 0
        # With a Content-Length the last chunk is known when it arrives and ends the body
        # itself: one write fewer for most replies (a socket write is a system call).
        length = self.upstream.headers.get("content-length", "")
        expected = int(length) if length.isdigit() else None
        finished = False
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for chunk in forward.relay(self.upstream, self.scrubber):
                sent += len(chunk)
                finished = sent == expected
                await send({"type": "http.response.body", "body": chunk, "more_body": not finished})
            if not finished:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self.upstream.aclose()
            await self.done(sent)


# --- request helpers -----------------------------------------------------------------------


def _kill_file(path: str) -> dict[str, Any]:
    """The switch's record from this replica's file; unreadable or malformed still means on."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        record = None
    return record if isinstance(record, dict) else {"by": "?", "reason": "kill switch file"}


def _token_of(request: Request) -> str | None:
    explicit = request.headers.get("x-interlock-token")
    if explicit:
        return explicit.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip().startswith("ilk_"):
        return value.strip()
    return None


def _path_and_query(request: Request, upstream: str) -> tuple[str, str]:
    """The path after ``/gateway/<upstream>`` as the client encoded it, and the query string.

    ``.`` and ``..`` segments are refused, encoded or not: a request must not climb out of the
    upstream's base path.
    """
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    prefix = f"{PREFIX}/{upstream}"
    rest = path[len(prefix) :] if path.startswith(prefix) else ""
    if rest and not rest.startswith("/"):
        raise _Refused(400, "bad_request", "the path after the upstream's name must start with /")
    if any(unquote(s) in (".", "..") for s in rest.split("/")):
        raise _Refused(400, "bad_request", "paths with . or .. segments are not forwarded")
    return rest, request.scope.get("query_string", b"").decode("latin-1")


async def _body(request: Request) -> bytes:
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise _Refused(
            415, "unsupported_encoding", "send the body uncompressed: it is read before it goes on"
        )
    body = await request.body()
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(
            415, "unsupported_body", "the gateway forwards UTF-8 bodies only (it reads them)"
        ) from None
    return body


# --- wiring into the server ----------------------------------------------------------------

_gateways: dict[int, Gateway] = {}


def gateway_of(state: State) -> Gateway:
    """This replica's gateway, built on first use."""
    found = _gateways.get(id(state))
    if found is None:
        found = _gateways[id(state)] = Gateway(state)
    return found


async def endpoint(request: Request) -> Response:
    return await gateway_of(state_of(request)).handle(request)


async def _lifetime(state: State) -> None:
    """Builds the gateway at start-up (a bad [gateway] fails loudly in the log) and closes its
    connections at shutdown."""
    gateway = gateway_of(state)
    try:
        await asyncio.Event().wait()
    finally:
        _gateways.pop(id(state), None)
        await gateway.close()


def _routes() -> list[BaseRoute]:
    return [
        Route(f"{PREFIX}/{{upstream}}", endpoint, methods=METHODS),
        Route(f"{PREFIX}/{{upstream}}/{{path:path}}", endpoint, methods=METHODS),
    ]


register_routes(_routes)
register_background(_lifetime)
