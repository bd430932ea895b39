"""Small local servers speaking the protocols of the services Interlock notifies.

Slack incoming webhooks, PagerDuty Events API v2 and a generic JSON webhook, each a stdlib
``ThreadingHTTPServer`` on 127.0.0.1 in a thread (STYLE.md §9: fakes only for services we cannot
run, as servers, never patches of our own code). Each one

- answers as the real service does: Slack ``200 ok`` or ``400 invalid_payload`` / ``no_text`` /
  ``invalid_blocks``, ``404 no_service`` for an unknown hook; PagerDuty ``202
  {"status": "success", "dedup_key": …}`` or ``400 {"status": "invalid event", "errors": […]}``
  after checking the event as its documentation states (routing_key of 32 characters,
  event_action, dedup_key for resolve, payload.summary/source/severity for trigger);
- records every request it got, with the time and the status it answered (``received``);
- can be told to fail the next N requests (``fail(n, status=500)``, or 429 with a
  ``Retry-After``), or to fail every request (``fail(None, …)``).

They print nothing: http.server would log each request's path, and a webhook's path is its
secret, which the tests look for in the captured output.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Received:
    """One request as it arrived, and the status it was answered with."""

    at: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Failure:
    remaining: int | None  # None: every request from now on
    status: int
    retry_after: int | None
    body: Callable[[str], bytes] | None


class FakeService:
    """The shared machinery: a server in a thread, a record, scripted failures."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._failure: _Failure | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(
        self,
        times: int | None,
        status: int = 500,
        *,
        retry_after: int | None = None,
        body: Callable[[str], bytes] | None = None,
    ) -> None:
        """Answer the next ``times`` requests (None: all of them) with ``status``."""
        self._failure = _Failure(times, status, retry_after, body)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """The protocol: what the real service answers to this request."""
        raise NotImplementedError

    def wait_for(self, count: int, timeout: float = 15.0, ok: bool = False) -> list[Received]:
        """The requests received (answered 2xx only, if ``ok``) once there are ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            got = [r for r in self.received if not ok or 200 <= r.status < 300]
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{type(self).__name__} got {len(got)} of {count}: {got}")
            time.sleep(0.05)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _scripted(self, path: str) -> Answer | None:
        with self._lock:
            failure = self._failure
            if failure is None:
                return None
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failure = None
        headers = {"Content-Type": "text/plain"}
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        body = failure.body(path) if failure.body else self.failure_body(failure.status)
        return failure.status, headers, body

    def failure_body(self, status: int) -> bytes:
        return b"rate_limited" if status == 429 else b"internal_error"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out_headers, out = fake._scripted(self.path) or fake.answer(
                    self.path, headers, body
                )
                with fake._lock:
                    fake.received.append(
                        Received(time.time(), "POST", self.path, headers, body, status)
                    )
                self.send_response(status)
                for name, value in out_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the path of a webhook is its secret."""

        return Handler


# --- Slack ----------------------------------------------------------------------------------

_BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "image", "rich_text"}


class SlackWebhook(FakeService):
    """``POST /services/T…/B…/<secret>``: 200 ``ok``, or Slack's error words."""

    def __init__(self) -> None:
        super().__init__()
        self.secret = "xoxwebhook" + secrets.token_hex(12)
        self.path = f"/services/T0FAKE1234/B0FAKE5678/{self.secret}"

    @property
    def url(self) -> str:
        return self.base + self.path

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if path != self.path:
            return _text(404, "no_service")
        try:
            message = json.loads(body)
        except ValueError:
            return _text(400, "invalid_payload")
        if not isinstance(message, dict):
            return _text(400, "invalid_payload")
        if not message.get("text") and not message.get("blocks"):
            return _text(400, "no_text")
        if "blocks" in message and not valid_blocks(message["blocks"]):
            return _text(400, "invalid_blocks")
        return _text(200, "ok")

    def messages(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.received if r.status == 200]


def valid_blocks(blocks: Any) -> bool:
    """Block Kit's limits for the blocks Interlock sends (api.slack.com/reference/block-kit)."""
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return False
    return all(isinstance(b, dict) and _valid_block(b) for b in blocks)


def _valid_block(block: dict[str, Any]) -> bool:
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        return False
    if kind == "header":
        text = block.get("text")
        return _text_object(text, 150) and text["type"] == "plain_text"
    if kind == "section":
        fields = block.get("fields", [])
        if "text" not in block and not fields:
            return False
        if "text" in block and not _text_object(block["text"], 3000):
            return False
        return (
            isinstance(fields, list)
            and len(fields) <= 10
            and all(_text_object(f, 2000) for f in fields)
        )
    if kind == "context":
        elements = block.get("elements")
        return (
            isinstance(elements, list)
            and 0 < len(elements) <= 10
            and all(_text_object(e, 3000) for e in elements)
        )
    if kind == "actions":
        elements = block.get("elements")
        return (
            isinstance(elements, list)
            and 0 < len(elements) <= 25
            and all(_button(e) for e in elements)
        )
    return True


def _text_object(value: Any, limit: int) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") in ("plain_text", "mrkdwn")
        and isinstance(value.get("text"), str)
        and 0 < len(value["text"]) <= limit
    )


def _button(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "button"
        and _text_object(value.get("text"), 75)
        and value["text"]["type"] == "plain_text"
        and value.get("style", "primary") in ("primary", "danger")
        and isinstance(value.get("url", ""), str)
        and len(value.get("url", "")) <= 3000
    )


# --- PagerDuty ------------------------------------------------------------------------------

_SEVERITIES = ("critical", "error", "warning", "info")


class PagerDutyEvents(FakeService):
    """``POST /v2/enqueue`` of the Events API v2, validated as PagerDuty documents it."""

    path = "/v2/enqueue"

    def __init__(self) -> None:
        super().__init__()
        self.routing_key = "R0" + secrets.token_hex(15)  # 32 characters, like an integration key

    @property
    def url(self) -> str:
        return self.base + self.path

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if path != self.path:
            return _json(404, {"status": "not found"})
        try:
            event = json.loads(body)
        except ValueError:
            return _invalid("Event object is not valid JSON")
        if not isinstance(event, dict):
            return _invalid("Event object must be an object")
        errors = event_errors(event)
        if errors:
            return _invalid(*errors)
        key = event.get("dedup_key") or secrets.token_hex(16)
        return _json(202, {"status": "success", "message": "Event processed", "dedup_key": key})

    def failure_body(self, status: int) -> bytes:
        if status == 429:
            return json.dumps({"status": "throttle event", "message": "Too many events"}).encode()
        return json.dumps({"status": "error", "message": "Internal error, retry"}).encode()

    def events(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.received if r.status == 202]


def event_errors(event: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errors.append("'event_action' is invalid (must be trigger, acknowledge or resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append(f"'dedup_key' is required for {action}")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return [*errors, "'payload' is missing"]
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > 1024:
            errors.append("'payload.summary' is missing or longer than 1024 characters")
        if not isinstance(payload.get("source"), str) or not payload["source"]:
            errors.append("'payload.source' is missing")
        if payload.get("severity") not in _SEVERITIES:
            errors.append("'payload.severity' must be critical, error, warning or info")
        links = event.get("links", [])
        if not isinstance(links, list) or any(
            not isinstance(link, dict) or "href" not in link for link in links
        ):
            errors.append("'links' must be a list of objects with an href")
    return errors


def _invalid(*errors: str) -> Answer:
    return _json(
        400,
        {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)},
    )


# --- a generic webhook ----------------------------------------------------------------------


class GenericWebhook(FakeService):
    """Any JSON receiver: ``200 {"ok": true}`` for a JSON object, 400 otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.token = "hooktoken" + secrets.token_hex(10)
        self.url = f"{self.base}/hooks/interlock?token={self.token}"

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        try:
            payload = json.loads(body)
        except ValueError:
            return _json(400, {"ok": False, "error": "not JSON"})
        if not isinstance(payload, dict) or "content-type" not in headers:
            return _json(400, {"ok": False, "error": "expected a JSON object"})
        return _json(200, {"ok": True})

    def payloads(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.received if r.status == 200]


def _text(status: int, text: str) -> Answer:
    return status, {"Content-Type": "text/html"}, text.encode()


def _json(status: int, value: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()
