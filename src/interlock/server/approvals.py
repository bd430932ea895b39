"""Approval requests: filed by hooks on ``ask``, decided by people, used once.

Invariants (each has a test in tests/server/test_approvals.py):

1. A request is bound to a digest of the exact action (kind, payload, environment, working
   folder), what the server's own decision found (operations, targets, environments), the
   policy revision and the agent session. Another command, target or session is a new request.
2. States: ``pending`` → ``approved`` | ``denied`` | ``expired`` | ``cancelled``. Every
   transition is a conditional update under a row lock, recorded in ``events`` and the audit
   log, so it happens once whichever replica serves it.
3. A pending request past ``expires_at`` is expired, and expiry is deny. An approval not used
   within ``use_within`` expires too. Nothing decided or expired is ever reopened.
4. Approving takes ``quorum`` distinct approvers, none of them the requester; one deny denies.
   An approver votes on the binding the card showed them: a vote for another binding is
   refused.
5. An approved request is consumed by exactly one later submission of the same action.
6. Turning the kill switch on denies every pending request and voids every unused approval;
   while it is on, nothing is filed or consumed (a submission racing the kill either lands
   before it, and is denied by it, or sees it on).
7. Every transition's audit record is written after its transaction commits: a refusal or a
   lost race leaves no record of something that did not happen.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from interlock.actions import Action
from interlock.audit import AuditLog
from interlock.config import Policy, load_policy
from interlock.decisions import Decision, Verdict
from interlock.errors import ApprovalError, InterlockError
from interlock.server import cards, db
from interlock.server.db import events, requests, switch, votes

PENDING, APPROVED, DENIED, EXPIRED, CANCELLED = (
    "pending",
    "approved",
    "denied",
    "expired",
    "cancelled",
)
STATES = (PENDING, APPROVED, DENIED, EXPIRED, CANCELLED)
SWEEP_EVERY = 0.25


@dataclass(frozen=True)
class Outcome:
    """The server's answer to a hook's submission."""

    state: str
    """``approved`` (consumed now: go ahead), ``pending``, ``denied`` or ``killed``."""
    request_id: str | None
    message: str
    approvers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "id": self.request_id,
            "message": self.message,
            "approvers": list(self.approvers),
        }


Listener = Callable[[str, dict[str, Any]], None]

# PostgreSQL advisory locks. Filing and consuming hold the switch lock shared and the kill switch
# holds it exclusive, so a submission racing `interlock kill` either lands before the kill (and
# is denied by it) or sees the switch on: never a pending request, or a consumed approval, while
# the switch is on. A binding's lock (two-key form, a key space of its own) serialises filing the
# same action twice. SQLite needs neither: BEGIN IMMEDIATE serialises every write.
_SWITCH_LOCK = 8471
_BINDING_LOCK = 8470


@dataclass
class _Tx:
    """One transaction and the events it wrote, published only once it has committed."""

    conn: Connection
    events: list[tuple[str, str | None, str, dict[str, Any]]] = field(default_factory=list)


class ApprovalService:
    """Every rule of an approval's life; the HTTP layer only authenticates and calls in."""

    def __init__(
        self,
        engine: Engine,
        policy: Policy,
        *,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.audit = audit
        self.clock = clock
        self.listeners: list[Listener] = []
        self._swept_at = float("-inf")

    # --- filing and consuming ------------------------------------------------------------

    def submit(self, action: Action, *, reason: str = "", requester: str | None = None) -> Outcome:
        """File ``action`` for approval, or consume its approval if one is waiting.

        Returns ``approved`` exactly once per approval; the same action again later is a new
        request.
        """
        project = self._project_policy(action)
        decision = _decide(action, project)
        if decision.verdict is Verdict.DENY:
            return Outcome("denied", None, decision.message())
        binding = self.binding(action, decision)
        self._sweep_if_due()
        with self._transaction() as tx:
            conn = tx.conn
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": _SWITCH_LOCK}
                )
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:k, hashtext(:b))"),
                    {"k": _BINDING_LOCK, "b": binding},
                )
            # Read under the lock, inside the transaction: a kill that committed first is seen.
            if _switch_row(conn) is not None:
                return Outcome("killed", None, "the kill switch is on: every action is denied")
            now = self.clock()
            consumed = conn.execute(_CONSUME, {"b_binding": binding, "b_now": now}).first()
            if consumed is None:
                return self._pending(tx, action, decision, project, binding, reason, requester)
            who = tuple(json.loads(consumed.decided_by or "[]"))
            self._event(tx, "consumed", consumed.id, action.actor.agent or "agent", {})
            return Outcome(
                APPROVED, consumed.id, f"approved by {', '.join(who)} ({consumed.id})", who
            )

    def approved_waiting(self, action: Action) -> tuple[str, Decision] | None:
        """The approved, unused request ``submit`` would consume for ``action`` (not consumed
        here), with the decision: what a pre-destroy snapshot runs before (server/predestroy.py)."""
        decision = _decide(action, self._project_policy(action))
        if decision.verdict is not Verdict.ASK:
            return None
        query = sa.select(requests.c.id).where(
            requests.c.binding == self.binding(action, decision),
            requests.c.state == APPROVED,
            requests.c.consumed_at.is_(None),
            requests.c.use_by > self.clock(),
        )
        with db.read(self.engine) as conn:
            found = conn.execute(query.limit(1)).scalar()
        return (str(found), decision) if found else None

    def note(self, request_id: str | None, kind: str, actor: str, detail: dict[str, Any]) -> None:
        """Record an event that changes no state (a pre-destroy snapshot taken or failed)."""
        with self._transaction() as tx:
            self._event(tx, kind, request_id, actor, detail)

    def _pending(
        self,
        tx: _Tx,
        action: Action,
        decision: Decision,
        project: Policy,
        binding: str,
        reason: str,
        requester: str | None,
    ) -> Outcome:
        now = self.clock()
        existing = tx.conn.execute(_PENDING_FOR, {"b_binding": binding, "b_now": now}).first()
        if existing is not None:
            return Outcome(PENDING, existing.id, _waiting(existing.id))
        refused = tx.conn.execute(
            _REFUSED_FOR, {"b_binding": binding, "since": now - self.policy.approvals.use_within}
        ).first()
        if refused is not None:
            # A person said no: the agent retrying at machine speed must not page them again.
            return Outcome(DENIED, refused.id, _refused(tx, refused.id, refused.decided_by))
        card = cards.build(action, decision, project, reason, self.policy)
        quorum = self.quorum(decision, project, card)
        request_id = "req_" + secrets.token_hex(8)
        tx.conn.execute(
            requests.insert().values(
                id=request_id,
                created_at=now,
                expires_at=now + self.policy.approvals.expire,
                state=PENDING,
                binding=binding,
                action_digest=action.digest(),
                kind=action.kind,
                action_json=json.dumps(_masked_action(action), ensure_ascii=False),
                card_json=json.dumps(card, ensure_ascii=False),
                environment=card["environment"],
                production=card["production"],
                quorum=quorum,
                requester_agent=action.actor.agent,
                requester_session=action.actor.session,
                requester_user=requester,
                policy_revision=decision.policy_revision,
            )
        )
        self._event(
            tx,
            "created",
            request_id,
            action.actor.agent or "agent",
            {"card": card, "binding": binding, "quorum": quorum},
        )
        return Outcome(PENDING, request_id, _waiting(request_id))

    def binding(self, action: Action, decision: Decision) -> str:
        """The digest an approval is bound to (invariant 1)."""
        findings = sorted(
            (f.operation, list(f.targets), f.environment or "")
            for f in decision.findings
            if f.verdict is not Verdict.ALLOW
        )
        canonical = json.dumps(
            {
                "action": action.digest(),
                "findings": findings,
                "policy": decision.policy_revision,
                "server_policy": self.policy.revision,
                "session": [action.actor.agent, action.actor.session],
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    def quorum(self, decision: Decision, project: Policy, card: dict[str, Any]) -> int:
        """Distinct approvers needed: the server's floor, raised by the project and its rules."""
        floors = (self.policy.approvals, project.approvals)
        if card["production"] and card["reversible"] is not True:
            needed = max(a.production_quorum for a in floors)
        else:
            needed = max(a.quorum for a in floors)
        by_rule = {r.id: r.quorum for r in project.rules if r.quorum}
        for reason in decision.reasons:
            if reason.verdict is not Verdict.ALLOW and reason.rule in by_rule:
                needed = max(needed, by_rule[reason.rule] or 1)
        return needed

    def _project_policy(self, action: Action) -> Policy:
        """The policy of the action's project when it lives here; else the server's own."""
        if action.cwd and Path(action.cwd).is_dir():
            try:
                return load_policy(action.cwd)
            except InterlockError:
                return self.policy
        return self.policy

    # --- reading ---------------------------------------------------------------------------

    def get(self, request_id: str) -> dict[str, Any] | None:
        self._sweep_if_due()
        with db.read(self.engine) as conn:
            row = conn.execute(db.REQUEST_BY_ID, {"id": request_id}).first()
            if row is None:
                return None
            cast = conn.execute(db.VOTES_OF, {"id": request_id}).all()
        return _view(row, cast, self.clock())

    def status(self, request_id: str) -> dict[str, Any] | None:
        """What an agent may know: the state, the approvers so far, time left; not the card."""
        view = self.get(request_id)
        if view is None:
            return None
        keys = ("id", "state", "quorum", "approved_by", "expires_in", "consumed")
        return {k: view[k] for k in keys}

    def requests(self, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        self._sweep_if_due()
        query = sa.select(requests).order_by(requests.c.created_at.desc()).limit(limit)
        if state is not None:
            query = query.where(requests.c.state == state)
        with db.read(self.engine) as conn:
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            cast = conn.execute(sa.select(votes).where(votes.c.request_id.in_(ids))).all()
        now = self.clock()
        return [_view(r, [v for v in cast if v.request_id == r.id], now) for r in rows]

    def last_event(self) -> int:
        with db.read(self.engine) as conn:
            return int(conn.execute(sa.select(sa.func.max(events.c.seq))).scalar() or 0)

    def events_since(self, seq: int, limit: int = 200) -> list[dict[str, Any]]:
        with db.read(self.engine) as conn:
            rows = conn.execute(
                sa.select(events).where(events.c.seq > seq).order_by(events.c.seq).limit(limit)
            ).all()
        return [
            {
                "seq": r.seq,
                "at": r.at,
                "kind": r.kind,
                "request_id": r.request_id,
                "actor": r.actor,
                "detail": json.loads(r.detail),
            }
            for r in rows
        ]

    # --- deciding --------------------------------------------------------------------------

    def vote(
        self, request_id: str, approver: str, vote: str, *, binding: str, note: str = ""
    ) -> dict[str, Any]:
        """One approver's approve or deny. Raises :class:`ApprovalError` with the reason."""
        if vote not in ("approve", "deny"):
            raise ApprovalError("a vote is approve or deny")
        self._sweep_if_due()
        now = self.clock()
        with self._transaction() as tx:
            row = db.lock_request(tx.conn, request_id)
            if row is None:
                raise ApprovalError(f"no request {request_id}")
            if row.state != PENDING:
                raise ApprovalError(f"{request_id} is already {row.state}; nothing is reopened")
            if row.expires_at <= now:
                # The sweep records the expiry; this transaction writes nothing.
                raise ApprovalError(f"{request_id} expired; expiry means deny")
            if not secrets.compare_digest(binding, row.binding):
                raise ApprovalError(
                    "this vote is for another action than the one on the card; reload the card"
                )
            if row.requester_user and approver == row.requester_user:
                raise ApprovalError("the requester cannot approve their own request")
            self._cast(tx, row, approver, vote, note[:500], now)
            # The answer is read in the same transaction: what this vote did, nothing later.
            view = _view(
                tx.conn.execute(db.REQUEST_BY_ID, {"id": request_id}).one(),
                tx.conn.execute(db.VOTES_OF, {"id": request_id}).all(),
                now,
            )
        return view

    def _cast(self, tx: _Tx, row: Any, approver: str, vote: str, note: str, now: float) -> None:
        cast = tx.conn.execute(db.VOTES_OF, {"id": row.id}).all()
        earlier = [v.vote for v in cast if v.approver == approver]
        if earlier:
            raise ApprovalError(f"{approver} already voted {earlier[0]} on {row.id}")
        tx.conn.execute(
            db.INSERT_VOTE,
            {"request_id": row.id, "approver": approver, "vote": vote, "at": now, "note": note},
        )
        self._event(tx, vote, row.id, approver, {"note": note})
        approving = [v.approver for v in cast if v.vote == "approve"]
        if vote == "approve":
            approving.append(approver)
        if vote == "deny":
            self._transition(tx, row.id, DENIED, [approver], now)
        elif len(approving) >= row.quorum:
            self._transition(tx, row.id, APPROVED, approving, now)

    def cancel(self, request_id: str, by: str) -> None:
        now = self.clock()
        with self._transaction() as tx:
            row = db.lock_request(tx.conn, request_id)
            if row is None or row.state != PENDING:
                raise ApprovalError(f"{request_id} is not pending")
            self._transition(tx, request_id, CANCELLED, [by], now)

    def _sweep_if_due(self) -> None:
        """Sweep before a read or write unless one ran in the last ``SWEEP_EVERY`` seconds.

        Reads between sweeps may show a request as pending for that long after it ran out of
        time, never longer; votes and consumption check the time themselves under the lock,
        so nothing expired is ever approved or used (bench/approvals.py: a sweep was half the
        cost of a status read).
        """
        if self.clock() - self._swept_at >= SWEEP_EVERY:
            self.sweep()

    def sweep(self) -> list[str]:
        """Expire what ran out of time: pending past ``expires_at``, approvals past ``use_by``."""
        now = self.clock()
        self._swept_at = now
        with db.read(self.engine) as conn:
            due = (
                conn.execute(
                    sa.select(requests.c.id).where(
                        sa.or_(
                            sa.and_(requests.c.state == PENDING, requests.c.expires_at <= now),
                            sa.and_(
                                requests.c.state == APPROVED,
                                requests.c.consumed_at.is_(None),
                                requests.c.use_by <= now,
                            ),
                        )
                    )
                )
                .scalars()
                .all()
            )
        expired: list[str] = []
        for request_id in due:
            with self._transaction() as tx:
                row = db.lock_request(tx.conn, request_id)
                if row is None:
                    continue
                if (row.state == PENDING and row.expires_at <= now) or (
                    row.state == APPROVED and row.consumed_at is None and (row.use_by or 0) <= now
                ):
                    self._transition(tx, request_id, EXPIRED, ["expiry"], now, row.state)
                    expired.append(request_id)
        return expired

    def _transition(
        self,
        tx: _Tx,
        request_id: str,
        state: str,
        by: list[str],
        now: float,
        current: str = PENDING,
    ) -> None:
        values: dict[str, Any] = {"state": state, "decided_at": now, "decided_by": json.dumps(by)}
        if state == APPROVED:
            values["use_by"] = now + self.policy.approvals.use_within
        changed = tx.conn.execute(
            sa.update(requests)
            .where(requests.c.id == request_id, requests.c.state == current)
            .values(**values)
        ).rowcount
        if changed != 1:
            raise ApprovalError(f"{request_id} changed meanwhile; nothing was decided twice")
        self._event(tx, state, request_id, ", ".join(by), {"from": current})

    # --- kill switch -----------------------------------------------------------------------

    def kill_state(self) -> dict[str, Any] | None:
        with db.read(self.engine) as conn:
            return _switch_row(conn)

    def kill(self, by: str, reason: str = "") -> list[str]:
        """Turn the kill switch on, deny every pending request and void every unused approval.

        Returns the pending requests denied. An approval granted before the kill is void too
        (``approved`` → ``expired``): after ``resume`` the agent asks again, and the people
        who approved see the request anew rather than an approval from before the emergency.
        A request decided while the kill waited for its row lock is handled by what it
        became; the kill itself never fails because of such a race.
        """
        now = self.clock()
        denied: list[str] = []
        with self._transaction() as tx:
            self._set_switch(tx, True, by, reason, now)
            live = (
                tx.conn.execute(
                    sa.select(requests.c.id)
                    .where(
                        sa.or_(
                            requests.c.state == PENDING,
                            sa.and_(requests.c.state == APPROVED, requests.c.consumed_at.is_(None)),
                        )
                    )
                    .order_by(requests.c.id)
                )
                .scalars()
                .all()
            )
            for request_id in live:
                row = db.lock_request(tx.conn, request_id)
                if row is None:
                    continue
                if row.state == PENDING:
                    self._transition(tx, request_id, DENIED, ["kill-switch"], now)
                    denied.append(request_id)
                elif row.state == APPROVED and row.consumed_at is None:
                    self._transition(tx, request_id, EXPIRED, ["kill-switch"], now, APPROVED)
        return denied

    def resume(self, by: str) -> None:
        with self._transaction() as tx:
            self._set_switch(tx, False, by, "", self.clock())

    def _set_switch(self, tx: _Tx, killed: bool, by: str, reason: str, now: float) -> None:
        conn = tx.conn
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SWITCH_LOCK})
        values = {"killed": killed, "at": now, "by": by, "reason": reason[:500]}
        if conn.execute(sa.update(switch).where(switch.c.id == 1).values(**values)).rowcount == 0:
            conn.execute(switch.insert().values(id=1, **values))
        self._event(tx, "killed" if killed else "resumed", None, by, {"reason": reason[:500]})

    # --- events ----------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        """A write transaction; its events reach the audit log and listeners after commit.

        A transaction that rolls back (a refusal, a lost race, a database error) leaves no
        audit record behind: the log says only what happened.
        """
        with db.transaction(self.engine) as conn:
            tx = _Tx(conn)
            yield tx
        self._publish(tx.events)

    def _event(
        self,
        tx: _Tx,
        kind: str,
        request_id: str | None,
        actor: str,
        detail: dict[str, Any],
    ) -> None:
        """Write an ``events`` row (what the SSE stream and replicas read) in ``tx``."""
        db.insert_event(
            tx.conn, at=self.clock(), kind=kind, actor=actor, detail=detail, request_id=request_id
        )
        tx.events.append((kind, request_id, actor, detail))

    def _publish(self, happened: list[tuple[str, str | None, str, dict[str, Any]]]) -> None:
        if self.audit is not None and happened:
            self.audit.append_many([_audit_record(*event) for event in happened])
        for kind, request_id, actor, detail in happened:
            for listener in self.listeners:
                listener(kind, {"request_id": request_id, "actor": actor, **detail})


def _audit_record(
    kind: str, request_id: str | None, actor: str, detail: dict[str, Any]
) -> dict[str, Any]:
    recorded = {k: v for k, v in detail.items() if k != "card"}
    card = detail.get("card")
    if isinstance(card, dict):  # what was asked, in the log's own words (masked)
        recorded["action"] = {k: card.get(k) for k in ("text", "environment", "operations")}
    return {
        "type": "approval",
        "event": kind,
        "request_id": request_id,
        "actor": {"name": actor},
        "detail": recorded,
    }


# The statements of every submission, built once (see db.REQUEST_BY_ID for why).
_CONSUME = (
    sa.update(requests)
    .where(
        requests.c.id
        == sa.select(requests.c.id)
        .where(
            requests.c.binding == sa.bindparam("b_binding"),
            requests.c.state == APPROVED,
            requests.c.consumed_at.is_(None),
            requests.c.use_by > sa.bindparam("b_now"),
        )
        .order_by(requests.c.decided_at)
        .limit(1)
        .scalar_subquery(),
        requests.c.consumed_at.is_(None),
    )
    .values(consumed_at=sa.bindparam("b_now"))
    .returning(requests.c.id, requests.c.decided_by)
)
_PENDING_FOR = sa.select(requests.c.id).where(
    requests.c.binding == sa.bindparam("b_binding"),
    requests.c.state == PENDING,
    requests.c.expires_at > sa.bindparam("b_now"),
)
_REFUSED_FOR = (
    sa.select(requests.c.id, requests.c.decided_by, requests.c.decided_at)
    .where(
        requests.c.binding == sa.bindparam("b_binding"),
        requests.c.state == DENIED,
        requests.c.decided_at > sa.bindparam("since"),
        # Denied by a person; a kill switch's blanket denial ends with `resume`.
        requests.c.decided_by != json.dumps(["kill-switch"]),
    )
    .order_by(requests.c.decided_at.desc())
    .limit(1)
)


def _switch_row(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(sa.select(switch).where(switch.c.id == 1)).first()
    if row is None or not row.killed:
        return None
    return {"at": row.at, "by": row.by, "reason": row.reason}


def _decide(action: Action, policy: Policy) -> Decision:
    from interlock.engine import decide

    return decide(action, policy)


def _refused(tx: _Tx, request_id: str, decided_by: str | None) -> str:
    who = ", ".join(json.loads(decided_by or "[]")) or "a person"
    note = tx.conn.execute(
        sa.select(votes.c.note).where(votes.c.request_id == request_id, votes.c.vote == "deny")
    ).scalar()
    said = f": {note}" if note else ""
    return f"denied by {who} ({request_id}){said}. Do not retry; ask the person what to do instead"


def _waiting(request_id: str) -> str:
    return (
        f"approval request {request_id} is waiting for a human; "
        "the same command will pass once approved"
    )


def _masked_action(action: Action) -> dict[str, Any]:
    from interlock.actions import action_to_json
    from interlock.secrets import mask_json

    masked: dict[str, Any] = mask_json(action_to_json(action))
    return masked


def _view(row: Any, cast: Sequence[Any], now: float) -> dict[str, Any]:
    approved_by = [v.approver for v in cast if v.vote == "approve"]
    return {
        "id": row.id,
        "state": row.state,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "expires_in": max(0.0, row.expires_at - now) if row.state == PENDING else 0.0,
        "quorum": row.quorum,
        "approved_by": approved_by,
        "denied_by": [v.approver for v in cast if v.vote == "deny"],
        "votes": [
            {"approver": v.approver, "vote": v.vote, "at": v.at, "note": v.note} for v in cast
        ],
        "decided_at": row.decided_at,
        "decided_by": json.loads(row.decided_by) if row.decided_by else [],
        "use_by": row.use_by,
        "consumed": row.consumed_at is not None,
        "binding": row.binding,
        "environment": row.environment,
        "production": bool(row.production),
        "requester": {
            "agent": row.requester_agent,
            "session": row.requester_session,
            "user": row.requester_user,
        },
        "card": json.loads(row.card_json),
    }
