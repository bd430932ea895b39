"""A scripted model endpoint that speaks each agent CLI's real API, on 127.0.0.1 (stdlib only).

One server answers all three protocols, by path (shapes measured in realclients.md):

- Anthropic Messages (Claude Code): ``POST /v1/messages`` (always with ``?beta=true``),
  streamed as server-sent events; a request without ``tools`` is a side request (the auto-mode
  classifier) and gets ``side_text``.
- OpenAI Responses (Codex): ``POST /v1/responses``, streamed.
- Gemini (Gemini CLI): ``POST /v1beta/models/M:streamGenerateContent?alt=sse`` for each turn,
  ``…:generateContent`` for the model-router classifier (answered with a minimal instance of
  the JSON schema it asks for).

The script is stateless, as the clients resend the whole conversation on every turn: the next
step is found by counting the tool calls already in the conversation. ``steps`` is a list of
turns; each turn is a list of ``[tool name, arguments]`` calls (several = parallel tool calls).
After the last step the model answers ``final`` and ends its turn.

Every request body is kept (``requests``) so a test can read the tool results the model got.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Call = tuple[str, dict[str, Any]]


class Script:
    def __init__(self, steps: list[list[Call]], final: str, side_text: str) -> None:
        self.steps = steps
        self.final = final
        self.side_text = side_text

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Script:
        steps = [[(str(n), dict(a)) for n, a in turn] for turn in data["steps"]]
        return cls(steps, str(data.get("final", "Done.")), str(data.get("side_text", "")))

    def next_turn(self, calls_so_far: int) -> list[Call] | None:
        """The calls of the next turn, or None when the model should answer ``final``."""
        seen = 0
        for turn in self.steps:
            if calls_so_far <= seen:
                return turn
            seen += len(turn)
        return None


def _sse(event: str | None, data: dict[str, Any]) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


# --- Anthropic Messages ---------------------------------------------------------------------


def anthropic_calls_so_far(body: dict[str, Any]) -> int:
    count = 0
    for message in body.get("messages", []):
        content = message.get("content")
        if message.get("role") == "assistant" and isinstance(content, list):
            count += sum(1 for b in content if b.get("type") == "tool_use")
    return count


def anthropic_message(body: dict[str, Any], script: Script) -> tuple[list[dict[str, Any]], str]:
    if not body.get("tools"):
        return [{"type": "text", "text": script.side_text}], "end_turn"
    turn = script.next_turn(anthropic_calls_so_far(body))
    if turn is None:
        return [{"type": "text", "text": script.final}], "end_turn"
    blocks: list[dict[str, Any]] = [{"type": "text", "text": "Running the scripted step."}]
    blocks += [{"type": "tool_use", "id": _id("toolu_"), "name": n, "input": a} for n, a in turn]
    return blocks, "tool_use"


def anthropic_stream(model: str, blocks: list[dict[str, Any]], stop: str) -> bytes:
    usage = {
        "input_tokens": 100,
        "output_tokens": 1,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    start = {
        "id": _id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    out = [_sse("message_start", {"type": "message_start", "message": start})]
    out.append(_sse("ping", {"type": "ping"}))
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            first = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            first = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        out.append(
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": i, "content_block": first},
            )
        )
        out.append(
            _sse("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta})
        )
        out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": i}))
    out.append(
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 20},
            },
        )
    )
    out.append(_sse("message_stop", {"type": "message_stop"}))
    return b"".join(out)


def anthropic_plain(model: str, blocks: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    return {
        "id": _id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 20},
    }


# --- OpenAI Responses -----------------------------------------------------------------------


def responses_calls_so_far(body: dict[str, Any]) -> int:
    items = body.get("input")
    if not isinstance(items, list):
        return 0
    return sum(1 for i in items if isinstance(i, dict) and i.get("type") == "function_call")


def responses_stream(body: dict[str, Any], script: Script) -> bytes:
    model = str(body.get("model", "fake-model"))
    rid = _id("resp_")
    turn = script.next_turn(responses_calls_so_far(body))
    base = {"id": rid, "object": "response", "model": model, "status": "in_progress", "output": []}
    out = [
        _sse("response.created", {"type": "response.created", "response": base}),
        _sse("response.in_progress", {"type": "response.in_progress", "response": base}),
    ]
    items: list[dict[str, Any]] = []
    if turn is None:
        items.append(
            {
                "type": "message",
                "id": _id("msg_"),
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": script.final, "annotations": []}],
            }
        )
    else:
        for name, args in turn:
            items.append(
                {
                    "type": "function_call",
                    "id": _id("fc_"),
                    "call_id": _id("call_"),
                    "name": name,
                    "arguments": json.dumps(args),
                    "status": "completed",
                }
            )
    for index, item in enumerate(items):
        added = {**item, "status": "in_progress"}
        if item["type"] == "message":
            added["content"] = []
        out.append(
            _sse(
                "response.output_item.added",
                {"type": "response.output_item.added", "output_index": index, "item": added},
            )
        )
        if item["type"] == "function_call":
            for event in ("delta", "done"):
                key = "delta" if event == "delta" else "arguments"
                out.append(
                    _sse(
                        f"response.function_call_arguments.{event}",
                        {
                            "type": f"response.function_call_arguments.{event}",
                            "item_id": item["id"],
                            "output_index": index,
                            key: item["arguments"],
                        },
                    )
                )
        else:
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": "", "annotations": []}
            common = {"item_id": item["id"], "output_index": index, "content_index": 0}
            out.append(
                _sse(
                    "response.content_part.added",
                    {"type": "response.content_part.added", **common, "part": part},
                )
            )
            out.append(
                _sse(
                    "response.output_text.delta",
                    {"type": "response.output_text.delta", **common, "delta": text},
                )
            )
            out.append(
                _sse(
                    "response.output_text.done",
                    {"type": "response.output_text.done", **common, "text": text},
                )
            )
            out.append(
                _sse(
                    "response.content_part.done",
                    {
                        "type": "response.content_part.done",
                        **common,
                        "part": {**part, "text": text},
                    },
                )
            )
        out.append(
            _sse(
                "response.output_item.done",
                {"type": "response.output_item.done", "output_index": index, "item": item},
            )
        )
    usage = {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 20,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 120,
    }
    done = {**base, "status": "completed", "output": items, "usage": usage}
    out.append(_sse("response.completed", {"type": "response.completed", "response": done}))
    return b"".join(out)


# --- Gemini ---------------------------------------------------------------------------------


def gemini_calls_so_far(body: dict[str, Any]) -> int:
    count = 0
    for content in body.get("contents", []):
        if content.get("role") == "model":
            count += sum(1 for p in content.get("parts", []) if "functionCall" in p)
    return count


def gemini_turn(body: dict[str, Any], script: Script) -> dict[str, Any]:
    turn = script.next_turn(gemini_calls_so_far(body))
    if turn is None:
        parts: list[dict[str, Any]] = [{"text": script.final}]
    else:
        parts = [{"functionCall": {"name": n, "args": a}} for n, a in turn]
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "candidatesTokenCount": 20,
            "totalTokenCount": 120,
        },
        "modelVersion": "fake-model",
    }


def gemini_router(body: dict[str, Any]) -> dict[str, Any]:
    """The model-router classifier wants JSON with complexity_reasoning and complexity_score."""
    answer = json.dumps({"complexity_reasoning": "scripted", "complexity_score": 1})
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": answer}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
    }


# --- the server -----------------------------------------------------------------------------


class FakeModel(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    server: FakeModel
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._json(404, {"error": {"message": "not scripted"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.requests.append({"path": path, "body": body})
        script = self.server.script
        if path == "/v1/messages":
            blocks, stop = anthropic_message(body, script)
            model = str(body.get("model", "fake-model"))
            if body.get("stream"):
                self._stream(anthropic_stream(model, blocks, stop))
            else:
                self._json(200, anthropic_plain(model, blocks, stop))
        elif path == "/v1/messages/count_tokens":
            self._json(200, {"input_tokens": 100})
        elif path == "/v1/responses":
            self._stream(responses_stream(body, script))
        elif path.endswith(":streamGenerateContent"):
            chunk = gemini_turn(body, script)
            self._stream(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
        elif path.endswith(":generateContent"):
            self._json(200, gemini_router(body))
        else:
            self._json(404, {"error": {"message": f"not scripted: {path}"}})

    def _json(self, status: int, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _stream(self, raw: bytes) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(raw)
        self.wfile.flush()
        self.close_connection = True
