"""A lean HTTP/1.1 keep-alive client on asyncio streams: the approval bench's load generator.

Why not httpx: the load generator shares the machine's two cores with the server, so every
microsecond it spends is taken from the server. Measured here against `/health`, 16
connections: httpx.AsyncClient reached about 470 requests/s (p99 165 ms) while this client
reached about 4,500 (p99 6 ms) against the same server. With httpx the bench would measure
httpx. This client speaks just what the server answers (Content-Length or chunked bodies,
keep-alive) and fails loudly on anything else.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Check = Callable[[int, bytes], str | None]
"""Returns what is wrong with an answer (status, body), or None when it is the expected one."""


@dataclass(frozen=True)
class Call:
    """One request of a series, built before the series starts so building is not timed."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    check: Check | None = None

    def wire(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method in ("POST", "PUT", "DELETE"):
            lines += ["Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def post_json(path: str, data: Any, headers: Sequence[tuple[str, str]] = (), **kw: Any) -> Call:
    return Call("POST", path, json.dumps(data).encode(), tuple(headers), **kw)


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Ran:
    """What one series did: per-call latency and answer, in call order."""

    name: str
    latencies_ns: list[int]
    answers: list[Answer]
    wall_s: float
    client_cpu_s: float
    problems: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ns) / self.wall_s if self.wall_s > 0 else 0.0


class ProtocolError(Exception):
    """The server answered something this client does not read (a bench bug, or a broken server)."""


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, call: Call) -> tuple[Answer, bool]:
        """The answer, and whether the server keeps the connection open."""
        self.writer.write(call.wire())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {status_line!r}")
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            body = await self._chunked()
        else:
            raise ProtocolError(f"no Content-Length in the answer to {call.method} {call.path}")
        return Answer(int(parts[1]), body, headers), headers.get("connection") != "close"

    async def _chunked(self) -> bytes:
        out = bytearray()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return bytes(out)
            out += await self.reader.readexactly(size)
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


async def _closed(port: int, calls: Sequence[Call], concurrency: int) -> Ran:
    """Each connection sends its next call as soon as the last one is answered: capacity."""
    latencies = [0] * len(calls)
    answers: list[Answer | None] = [None] * len(calls)
    queue = iter(range(len(calls)))

    async def worker() -> None:
        conn = await Connection.open(port)
        try:
            for index in queue:
                started = time.perf_counter_ns()
                answers[index], keep = await conn.send(calls[index])
                latencies[index] = time.perf_counter_ns() - started
                if not keep:
                    conn.close()
                    conn = await Connection.open(port)
        finally:
            conn.close()

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(calls)))))
    return _ran(latencies, answers, time.perf_counter() - started, time.process_time() - cpu)


async def _paced(port: int, calls: Sequence[Call], concurrency: int, rate: float) -> Ran:
    """Call ``i`` is due at ``i / rate`` s, whether or not earlier ones were answered.

    Its latency counts from when it was due, not from when a connection was free to send
    it: a server that falls behind sees its queue in the figures (no coordinated omission).
    Up to ``concurrency`` connections are open; a due call waits for a free one.
    """
    latencies = [0] * len(calls)
    answers: list[Answer | None] = [None] * len(calls)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(min(concurrency, len(calls))):
        pool.put_nowait(await Connection.open(port))
    interval = 1e9 / rate

    async def one(index: int, due: int) -> None:
        conn = await pool.get()
        try:
            answers[index], keep = await conn.send(calls[index])
            latencies[index] = time.perf_counter_ns() - due
        except BaseException:
            conn.close()
            raise
        if not keep:
            conn.close()
            conn = await Connection.open(port)
        pool.put_nowait(conn)

    cpu, started = time.process_time(), time.perf_counter()
    first = time.perf_counter_ns()
    tasks = []
    for index in range(len(calls)):
        due = first + int(index * interval)
        ahead = due - time.perf_counter_ns()
        if ahead > 0:
            await asyncio.sleep(ahead / 1e9)
        tasks.append(asyncio.create_task(one(index, due)))
    try:
        await asyncio.gather(*tasks)
    finally:
        while not pool.empty():
            pool.get_nowait().close()
    return _ran(latencies, answers, time.perf_counter() - started, time.process_time() - cpu)


def _ran(latencies: list[int], answers: list[Answer | None], wall: float, cpu: float) -> Ran:
    done = [a for a in answers if a is not None]
    if len(done) != len(answers):
        raise ProtocolError(f"{len(answers) - len(done)} calls got no answer")
    return Ran("", latencies, done, wall, cpu)


def run(
    name: str, port: int, calls: Sequence[Call], concurrency: int, rate: float | None = None
) -> Ran:
    """Send ``calls`` over up to ``concurrency`` keep-alive connections, each timed on its own.

    Without ``rate``, closed loop: as fast as the server answers (its capacity, and latency
    that is mostly queueing: with 16 connections busy, median ≈ 16 / throughput). With
    ``rate``, open loop: calls are due at that many per second (:func:`_paced`), which is
    what "N requests per second with p99 under X" asks about.

    Every answer is checked after the series (outside the timing); a series with any
    problem is judged FAIL by the caller.
    """
    if not calls:
        raise ValueError(f"{name}: no calls")
    if rate is None:
        ran = asyncio.run(_closed(port, calls, concurrency))
    else:
        ran = asyncio.run(_paced(port, calls, concurrency, rate))
    ran.name = name
    for call, answer in zip(calls, ran.answers, strict=True):
        problem = call.check(answer.status, answer.body) if call.check else None
        if problem is None and not 200 <= answer.status < 300 and call.check is None:
            problem = f"HTTP {answer.status}: {answer.body[:200]!r}"
        if problem is not None:
            ran.problems.append(f"{call.method} {call.path}: {problem}")
    return ran


def fetch(port: int, call: Call) -> Answer:
    """One untimed request (setup and checks)."""

    async def once() -> Answer:
        conn = await Connection.open(port)
        try:
            return (await conn.send(call))[0]
        finally:
            conn.close()

    return asyncio.run(once())
