"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Written out rather than generated: the API is small, and the document is where its
authorisation rules are stated for clients (tests/server/test_api.py checks that every API
route of the app is in it and nothing else).
"""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
_AGENT = "No credential: agents file and read; they cannot approve."
_APPROVER = "Approver session cookie."
_WRITE = "Approver session cookie and its CSRF token (X-CSRF-Token header)."


def _op(summary: str, auth: str, ok: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok or {"description": "OK"}}
    for code in ("400", "401", "403", "404", "409", "413"):
        responses[code] = {
            "description": "error",
            "content": {"application/json": {"schema": _ERROR}},
        }
    return {"summary": summary, "description": auth, "responses": responses, **extra}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _id() -> dict[str, Any]:
    return {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    }


def document() -> dict[str, Any]:
    action = {
        "type": "object",
        "required": ["kind", "payload"],
        "properties": {
            "kind": {"enum": ["shell", "sql", "http", "terraform_plan", "tool_call"]},
            "payload": {"type": "object"},
            "env": {"type": ["string", "null"]},
            "cwd": {"type": ["string", "null"]},
            "actor": {"type": "object", "properties": {"agent": {}, "session": {}}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Interlock approval server", "version": "1"},
        "paths": {
            "/health": {"get": _op("Liveness", "None.")},
            "/api/v1/openapi.json": {"get": _op("This document", "None.")},
            "/api/v1/requests": {
                "post": _op(
                    "File an action for approval, or consume its approval",
                    _AGENT,
                    **_body(
                        {
                            "type": "object",
                            "required": ["action"],
                            "properties": {
                                "action": action,
                                "reason": {"type": "string"},
                                "requester": {"type": "string"},
                            },
                        }
                    ),
                ),
                "get": _op("List requests (?state=pending)", _APPROVER),
            },
            "/api/v1/requests/{id}": {"get": _op("A request's card", _APPROVER, **_id())},
            "/api/v1/requests/{id}/status": {
                "get": _op("State only; ?wait=N long-polls while pending", _AGENT, **_id())
            },
            "/api/v1/requests/{id}/votes": {
                "post": _op(
                    "Approve or deny, for the binding shown on the card",
                    _WRITE,
                    **_id(),
                    **_body(
                        {
                            "type": "object",
                            "required": ["vote", "binding"],
                            "properties": {
                                "vote": {"enum": ["approve", "deny"]},
                                "binding": {"type": "string"},
                                "note": {"type": "string"},
                            },
                        }
                    ),
                )
            },
            "/api/v1/requests/{id}/cancel": {
                "post": _op("Cancel a pending request", _WRITE, **_id())
            },
            "/api/v1/session": {
                "post": _op(
                    "Sign in (sets the session cookie, returns the CSRF token)",
                    "None.",
                    **_body({"type": "object", "required": ["username", "password"]}),
                ),
                "get": _op("Who is signed in", _APPROVER),
                "delete": _op("Sign out", _WRITE),
            },
            "/api/v1/killswitch": {
                "get": _op("Kill switch state", "None."),
                "post": _op(
                    "Turn the kill switch on or off",
                    _WRITE,
                    **_body({"type": "object", "required": ["killed"]}),
                ),
            },
            "/api/v1/events": {"get": _op("Server-sent events of every transition", _APPROVER)},
            "/api/v1/alerts": {
                "post": _op(
                    "Report a honeytoken used by an agent session: stops the session, "
                    "suspends its tokens, pages (201)",
                    _AGENT,
                    **_body(
                        {
                            "type": "object",
                            "required": ["kind"],
                            "properties": {
                                "kind": {"enum": ["honeytoken"]},
                                "agent": {"type": "string"},
                                "session": {"type": ["string", "null"]},
                                "file": {"type": "string"},
                                "token_kind": {"type": "string"},
                                "how": {"type": "string"},
                                "masked": {"type": "string"},
                                "fingerprint": {"type": "string"},
                                "project": {"type": "string"},
                                "user": {"type": "string"},
                            },
                        }
                    ),
                )
            },
            "/api/v1/deliveries": {
                "get": _op(
                    "Notification deliveries, newest first (?state=failed&request_id=&limit=)",
                    _APPROVER,
                )
            },
            "/api/v1/vault/sources": {
                "get": _op(
                    "Every vault source: newest backup, last drill and verified restore, ages, "
                    "and whether it is stale (past its RPO) or its drill is overdue (26 h)",
                    _APPROVER,
                )
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                }
            }
        },
    }
