"""The audit log: every decision, hash-chained, in JSON Lines (issue #2, item 7).

In the spirit of OPA's decision logs: each record names the decision, its rule and reasons, the
action (masked), who asked and the policy revision. Each record also holds the hash of the one
before it, so an edited, deleted, reordered or truncated record shows up in :func:`verify`.
After PocketOS (25 April 2026) the first question was "what exactly did the agent run, and
when"; this file answers it, and says when someone has been editing the answer.

Write order of :meth:`AuditLog.append`, under an exclusive ``flock`` on the log, so several hook
processes can append at once without forking the chain:

1. read the last record from the file's tail (seek from the end: the log only grows);
2. compare it with the head file (``<log>.head``, ``{"count", "hash"}``); refuse to append when
   the head knows of records the log no longer has (a truncated tail must not be papered over);
3. write one line, flush and fsync;
4. replace the head file (write, fsync, rename).

A crash between 3 and 4 leaves the head one record behind, which append and verify recognise.
Hot path: standard library only. Reading and checking the whole chain lives in verify.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from interlock.errors import AuditError, AuditTamperError
from interlock.secrets import mask, mask_json

if TYPE_CHECKING:
    from interlock.actions import Action
    from interlock.decisions import Decision

__all__ = [
    "ENV_VAR",
    "GENESIS",
    "SCHEMA",
    "AuditLog",
    "Problem",
    "VerifyReport",
    "default_log_path",
    "record_decision",
    "record_hash",
    "tail",
    "verify",
]

SCHEMA: Final = "interlock.audit/1"
GENESIS: Final = "sha256:" + "0" * 64
ENV_VAR: Final = "INTERLOCK_AUDIT_LOG"
MAX_TEXT: Final = 4000
"""Longer texts are clipped (after masking); the action digest still binds the whole action."""
_RESERVED: Final = frozenset({"schema", "seq", "time", "prev", "hash"})


def canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(record: Mapping[str, Any]) -> str:
    """``sha256:`` + hex SHA-256 of the canonical JSON of the record without its ``hash``."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


def default_log_path(project_root: str) -> Path:
    """``$INTERLOCK_AUDIT_LOG`` when set, else ``<project_root>/.interlock/audit.jsonl``."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    return Path(project_root) / ".interlock" / "audit.jsonl"


def head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


class AuditLog:
    """An append-only, hash-chained JSON Lines file and its head file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.head_path = head_path(self.path)

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    def append(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Mask ``fields``, chain them after the last record, write and return the record."""
        return self.append_many([fields])[0]

    def append_many(self, batch: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Chain several records in one locked write and one pair of fsyncs.

        What one server transaction did (a vote and the approval it completed) lands together
        or not at all; the flush cost is paid once (bench/approvals.py).
        """
        bodies: list[dict[str, Any]] = []
        for fields in batch:
            clash = _RESERVED & set(fields)
            if clash:
                raise AuditError(f"audit fields {sorted(clash)} are filled in by the log itself")
            bodies.append(mask_json(dict(fields)))
        if not bodies:
            return []
        written: list[dict[str, Any]] = []
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_record(fd, self.path)
            seq, prev = (0, GENESIS) if last is None else (last["seq"], last["hash"])
            _check_head(read_head(self.head_path), last, self.path)
            lines: list[str] = []
            for body in bodies:
                seq += 1
                record: dict[str, Any] = {
                    "schema": SCHEMA,
                    "seq": seq,
                    "id": str(body.pop("id", "") or uuid.uuid4().hex),
                    "time": _now(),
                    **body,
                    "prev": prev,
                }
                record["hash"] = prev = record_hash(record)
                lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
                written.append(record)
            _write_all(fd, "".join(lines).encode("utf-8"))
            os.fsync(fd)
            _write_head(self.head_path, seq, prev)
        except OSError as exc:
            raise AuditError(f"cannot write the audit log {self.path}: {exc.strerror}") from None
        finally:
            os.close(fd)  # also releases the lock
        return written

    def _open(self) -> int:
        try:
            if not self.path.parent.exists():
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise AuditError(f"cannot open the audit log {self.path}: {exc.strerror}") from None


class GroupCommitLog(AuditLog):
    """An :class:`AuditLog` for a busy server: concurrent appends share one write and fsync.

    Every caller still returns only once its records are on disk. The first caller to arrive
    writes everything queued so far in one :meth:`AuditLog.append_many` (one lock, one fsync
    pair); callers arriving meanwhile wait and are written together next. With 16 approvers'
    requests in flight the log's two fsyncs were the server's bottleneck (bench/approvals.py:
    votes at 150/s with the CPU half idle).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path)
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._leading = False

    def append_many(self, batch: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        mine = _Pending(list(batch))
        with self._cond:
            self._queue.append(mine)
            if self._leading:
                while not mine.done:
                    self._cond.wait()
                return mine.result()
            self._leading = True
        try:
            self._lead()
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()
        return mine.result()

    def _lead(self) -> None:
        while True:
            with self._cond:
                group, self._queue = self._queue, []
            if not group:
                return
            try:
                written = super().append_many([r for item in group for r in item.records])
            except Exception as exc:  # every waiter of this group gets the same error
                for item in group:
                    item.error = exc
            else:
                start = 0
                for item in group:
                    item.written = written[start : start + len(item.records)]
                    start += len(item.records)
            with self._cond:
                for item in group:
                    item.done = True
                self._cond.notify_all()


class _Pending:
    __slots__ = ("done", "error", "records", "written")

    def __init__(self, records: list[Mapping[str, Any]]) -> None:
        self.records = records
        self.written: list[dict[str, Any]] = []
        self.error: Exception | None = None
        self.done = False

    def result(self) -> list[dict[str, Any]]:
        if self.error is not None:
            raise self.error
        return self.written


def record_decision(log: AuditLog, action: Action, decision: Decision) -> dict[str, Any]:
    """Append one decision about one action; every string is masked before it is written."""
    findings = []
    for finding in decision.findings:
        item = finding.to_json()
        item["evidence"] = _clip(mask(item["evidence"]))
        findings.append(item)
    return log.append(
        {
            "id": decision.decision_id or uuid.uuid4().hex,
            "actor": {"agent": action.actor.agent, "session": action.actor.session},
            "action": {
                "kind": action.kind,
                "digest": action.digest(),
                "cwd": action.cwd,
                "env": action.env,
                "text": _clip(mask(action_text(action))),
            },
            "decision": decision.verdict.value,
            "rule": decision.rule,
            "reasons": [r.to_json() for r in decision.reasons],
            "findings": findings,
            "policy_revision": decision.policy_revision,
        }
    )


def action_text(action: Action) -> str:
    """What a person reads in `interlock audit tail`: the command, SQL, request or tool call."""
    payload = action.payload()
    if action.kind == "shell":
        return str(payload["command"])
    if action.kind == "sql":
        return str(payload["sql"])
    if action.kind == "http":
        return f"{payload['method']} {payload['url']}"
    if action.kind == "terraform_plan":
        changes = payload["plan"].get("resource_changes") or []
        parts = []
        for change in changes if isinstance(changes, list) else []:
            inner = change.get("change") if isinstance(change, dict) else None
            acts = inner.get("actions") if isinstance(inner, dict) else None
            if isinstance(acts, list) and acts and acts != ["no-op"]:
                parts.append(f"{'+'.join(map(str, acts))} {change.get('address', '?')}")
        return "terraform plan: " + ("; ".join(parts) if parts else "no changes")
    tool, operation, path = payload["tool"], payload["operation"], payload["path"]
    if path:
        return f"{tool} {operation} {path}"
    arguments = json.dumps(mask_json(payload["arguments"]), ensure_ascii=False, default=str)
    return f"{tool} {operation} {arguments}"


def tail(path: str | os.PathLike[str], n: int = 20) -> list[dict[str, Any]]:
    """The last ``n`` records, oldest first, read from the end of the file.

    A line that is not JSON comes back as ``{"unparseable": "<masked start of the line>"}``.
    """
    if n <= 0:
        return []
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AuditError(f"cannot read the audit log {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        lines = tail_lines(fd, n)
    finally:
        os.close(fd)
    return [parse_line(raw) for raw in lines]


def parse_line(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        value = None
    if isinstance(value, dict):
        return value
    return {"unparseable": mask(raw[:200].decode("utf-8", "replace"))}


def tail_lines(fd: int, n: int, chunk: int = 8192) -> list[bytes]:
    """The last ``n`` non-empty lines of an open file, reading backwards in chunks."""
    pos = os.fstat(fd).st_size
    buf = b""
    while pos > 0 and buf.count(b"\n") <= n:
        step = min(chunk, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + buf
    lines = buf.split(b"\n")
    if pos > 0:
        lines = lines[1:]  # the first piece starts mid-line
    return [line for line in lines if line.strip()][-n:]


def read_head(path: Path) -> dict[str, Any] | None:
    """The head file, or None when there is none. A garbled head file is tampering."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditError(f"cannot read {path}: {exc.strerror}") from None
    try:
        head = json.loads(raw)
        if (
            isinstance(head, dict)
            and isinstance(head["count"], int)
            and isinstance(head["hash"], str)
        ):
            return head
    except (ValueError, KeyError, TypeError):
        pass
    raise AuditTamperError(f"the audit head file {path} is not {{count, hash}} JSON")


def _last_record(fd: int, path: Path) -> dict[str, Any] | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    if os.pread(fd, 1, size - 1) != b"\n":
        raise AuditTamperError(
            f"the audit log {path} ends in an incomplete line; run `interlock audit verify`"
        )
    lines = tail_lines(fd, 1)
    last = parse_line(lines[0]) if lines else {}
    if not (isinstance(last.get("seq"), int) and isinstance(last.get("hash"), str)):
        raise AuditTamperError(
            f"the last line of the audit log {path} is not a record; run `interlock audit verify`"
        )
    return last


def _check_head(head: dict[str, Any] | None, last: dict[str, Any] | None, path: Path) -> None:
    """Refuse to extend a log whose tail was cut off or rewritten (write-order step 2)."""
    if head is None:
        if last is None:
            return
        raise AuditTamperError(f"the audit head file beside {path} is missing")
    if last is None:
        raise AuditTamperError(f"the audit log {path} is empty but its head file counts records")
    if head["count"] == last["seq"] and head["hash"] == last["hash"]:
        return
    if head["count"] == last["seq"] - 1 and head["hash"] == last.get("prev"):
        return  # a crash between writing the record and the head; this append repairs it
    raise AuditTamperError(
        f"the audit log {path} does not end where its head file says "
        f"(head: {head['count']} records, log ends at record {last['seq']}); "
        "it was truncated or rewritten"
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_head(path: Path, count: int, digest: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, json.dumps({"count": count, "hash": digest}).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}… ({len(text) - MAX_TEXT} more characters)"


# --- verify: walk the whole chain (not on the hot path) -------------------------------------

ProblemKind = Literal[
    "edited", "deleted", "reordered", "duplicate", "unparseable", "truncated", "head"
]


@dataclass(frozen=True)
class Problem:
    """One break in the chain, with the line (1-based) and record id where it shows."""

    kind: ProblemKind
    message: str
    line: int | None = None
    record_id: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "log"
        if self.record_id:
            where += f" (record {self.record_id})"
        return f"{where}: {self.kind}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    path: str
    records: int
    last_hash: str
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    """Things worth knowing that are not tampering (a head left behind by a crash)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_tampered(self) -> None:
        if self.problems:
            listed = "\n  ".join(str(p) for p in self.problems)
            raise AuditTamperError(
                f"the audit log {self.path} has {len(self.problems)} problem(s):\n  {listed}"
            )


def verify(path: str | os.PathLike[str]) -> VerifyReport:
    """Walk the chain from the genesis and report every problem found, with line and id.

    Checks, in order: each line is a JSON record of this schema; each record's hash matches its
    content (else *edited*); each record's ``prev`` is the hash of the line before (else
    *deleted* when that hash is nowhere in the log, *reordered* when it is elsewhere); no id is
    repeated; the log ends where the head file says (else *truncated*).
    """
    log = Path(path)
    problems: list[Problem] = []
    entries: list[tuple[int, dict[str, Any]]] = []
    try:
        fd = os.open(log, os.O_RDONLY)
    except FileNotFoundError:
        fd = -1
    except OSError as exc:
        raise AuditError(f"cannot read the audit log {log}: {exc.strerror}") from None
    try:
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_SH)  # a consistent snapshot: writers wait
            with os.fdopen(os.dup(fd), "rb") as f:
                for number, raw in enumerate(f, 1):
                    entry = _entry(raw, number, problems)
                    if entry is not None:
                        entries.append((number, entry))
        head: dict[str, Any] | None = None
        try:
            head = read_head(head_path(log))
        except AuditTamperError as exc:
            problems.append(Problem("head", str(exc)))
            head_ok = False
        else:
            head_ok = True
    finally:
        if fd >= 0:
            os.close(fd)
    _check_links(entries, problems)
    last = entries[-1][1]["hash"] if entries else GENESIS
    notes: list[str] = []
    if fd < 0 and head is None and head_ok:
        notes.append(f"no audit log at {log} yet")
    elif head_ok:
        _check_tail(head, entries, problems, notes)
    return VerifyReport(str(log), len(entries), last, tuple(problems), tuple(notes))


def _entry(raw: bytes, number: int, problems: list[Problem]) -> dict[str, Any] | None:
    if not raw.endswith(b"\n"):
        problems.append(Problem("unparseable", "incomplete last line (no newline)", number))
        return None
    record = parse_line(raw)
    if "unparseable" in record or not raw.strip():
        problems.append(Problem("unparseable", "not a JSON record", number))
        return None
    if not (isinstance(record.get("hash"), str) and isinstance(record.get("prev"), str)):
        problems.append(Problem("unparseable", "JSON without hash and prev", number))
        return None
    if record.get("schema") != SCHEMA:
        problems.append(
            Problem("unparseable", f"unknown schema {record.get('schema')!r}", number, _id(record))
        )
        return None
    return record


def _check_links(entries: list[tuple[int, dict[str, Any]]], problems: list[Problem]) -> None:
    where = {record["hash"]: number for number, record in entries}
    seen: dict[str, int] = {}
    for index, (number, record) in enumerate(entries):
        rid = _id(record)
        if record_hash(record) != record["hash"]:
            problems.append(Problem("edited", "content does not match its hash", number, rid))
        if rid is not None and rid in seen:
            message = f"same id as the record on line {seen[rid]}"
            problems.append(Problem("duplicate", message, number, rid))
        elif rid is not None:
            seen[rid] = number
        expected = entries[index - 1][1]["hash"] if index else GENESIS
        prev = record["prev"]
        if prev == expected:
            continue
        before = f"line {entries[index - 1][0]}" if index else "the start of the log"
        if prev == GENESIS:
            message = f"starts a new chain after {before}: records reordered or logs joined"
            problems.append(Problem("reordered", message, number, rid))
        elif prev in where:
            message = f"follows the record on line {where[prev]}, not {before}: records reordered"
            problems.append(Problem("reordered", message, number, rid))
        else:
            message = f"the record before it is missing (deleted, or edited and re-hashed){_gap(entries, index)}"
            problems.append(Problem("deleted", message, number, rid))


def _gap(entries: list[tuple[int, dict[str, Any]]], index: int) -> str:
    seq = entries[index][1].get("seq")
    prior = entries[index - 1][1].get("seq") if index else 0
    if isinstance(seq, int) and isinstance(prior, int) and seq - prior > 1:
        return f"; seq jumps from {prior} to {seq}"
    return ""


def _check_tail(
    head: dict[str, Any] | None,
    entries: list[tuple[int, dict[str, Any]]],
    problems: list[Problem],
    notes: list[str],
) -> None:
    count = len(entries)
    last = entries[-1][1]["hash"] if entries else GENESIS
    if head is None:
        if entries:
            problems.append(
                Problem("head", "head file missing: a truncated tail cannot be ruled out")
            )
        return
    if head["hash"] == last:
        if head["count"] != count:
            message = f"the head file counts {head['count']} records, the log holds {count}"
            problems.append(Problem("head", message))
        return
    if count >= 2 and head["count"] == count - 1 and head["hash"] == entries[-2][1]["hash"]:
        notes.append("the head file is one record behind (an append was interrupted)")
        return
    end = f"line {entries[-1][0]}" if entries else "an empty log"
    problems.append(
        Problem(
            "truncated",
            f"the head file says the log ends with record {head['count']} ({head['hash'][:23]}…), "
            f"which is not where it ends ({count} records, last at {end}): "
            "records were removed from the end or the last one was replaced",
        )
    )


def _id(record: Mapping[str, Any]) -> str | None:
    rid = record.get("id")
    return rid if isinstance(rid, str) else None
