"""What each notification channel receives: pure functions from a request's view to a message.

No I/O here (notify.py sends). Every string that came from an agent (the command, its targets,
its reason) was masked when the card was built and is masked again here; for Slack it is also
escaped, so an agent cannot put a link (``<https://evil|Approve>``) or a mention (``<!channel>``)
into the message people act on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from interlock import __version__
from interlock.secrets import mask, mask_json
from interlock.server.settings import Channel

CREATED = "created"
DECIDED = ("approved", "denied", "expired", "cancelled")
KINDS = (CREATED, *DECIDED)
"""The events that notify: a request filed, and the one transition out of ``pending``."""
ALERTS: dict[str, str] = {
    "gateway_env_mismatch": "critical",
    "gateway_velocity": "critical",
    "honeytoken": "critical",
    # The vault (issue 7; vault/report.py and server/vault_status.py write them): data at risk
    # pages as critical, a job that failed once (it is retried) as an error.
    "vault.backup_failed": "error",
    "vault.predestroy_failed": "critical",  # an approved action held: server/predestroy.py
    "vault.stale": "critical",
    "vault.drill_failed": "critical",
    "vault.no_drill": "error",
    "vault.recovered": "info",
    "vault.deletion_requested": "critical",
    "vault.deletion_cancelled": "warning",
    "vault.deletion_done": "warning",
}
"""Events that notify with no approval request behind them: kind -> PagerDuty severity. Their
``detail`` carries a one-line ``summary`` (interlock.gateway.alerts writes them)."""
EVENT_PREFIX = "event:"
"""An alert's deliveries name ``event:<seq>`` where others name a request id."""

_EXCERPT = 600


@dataclass(frozen=True)
class Message:
    """One HTTP body for one channel, and the headers that go with it."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def card_url(base_url: str, request_id: str) -> str:
    return f"{base_url}/requests/{request_id}"


def build(
    channel: Channel, kind: str, view: dict[str, Any], base_url: str, delivery: int
) -> Message:
    """The message ``channel`` gets for event ``kind`` of the request in ``view``."""
    url = card_url(base_url, view["id"])
    if channel.type == "slack":
        payload = slack_created(view, url) if kind == CREATED else slack_decided(kind, view, url)
        return _json(payload)
    if channel.type == "pagerduty":
        assert channel.routing_key is not None  # settings require it
        return _json(pagerduty_event(channel.routing_key.reveal(), kind, view, url, base_url))
    return webhook(channel, kind, view, url, delivery)


def _json(payload: dict[str, Any]) -> Message:
    return Message(json.dumps(payload, ensure_ascii=False).encode(), _HEADERS)


_HEADERS = {"Content-Type": "application/json", "User-Agent": f"Interlock/{__version__}"}


# --- Slack (incoming webhook, Block Kit) ----------------------------------------------------


def slack_created(view: dict[str, Any], url: str) -> dict[str, Any]:
    """A Block Kit message: what, where (production unmistakable), who asked, time left, link."""
    card = view["card"]
    production = bool(view["production"])
    what = _what(card)
    title = "🚨 PRODUCTION: approval needed" if production else "Approval needed"
    fields = [
        f"*Environment*\n{_environment(view)}",
        f"*Targets*\n{_code_list(_targets(card))}",
        f"*Can be undone*\n{_reversible(card.get('reversible'))}",
        f"*Requested by*\n{_requester(view)}",
        f"*Time left*\n{duration(view['expires_in'])} (then it is denied)",
        f"*Approvals needed*\n{view['quorum']} distinct {_people(view['quorum'])}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
        {
            "type": "section",
            "text": _mrkdwn(f"*{escape(what)}*\n{escape(_summary(card))}"),
            "fields": [_mrkdwn(f[:2000]) for f in fields],
        },
        {
            "type": "section",
            "text": _mrkdwn(f"*Exact {card['kind']} action* (secrets masked)\n{_code(card)}"),
        },
    ]
    if card.get("agent_reason"):
        reason = escape(mask(card["agent_reason"]))[:2900]
        blocks.append({"type": "context", "elements": [_mrkdwn(f"Agent's reason: {reason}")]})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open_card",
                    "text": {"type": "plain_text", "text": "Open the card to decide"},
                    "url": url,
                    "style": "danger" if production else "primary",
                }
            ],
        }
    )
    prefix = "[PRODUCTION] " if production else ""
    fallback = f"{prefix}Approval needed: {escape(what)} ({view['id']}) {url}"
    return {"text": fallback, "blocks": blocks}


def slack_decided(kind: str, view: dict[str, Any], url: str) -> dict[str, Any]:
    """A follow-up: incoming webhooks cannot edit the first message, so a second one says who."""
    headline = decided_headline(kind, view)
    what = _what(view["card"])
    text = f"{headline}: *{escape(what)}* in {_environment(view)}\n<{url}|{view['id']}>"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(text[:3000])}]
    notes = [f"{v['approver']}: {v['note']}" for v in view.get("votes", []) if v.get("note")]
    if notes:
        quoted = escape(mask("\n".join(notes)))[:2900]
        blocks.append({"type": "context", "elements": [_mrkdwn(quoted)]})
    return {"text": f"{headline}: {escape(what)} ({view['id']})", "blocks": blocks}


def decided_headline(kind: str, view: dict[str, Any]) -> str:
    who = ", ".join(view.get("decided_by") or []) or "someone"
    if kind == "approved":
        return f"✅ Approved by {escape(who)}"
    if kind == "denied":
        return (
            "⛔ Denied by the kill switch"
            if who == "kill-switch"
            else f"⛔ Denied by {escape(who)}"
        )
    if kind == "expired":
        return "⌛ Expired: nobody decided in time, so it is denied"
    return f"Cancelled by {escape(who)}"


def escape(text: str) -> str:
    """Slack's three control characters; what remains cannot form a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _code(card: dict[str, Any]) -> str:
    text = excerpt(card)
    # A ``` inside the command would close the block and let the rest format as markup.
    return "```" + escape(text).replace("```", "`\u200b``") + "```"


def _code_list(items: list[str]) -> str:
    if not items:
        return "none named"
    shown = ", ".join(f"`{escape(t).replace('`', 'ˋ')}`" for t in items[:5])
    return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def _environment(view: dict[str, Any]) -> str:
    name = escape(view.get("environment") or "not named")
    return f"🚨 *PRODUCTION* (`{name}`)" if view["production"] else f"`{name}`"


def _requester(view: dict[str, Any]) -> str:
    who = view.get("requester") or {}
    parts = [f"agent `{escape(who.get('agent') or 'unknown')}`"]
    if who.get("session"):
        parts.append(f"session `{escape(str(who['session'])[:80])}`")
    if who.get("user"):
        parts.append(f"user `{escape(who['user'])}`")
    return ", ".join(parts)


def _people(count: int) -> str:
    return "person" if count == 1 else "people"


# --- PagerDuty (Events API v2) --------------------------------------------------------------


def pagerduty_event(
    routing_key: str, kind: str, view: dict[str, Any], url: str, base_url: str
) -> dict[str, Any]:
    """``trigger`` when filed, ``resolve`` (same dedup_key: the request id) when decided."""
    if kind != CREATED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": view["id"]}
    card = view["card"]
    production = bool(view["production"])
    where = view.get("environment") or "unnamed environment"
    agent = (view.get("requester") or {}).get("agent") or "an agent"
    summary = (
        f"{'[PRODUCTION] ' if production else ''}Approval needed: {_what(card)} "
        f"in {where}, asked by {agent} ({view['id']})"
    )
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": view["id"],
        "payload": {
            "summary": summary[:1024],
            "source": urlsplit(base_url).hostname or "interlock",
            "severity": "critical" if production else "warning",
            "timestamp": _iso(view["created_at"]),
            "component": where,
            "group": agent,
            "class": (card.get("operations") or [card["kind"]])[0],
            "custom_details": {
                "request_id": view["id"],
                "operations": card.get("operations", []),
                "targets": _targets(card),
                "environment": view.get("environment"),
                "production": production,
                "reversible": card.get("reversible"),
                "action": excerpt(card),
                "agent_reason": mask(card.get("agent_reason") or ""),
                "requester": view.get("requester"),
                "approvals_needed": view["quorum"],
                "expires_at": _iso(view["expires_at"]),
                "card": url,
            },
        },
        "links": [{"href": url, "text": f"Approval card {view['id']}"}],
        "client": "Interlock",
        "client_url": url,
    }


# --- generic JSON webhook -------------------------------------------------------------------

SIGNATURE_HEADER = "X-Interlock-Signature"
TIMESTAMP_HEADER = "X-Interlock-Timestamp"


def webhook(channel: Channel, kind: str, view: dict[str, Any], url: str, delivery: int) -> Message:
    """``{"event", "request", "url"}``; signed with HMAC-SHA256 when the channel has a secret."""
    event = f"request.{kind}"
    payload = {
        "event": event,
        "delivery": delivery,
        "url": url,
        "request": {k: v for k, v in view.items() if k != "binding"},
    }
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {
        **_HEADERS,
        "X-Interlock-Event": event,
        "X-Interlock-Delivery": str(delivery),
    }
    if channel.secret is not None:
        stamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = stamp
        headers[SIGNATURE_HEADER] = "sha256=" + sign(channel.secret.reveal(), stamp, body)
    return Message(body, headers)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp + "." + body``: the timestamp makes a replay detectable."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# --- alerts (no request behind them) ---------------------------------------------------------


def build_alert(
    channel: Channel, kind: str, event: dict[str, Any], base_url: str, delivery: int
) -> Message:
    """What ``channel`` gets for an alert event (``seq``, ``at``, ``kind``, ``detail``).

    The summary is masked (and escaped for Slack); PagerDuty's dedup_key is the event, so each
    attempt pages once whichever replica sends it.
    """
    detail = event.get("detail") or {}
    summary = mask(str(detail.get("summary") or kind))[:900]
    severity = ALERTS.get(kind, "critical")
    if channel.type == "slack":
        text = f"🚨 Interlock: {escape(summary)}"
        return _json({"text": text, "blocks": [{"type": "section", "text": _mrkdwn(text)}]})
    if channel.type == "pagerduty":
        assert channel.routing_key is not None  # settings require it
        custom = {k: v for k, v in detail.items() if k != "summary"}
        paged: dict[str, Any] = {
            "routing_key": channel.routing_key.reveal(),
            "event_action": "trigger",
            "dedup_key": f"interlock-{kind}-{event['seq']}",
            "payload": {
                "summary": summary,
                "source": urlsplit(base_url).hostname or "interlock",
                "severity": severity,
                "timestamp": _iso(float(event["at"])),
                "class": kind,
                "custom_details": mask_json(json.loads(json.dumps(custom, default=str))),
            },
            "client": "Interlock",
            "client_url": base_url,
        }
        return _json(paged)
    alert = {"seq": event["seq"], "at": event["at"], "severity": severity, **detail}
    payload: dict[str, Any] = {"event": f"alert.{kind}", "delivery": delivery, "alert": alert}
    body = json.dumps(mask_json(json.loads(json.dumps(payload, default=str))), ensure_ascii=False)
    body_bytes = body.encode()
    headers = {
        **_HEADERS,
        "X-Interlock-Event": f"alert.{kind}",
        "X-Interlock-Delivery": str(delivery),
    }
    if channel.secret is not None:
        stamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = stamp
        headers[SIGNATURE_HEADER] = "sha256=" + sign(channel.secret.reveal(), stamp, body_bytes)
    return Message(body_bytes, headers)


# --- shared wording -------------------------------------------------------------------------


def excerpt(card: dict[str, Any]) -> str:
    text = mask(card.get("detail") or card.get("text") or "")
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + f"… ({len(text) - _EXCERPT} more)"


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _what(card: dict[str, Any]) -> str:
    operations = ", ".join(card.get("operations") or [card.get("kind", "action")])
    targets = _targets(card)
    if not targets:
        return operations
    more = f" and {len(targets) - 3} more" if len(targets) > 3 else ""
    return f"{operations} on {', '.join(targets[:3])}{more}"


def _summary(card: dict[str, Any]) -> str:
    found = [mask(f["summary"]) for f in card.get("findings", []) if f.get("summary")]
    return "; ".join(found)[:1500]


def _targets(card: dict[str, Any]) -> list[str]:
    seen = [mask(t) for f in card.get("findings", []) for t in f.get("targets", [])]
    return list(dict.fromkeys(seen))


def _reversible(value: Any) -> str:
    return {True: "Yes", False: "*No*"}.get(value, "Not known")


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
