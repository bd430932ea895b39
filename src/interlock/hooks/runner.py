"""The hook's one path: stdin → payload → actions → decisions → audit → the agent's answer.

Fail closed, everywhere. All three agent CLIs let a call run when the hook exits with anything
but 2, crashes, is missing or times out (realclients.md, "Ways the hook does NOT protect"), so:

1. stdin is read with a hard cap (1 MB + 1 byte read; more is a deny), decoded as strict
   UTF-8 and parsed as a JSON object; anything else is a deny that says why.
2. The agent's adapter checks the payload's shape and lists the actions; a wrong shape is a
   deny. A tool the adapter does not judge (WebFetch, TodoWrite …) gives no action: allow.
3. The kill switch first (:mod:`interlock.killswitch`, a few ``stat`` calls, no network):
   while it is on, every call is a deny, even one with nothing to check. Then the session's
   own switch, and honeytokens: a planted decoy used in the call denies it and stops the
   session (:mod:`.tripwire`, imported only when decoys are planted; docs/honeytokens.md).
4. Each action is decided against the policy of its working directory; the strictest wins.
   With an approval server configured, a call whose strictest decision is ``ask`` is filed
   with it and its answer decides (:mod:`.approvals`, imported only then).
5. Each decision is written to the audit log. A failed write does not change the decision:
   a deny stays a deny, and an allow stays an allow (blocking all work because a disk is full
   would push people to remove the hook), but the failure is printed on stderr so the gap in
   the record is never silent.
6. ANY exception, at any step, is a deny with the reason. The runner never exits 1, and it
   answers before the agent's own timeout (``INTERLOCK_HOOK_DEADLINE``, default 20 s, under
   the 30 s that `interlock init` configures), because a timed-out hook fails open.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from types import FrameType
from typing import Any, BinaryIO, Protocol

from interlock import honeytokens, killswitch
from interlock.actions import Action, ShellAction
from interlock.config import MAX_INPUT_BYTES, Policy
from interlock.decisions import Decision, Reason, Verdict
from interlock.errors import ConfigError, HookInputError, InterlockError
from interlock.hooks.common import Call, HookResult, Rendered
from interlock.hooks.messages import deny_text

ADAPTERS: dict[str, str] = {
    "claude-code": "interlock.hooks.claude_code",
    "cursor": "interlock.hooks.cursor",
    "codex": "interlock.hooks.codex",
    "gemini": "interlock.hooks.gemini",
}
DEFAULT_DEADLINE = 20.0
_MAX_ERROR = 400


class Adapter(Protocol):
    def parse(self, payload: Mapping[str, Any]) -> Call: ...

    def render(self, result: HookResult) -> Rendered: ...


class HookDeadline(InterlockError):
    """The hook ran out of time: answering deny beats being killed (which fails open)."""


class HandOff(Exception):
    """Raised to the warm daemon: this call may wait for a person, so the hook's own process
    must decide it. The daemon answers one call at a time; a long-poll there would hold up
    every other call of every agent session."""


def load_adapter(agent: str) -> Adapter:
    module = ADAPTERS.get(agent)
    if module is None:
        raise HookInputError(f"unknown agent {agent!r}: use one of {', '.join(ADAPTERS)}")
    adapter: Adapter = importlib.import_module(module)
    return adapter


def read_payload(stdin: BinaryIO) -> dict[str, Any]:
    return parse_payload(read_text(stdin))


def read_text(stdin: BinaryIO) -> str:
    """The payload's text: at most 1 MB, strict UTF-8 (the honeytoken check reads it raw)."""
    raw = stdin.read(MAX_INPUT_BYTES + 1)
    if len(raw) > MAX_INPUT_BYTES:
        raise HookInputError("input over 1 MB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HookInputError(f"input is not UTF-8 (byte {exc.start})") from None
    return text


def parse_payload(text: str) -> dict[str, Any]:
    if not text.strip():
        raise HookInputError("empty input: the agent sent no hook payload")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HookInputError(
            f"input is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(payload, dict):
        raise HookInputError(f"input is a JSON {type(payload).__name__}, not an object")
    return payload


def decide_call(
    call: Call, deadline: float | None = None, *, may_wait: bool = True, raw: str = ""
) -> HookResult:
    """Decide every action of a call; the strictest decision answers for the call.

    The policy is loaded even when there is nothing to decide, so a broken interlock.toml
    blocks every call until it is fixed instead of only some of them. ``deadline``
    (``time.monotonic``) bounds any exchange with the approval server. ``raw`` is the
    payload as the agent sent it, searched for planted honeytoken values.
    """
    from interlock.config import load_policy
    from interlock.engine import decide

    policy = load_policy(call.cwd)
    switch = killswitch.engaged(policy.project_root)
    if switch is not None:
        return killed(call, policy, killswitch.message(switch))
    stopped = killswitch.session_engaged(policy.project_root, call.actor.session)
    if stopped is not None:
        return killed(call, policy, killswitch.session_message(stopped), "killswitch.session")
    decoys = honeytokens.planted(policy.project_root)
    if decoys:
        from interlock.hooks import tripwire

        hit = tripwire.find(raw, call, decoys)
        if hit is not None:
            if policy.approvals.server and not may_wait:
                raise HandOff  # the alert's exchange: not in the daemon, which serves everyone
            return tripwire.trip(call, policy, hit, decoys, deadline)
    if not call.actions:
        return HookResult(
            Verdict.ALLOW,
            "no shell command, file or MCP call to check",
            "hook.no-action",
            event=call.event,
            permission_mode=call.permission_mode,
        )
    decided = [(action, decide(action, policy)) for action in call.actions]
    requests: tuple[tuple[str, str], ...] = ()
    if policy.approvals.server and Verdict.strictest(*(d.verdict for _, d in decided)) is (
        Verdict.ASK
    ):
        if policy.approvals.wait > 0 and not may_wait:
            raise HandOff
        from interlock.hooks import approvals

        if deadline is None:
            deadline = time.monotonic() + _deadline_seconds()
        settled = approvals.settle(decided, call.reason, policy.approvals, deadline)
        decided, requests = settled.decided, settled.requests
    record(decided, policy.project_root)
    return combine(decided, call, requests)


def killed(call: Call, policy: Policy, message: str, rule: str = "killswitch") -> HookResult:
    """The kill switch's answer (or one session's): deny, whatever the call, each action
    audited as denied."""
    reason = Reason(rule, message, Verdict.DENY)
    decided = [
        (action, Decision(Verdict.DENY, (reason,), (), action.digest(), policy.revision))
        for action in call.actions
    ]
    if decided:
        record(decided, policy.project_root)
    return HookResult(
        Verdict.DENY,
        message,
        rule,
        event=call.event,
        permission_mode=call.permission_mode,
    )


def combine(
    decided: list[tuple[Action, Decision]],
    call: Call,
    requests: tuple[tuple[str, str], ...] = (),
) -> HookResult:
    verdict = Verdict.strictest(*(d.verdict for _, d in decided))
    top = [(a, d) for a, d in decided if d.verdict is verdict]
    messages = list(dict.fromkeys(d.message() for _, d in top))
    operations: list[str] = []
    for _, d in top:
        flagged = [f.operation for f in d.findings if f.verdict is not Verdict.ALLOW]
        operations.extend(flagged or [f.operation for f in d.findings])
    shells = [a.command for a, _ in top if isinstance(a, ShellAction)]
    return HookResult(
        verdict=verdict,
        message="; ".join(messages),
        rule=top[0][1].rule,
        operations=tuple(dict.fromkeys(operations)),
        command=shells[0] if len(shells) == 1 and len(top) == 1 else None,
        event=call.event,
        permission_mode=call.permission_mode,
        requests=requests if verdict is Verdict.DENY else (),
    )


def record(decided: list[tuple[Action, Decision]], project_root: str) -> None:
    """One audit record per action; a failure is reported on stderr, never swallowed."""
    try:
        # Looked up by name: the audit module is optional on this path and may be absent.
        audit: Any = importlib.import_module("interlock.audit")
        log = audit.AuditLog(audit.default_log_path(project_root))
        for action, decision in decided:
            audit.record_decision(log, action, decision)
    except Exception as exc:
        message = str(exc)[:_MAX_ERROR] or type(exc).__name__
        sys.stderr.write(f"interlock: audit record NOT written ({message}); decision stands\n")


def failure_result(exc: BaseException, event: str = "") -> HookResult:
    if isinstance(exc, ConfigError):
        rule, text = "hook.config", str(exc)
    elif isinstance(exc, HookDeadline):
        rule, text = "hook.deadline", str(exc)
    elif isinstance(exc, HookInputError):
        rule, text = "hook.input", str(exc)
    else:
        rule, text = "hook.error", f"internal error {type(exc).__name__}: {exc}"
    return HookResult(Verdict.DENY, text[:_MAX_ERROR], rule, failure=True, event=event)


def run(agent: str, stdin: BinaryIO, *, may_wait: bool = True) -> Rendered:
    """The whole hook for one call. Never raises (but :class:`HandOff` when ``may_wait`` is
    False); every failure is a rendered deny."""
    adapter: Adapter | None = None
    event = ""
    try:
        adapter = load_adapter(agent)
        with _Deadline() as deadline:
            text = read_text(stdin)
            call = adapter.parse(parse_payload(text))
            event = call.event
            result = decide_call(call, deadline, may_wait=may_wait, raw=text)
    except HandOff:
        raise
    except BaseException as exc:  # fail closed: KeyboardInterrupt and SystemExit included
        result = failure_result(exc, event)
    try:
        if adapter is None:
            raise HookInputError("no adapter")
        return adapter.render(result)
    except BaseException:
        return Rendered(2, stderr=deny_text(result) + "\n")


class _Deadline:
    """SIGALRM-based budget, so a stuck read or analysis ends as a deny, not a kill."""

    def __enter__(self) -> float:
        """Arm the alarm; the deadline as a ``time.monotonic`` value, for the exchanges."""
        seconds = _deadline_seconds()
        self.armed = hasattr(signal, "setitimer") and _is_main_thread()
        if self.armed:
            self.previous = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, seconds)
        return time.monotonic() + seconds

    def __exit__(self, *exc: object) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise HookDeadline(f"the hook did not finish within {_deadline_seconds():g} s")


def _deadline_seconds() -> float:
    try:
        value = float(os.environ.get("INTERLOCK_HOOK_DEADLINE", DEFAULT_DEADLINE))
    except ValueError:
        return DEFAULT_DEADLINE
    return value if 0 < value <= 600 else DEFAULT_DEADLINE


def _is_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def main(argv: list[str]) -> int:
    """``python -m interlock.hooks <agent>``: argv parsed by hand (no click on the hot path)."""
    if len(argv) != 1:
        rendered = Rendered(
            2,
            stderr=deny_text(
                failure_result(
                    HookInputError(f"usage: python -m interlock.hooks {{{'|'.join(ADAPTERS)}}}")
                )
            )
            + "\n",
        )
    else:
        rendered = run(argv[0], sys.stdin.buffer)
    return emit(rendered)


def emit(rendered: Rendered) -> int:
    """Write the answer as UTF-8 whatever the locale; if writing fails, still block."""
    try:
        if rendered.stdout:
            sys.stdout.buffer.write(rendered.stdout.encode("utf-8"))
            sys.stdout.buffer.flush()
        if rendered.stderr:
            sys.stderr.buffer.write(rendered.stderr.encode("utf-8"))
            sys.stderr.buffer.flush()
    except BaseException:
        return 2
    return rendered.exit_code if rendered.exit_code in (0, 2) else 2
