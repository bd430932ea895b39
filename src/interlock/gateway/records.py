"""The audit record of each gateway request, and the writer that batches them.

A record says who (agent, session, token id), where (upstream, the token's environment), what
(method, masked URL, the body's digest and size, targets and their environments), the decision
(verdict, rule, reasons) and what came of it (outcome, approval request id, upstream status,
reply size, time taken). Never the Interlock token, the credential or the body.

The audit log's fsyncs are its cost (about 10 ms on this machine's disk). The writer gathers
the records of concurrent requests and appends them in one
:meth:`~interlock.audit.AuditLog.append_many` from one worker thread: one lock, one fsync pair
per batch, on the same hash chain as the approval server's records. A refusal's record is
awaited before the answer goes out; a forwarded request's is written after its reply.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from interlock.audit import AuditLog
from interlock.broker.tokens import TokenInfo
from interlock.secrets import mask

__all__ = ["AuditWriter", "Trail"]

logger = logging.getLogger(__name__)


@dataclass
class Trail:
    """What the audit record of one request says; filled in as the request goes."""

    upstream: str
    method: str
    url: str = ""
    token: TokenInfo | None = None
    digest: str | None = None
    size: int = 0
    targets: list[dict[str, Any]] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    request_id: str | None = None
    outcome: str = ""
    status: int | None = None
    sent: int = 0
    started: float = field(default_factory=time.perf_counter)

    def record(self) -> dict[str, Any]:
        token = self.token
        return {
            "type": "gateway",
            "event": "request",
            "actor": {
                "agent": token.agent if token else None,
                "session": token.session if token else None,
            },
            "token": token.id if token else None,
            "environment": token.environment if token else None,
            "upstream": self.upstream,
            "request": {
                "method": self.method,
                "url": mask(self.url)[:2000],
                "digest": self.digest,
                "bytes": self.size,
            },
            "targets": self.targets,
            "decision": self.decision,
            "request_id": self.request_id,
            "outcome": self.outcome,
            "status": self.status,
            "reply_bytes": self.sent,
            "ms": round((time.perf_counter() - self.started) * 1000, 3),
        }


class AuditWriter:
    """Appends records in batches; :meth:`write` returns a future set once it is on disk."""

    def __init__(self, log: AuditLog | None) -> None:
        self.log = log
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def write(self, record: dict[str, Any]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if self.log is None:
            done.set_result(None)
            return done
        done.add_done_callback(_retrieved)
        self._pending.append((record, done))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        return done

    async def close(self) -> None:
        """Write what is pending, then stop."""
        if self._task is not None:
            self._task.cancel()
        await self._flush()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch or self.log is None:
            return
        try:
            await run_in_threadpool(self.log.append_many, [record for record, _ in batch])
        except Exception as exc:
            logger.error("gateway audit records not written: %s", exc)
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)


def _retrieved(done: asyncio.Future[None]) -> None:
    """A failure nobody awaits (a forwarded request's record) was logged by the writer."""
    if not done.cancelled():
        done.exception()
