"""``interlock vault serve``: the vault's own process, an append-only HTTP API (docs/vault.md).

In the spirit of restic's rest-server in ``--append-only`` mode: writers add blobs and read
them back; nothing in this API deletes or replaces one. The process is keyless: it checks each
upload against its name (the SHA-256 of the stored bytes) without opening it, and refuses to
start when the folder holds ``vault.key``, since whoever can read the served folder could then
decrypt every backup.

Every request goes through these steps, in order (:class:`Gate`, then the route):

1. the Bearer credential is looked up in ``<vault>/access.json`` (:mod:`interlock.vault.access`);
   none or an unknown one is 401 (429 once the client address has failed 20 times in a
   minute), and nothing else happens;
2. a method other than GET, HEAD and POST is 405 for every credential: deletion and overwrite
   are not verbs of this API;
3. ``/v1/admin/…`` needs the admin key (a writer gets 403);
4. the route: a POST checks the name, the size and the hash before it writes, and writes
   through :meth:`LocalBackend.put`, which refuses a name that exists (hard link, 409).

Every write and every refusal is one JSON line in ``<vault>/serve.log`` (time, client,
credential name and role, method, path, status, outcome), never a token.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from interlock.vault import access
from interlock.vault.backends import Kind, ObjectExists, ObjectLocked
from interlock.vault.backends.local import LocalBackend
from interlock.vault.errors import VaultError, VaultFullError
from interlock.vault.keys import FILE_NAME as KEY_FILE

__all__ = ["FAILURE_LIMIT", "MAX_BLOB", "build_app"]

# Chunks are 4 MiB of plaintext before sealing (repository.CHUNK_SIZE); a sealed blob that
# does not compress is a few bytes more. 16 MiB leaves room for a larger configured chunk.
MAX_BLOB = 16 * 1024 * 1024
MAX_CONFIG = 64 * 1024
FAILURE_LIMIT = 20
# A writer may lock what it stores (retention.py), never for longer than this: garbage locked
# by a stolen writer token must not outlive the vault's disks (the deletion floor's maximum).
MAX_LOCK = timedelta(days=3650)
FAILURE_WINDOW = 60.0
_METHODS = {"GET", "HEAD", "POST"}
_KINDS: dict[str, Kind] = {"objects": "objects", "snapshots": "snapshots"}
_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "exists",
    411: "length_required",
    413: "too_large",
    422: "refused",
    429: "too_many_failures",
    500: "internal",
    503: "unavailable",
    507: "vault_full",
}


def error(status: int, message: str) -> JSONResponse:
    """The API's one error shape: ``{"error": {"code": …, "message": …}}``."""
    return JSONResponse(
        {"error": {"code": _CODES.get(status, "error"), "message": message}}, status_code=status
    )


class ServeLog:
    """``<vault>/serve.log``: one JSON line per write and per refusal, appended and flushed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, request_scope: Scope, status: int, outcome: str, **extra: Any) -> None:
        who = request_scope.get("state", {}).get("identity")
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "client": _client(request_scope),
            "credential": who[1] if who else None,
            "role": who[0] if who else None,
            "method": request_scope.get("method"),
            # The path only, never the query string, and cut short: it is the caller's text.
            "path": str(request_scope.get("path", ""))[:200],
            "status": status,
            "outcome": outcome,
            **extra,
        }
        line = json.dumps(record, ensure_ascii=True) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)


class Failures:
    """Failed authentications per client address in a sliding window (bounded memory)."""

    def __init__(
        self,
        limit: int = FAILURE_LIMIT,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def add(self, client: str) -> int:
        """Record one failure; the client's count in the window, this one included."""
        now = self.clock()
        seen = self._seen.get(client)
        if seen is None:
            if len(self._seen) >= 10_000:
                self._forget(now)
            seen = self._seen[client] = deque()
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        seen.append(now)
        if len(seen) > 4 * self.limit:
            seen.popleft()
        return len(seen)

    def _forget(self, now: float) -> None:
        for client in [c for c, s in self._seen.items() if not s or s[-1] <= now - self.window]:
            del self._seen[client]
        while len(self._seen) >= 10_000:
            del self._seen[next(iter(self._seen))]


class Gate:
    """Steps 1-3 of the module docstring, before any route runs or any body is read."""

    def __init__(self, app: ASGIApp, root: Path, log: ServeLog) -> None:
        self.app = app
        self.root = root
        self.log = log
        self.failures = Failures()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        if (self.root / KEY_FILE).exists():
            # Checked at start (build_app) and on every request: a key copied in later would
            # make whoever can read the folder able to decrypt every backup.
            self.log.write(scope, 503, "refused: the served folder holds vault.key")
            message = f"{KEY_FILE} appeared in the served folder; move it away (docs/vault.md)"
            await error(503, message)(scope, receive, send)
            return
        presented = _bearer(scope)
        try:
            identity = (
                await run_in_threadpool(access.identify, self.root, presented)
                if presented
                else None
            )
        except VaultError as exc:
            # access.json unreadable or open to others: every credential is refused.
            self.log.write(scope, 500, "access.json refused")
            await error(500, f"the vault's credentials cannot be read: {exc}")(scope, receive, send)
            return
        if identity is None:
            count = self.failures.add(_client(scope))
            if count > FAILURE_LIMIT:
                # Only the first refusal past the limit is logged: a flood must not fill the disk.
                if count == FAILURE_LIMIT + 1:
                    self.log.write(scope, 429, "too many failed authentications; not logging more")
                response = error(
                    429, "too many failed authentications from this address; wait a minute"
                )
                response.headers["retry-after"] = str(int(FAILURE_WINDOW))
            else:
                self.log.write(
                    scope, 401, "no credential" if not presented else "unknown credential"
                )
                response = error(401, "send a vault writer token or admin key as a Bearer token")
                response.headers["www-authenticate"] = 'Bearer realm="interlock-vault"'
            await response(scope, receive, send)
            return
        scope["state"]["identity"] = identity
        if scope["method"] not in _METHODS:
            self.log.write(scope, 405, "refused: not a verb of this API")
            response = error(
                405,
                f"{scope['method']} is not allowed: this vault is append-only; deletion goes "
                "through the admin key's cooling-off (docs/vault.md)",
            )
            response.headers["allow"] = "GET, HEAD, POST"
            await response(scope, receive, send)
            return
        if str(scope.get("path", "")).startswith("/v1/admin") and identity[0] != "admin":
            self.log.write(scope, 403, "refused: admin route")
            await error(403, "this route needs the vault admin key")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_app(root: Path, *, backend: LocalBackend | None = None) -> Starlette:
    """The API over the vault folder ``root``; a :class:`VaultError` when it must not be served.

    ``backend``: the storage of ``root`` (a storage-fault seam for tests, as in test_faults).
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise VaultError(
            f"no vault folder at {root}",
            f"make it and its credentials with `interlock vault access init --vault {root}`",
        )
    if (root / KEY_FILE).exists():
        raise VaultError(
            f"{root / KEY_FILE} exists: the served folder must not hold the key that opens it",
            "move it and give clients INTERLOCK_VAULT_KEY_FILE (docs/vault.md, vault serve)",
        )
    if not access.has_credentials(root):
        raise VaultError(
            f"the vault at {root} has no credentials, so every request would be refused",
            f"run `interlock vault access init --vault {root}` and `interlock vault access "
            f"writer-add NAME --vault {root}`",
        )
    backend = backend or LocalBackend(root)
    log = ServeLog(root / "serve.log")

    async def get_config(request: Request) -> Response:
        return await _read(request, backend, "config", "config")

    async def post_config(request: Request) -> Response:
        body = await _body(request, MAX_CONFIG)
        try:
            parsed = json.loads(body)
            if not isinstance(parsed, dict) or parsed.get("format") != "interlock-vault":
                raise ValueError
        except ValueError:
            return _refuse(request, log, 400, "the config must be an interlock-vault JSON object")
        return await _store(request, backend, log, "config", "config", body)

    async def get_blob(request: Request) -> Response:
        kind, name = _kind_and_name(request)
        return await _read(request, backend, kind, name)

    async def list_blobs(request: Request) -> Response:
        kind = _KINDS.get(request.path_params["kind"])
        if kind is None:
            raise HTTPException(404, "no such route: use /v1/objects/ or /v1/snapshots/")
        names = await run_in_threadpool(backend.list, kind)
        return JSONResponse({"names": names})

    async def post_blob(request: Request) -> Response:
        kind, name = _kind_and_name(request)
        body = await _body(request, MAX_BLOB)
        if hashlib.sha256(body).hexdigest() != name:
            return _refuse(
                request, log, 400, "the body's SHA-256 is not its name; nothing was stored"
            )
        return await _store(request, backend, log, kind, name, body)

    async def get_lock(request: Request) -> Response:
        kind, name = _kind_and_name(request)
        until = await run_in_threadpool(backend.locked_until, kind, name)
        return JSONResponse({"until": None if until is None else until.isoformat()})

    async def post_lock(request: Request) -> Response:
        kind, name = _kind_and_name(request)
        try:
            body = json.loads(await _body(request, MAX_CONFIG))
            until = datetime.fromisoformat(body["until"])
            if until.tzinfo is None:
                raise ValueError("no time zone")
        except (ValueError, KeyError, TypeError):
            return _refuse(request, log, 400, 'send {"until": ISO 8601 time with a time zone}')
        if until > datetime.now(UTC) + MAX_LOCK:
            return _refuse(request, log, 422, f"a lock ends at most {MAX_LOCK.days} days from now")
        try:
            await run_in_threadpool(backend.extend_lock, kind, name, until)
        except ObjectLocked as exc:
            return _refuse(request, log, 409, str(exc))
        except VaultError as exc:
            return _refuse(request, log, 422, str(exc))
        log.write(request.scope, 200, "locked", until=until.astimezone(UTC).isoformat())
        return JSONResponse({"until": until.astimezone(UTC).isoformat()})

    routes = [
        *_deletion_routes(root, log),
        # Locks only grow (LocalBackend refuses a shorter one): lengthening only keeps data.
        Route("/v1/locks/{kind:str}/{name:str}", get_lock, methods=["GET"]),
        Route("/v1/locks/{kind:str}/{name:str}", post_lock, methods=["POST"]),
        Route("/v1/config", get_config, methods=["GET", "HEAD"]),
        Route("/v1/config", post_config, methods=["POST"]),
        Route("/v1/{kind:str}/", list_blobs, methods=["GET"]),
        Route("/v1/{kind:str}/{name:str}", get_blob, methods=["GET", "HEAD"]),
        Route("/v1/{kind:str}/{name:str}", post_blob, methods=["POST"]),
    ]

    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.method == "POST" or exc.status_code in (405, 413):
            log.write(request.scope, exc.status_code, f"refused: {exc.detail}")
        return error(exc.status_code, str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.write(request.scope, 500, f"failed: {type(exc).__name__}")
        return error(500, "the vault server failed on this request; see its log")

    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: http_error,  # type: ignore[dict-item]
            Exception: server_error,
        },
    )
    app.add_middleware(Gate, root=root, log=log)
    app.state.root = root
    return app


def _deletion_routes(root: Path, log: ServeLog) -> list[Route]:
    """Deletion requests through :mod:`interlock.vault.deletion` (its cooling-off and alerts).

    Asking is the admin key's (``/v1/admin/deletions``; the Gate refuses writers); listing and
    cancelling are open to every credential, since cancelling only ever keeps data. A purge is
    not a route: it needs the vault key, which this process never holds (run `interlock vault
    purge` on the vault's host with the key at hand).
    """
    from interlock.vault import deletion

    async def request_deletion(request: Request) -> Response:
        if request.scope["state"]["identity"][0] != "admin":  # the Gate checked; again here
            return _refuse(request, log, 403, "this route needs the vault admin key")
        try:
            body = json.loads(await _body(request, MAX_CONFIG))
            if not isinstance(body, dict):
                raise ValueError
            snapshot, reason = str(body["snapshot"]), str(body.get("reason", ""))
            wait = body.get("cooling_off_seconds")
            cooling_off = None if wait is None else float(wait)
        except (ValueError, KeyError, TypeError):
            return _refuse(
                request,
                log,
                400,
                'send {"snapshot": ID, "reason": TEXT[, "cooling_off_seconds": N]}',
            )
        try:
            made = await run_in_threadpool(
                lambda: deletion.request(
                    root, snapshot, reason=reason, by=_by(request), cooling_off=cooling_off
                )
            )
        except VaultError as exc:
            return _refuse(request, log, 422, str(exc))
        log.write(
            request.scope, 201, "deletion requested", deletion=made.id, snapshot=made.snapshot
        )
        return JSONResponse(made.to_json(), status_code=201)

    async def list_deletions(request: Request) -> Response:
        found = await run_in_threadpool(deletion.pending, root)
        return JSONResponse({"pending": [p.to_json() for p in found]})

    async def cancel_deletion(request: Request) -> Response:
        deletion_id = request.path_params["id"]
        try:
            await run_in_threadpool(lambda: deletion.cancel(root, deletion_id, by=_by(request)))
        except VaultError as exc:
            return _refuse(request, log, 422, str(exc))
        log.write(request.scope, 200, "deletion cancelled", deletion=deletion_id)
        return JSONResponse({"cancelled": deletion_id})

    return [
        Route("/v1/admin/deletions", request_deletion, methods=["POST"]),
        Route("/v1/deletions", list_deletions, methods=["GET"]),
        Route("/v1/deletions/{id:str}/cancel", cancel_deletion, methods=["POST"]),
    ]


def _by(request: Request) -> str:
    """Who asks, for the deletion records and alerts: the credential's name and address."""
    role, name = request.scope["state"]["identity"]
    who = "admin key" if role == "admin" else f"writer {name}"
    return f"{who} (vault serve, from {_client(request.scope)})"


def _kind_and_name(request: Request) -> tuple[Kind, str]:
    kind = _KINDS.get(request.path_params["kind"])
    if kind is None:
        raise HTTPException(404, "no such route: use /v1/objects/… or /v1/snapshots/…")
    name = request.path_params["name"]
    if len(name) != 64 or any(c not in "0123456789abcdef" for c in name):
        raise HTTPException(400, "a blob's name is the 64 lowercase hex digits of its SHA-256")
    return kind, name


async def _read(request: Request, backend: LocalBackend, kind: Kind, name: str) -> Response:
    def load() -> bytes | None:
        try:
            return backend.get(kind, name)
        except FileNotFoundError:
            return None

    if request.method == "HEAD":
        path = backend.path(kind, name)
        if not await run_in_threadpool(path.is_file):
            return Response(status_code=404)
        size = (await run_in_threadpool(path.stat)).st_size
        return Response(status_code=200, headers={"content-length": str(size)})
    data = await run_in_threadpool(load)
    if data is None:
        return error(404, f"no {kind} {name[:64]} in this vault")
    return Response(data, media_type="application/octet-stream")


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(413, f"a body of at most {limit} bytes")
    parts: list[bytes] = []
    seen = 0
    async for part in request.stream():
        seen += len(part)
        if seen > limit:
            raise HTTPException(413, f"a body of at most {limit} bytes")
        parts.append(part)
    return b"".join(parts)


async def _store(
    request: Request, backend: LocalBackend, log: ServeLog, kind: Kind, name: str, body: bytes
) -> Response:
    try:
        await run_in_threadpool(backend.put, kind, name, body)
    except ObjectExists:
        return _refuse(request, log, 409, f"{kind} {name} exists; stored blobs are never replaced")
    except VaultFullError:
        return _refuse(request, log, 507, "the vault's disk is full; nothing was stored")
    log.write(request.scope, 201, "stored", size=len(body))
    return JSONResponse({"stored": name, "size": len(body)}, status_code=201)


def _refuse(request: Request, log: ServeLog, status: int, message: str) -> Response:
    log.write(request.scope, status, f"refused: {message}")
    return error(status, message)


def _bearer(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"authorization":
            text = value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
