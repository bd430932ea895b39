"""What the agent (and the person behind it) reads when Interlock stops or questions a call.

Each message says what would happen and why, names the rule, and ends with what a person can
do. Agents that are simply told "no" route around the block (dcg#228, peers.md §b.1), so the
message points at a human step rather than at a workaround.
"""

from __future__ import annotations

import shlex

from interlock.decisions import Verdict
from interlock.hooks.common import HookResult, Rendered

_MAX_HINT = 300
"""Longer commands are not echoed back into the hint: the agent already has them."""


def explain_hint(result: HookResult) -> str:
    if result.command is not None and len(result.command) <= _MAX_HINT:
        return f"Run `interlock policy explain -- {shlex.quote(result.command)}` to see why"
    return "Run `interlock policy explain` with this action to see why"


def deny_text(result: HookResult) -> str:
    if result.failure:
        return (
            f"Interlock blocked this call because it could not check it: {result.message} "
            f"[rule {result.rule}]. Interlock fails closed. Check the hook setup "
            "(`interlock init`); a person can run the command themselves."
        )
    if result.rule == "killswitch":
        return (
            f"Interlock denied this: {result.message} [rule killswitch]. Nothing will run "
            "until then; stop and tell the person you work for."
        )
    if result.rule in ("honeytoken", "killswitch.session"):
        return (
            f"Interlock denied this: {result.message} [rule {result.rule}]. Stop and tell the "
            "person you work for."
        )
    if result.requests:
        return pending_text(result)
    return (
        f"Interlock denied this: {result.message} [rule {result.rule}]. "
        f"{explain_hint(result)}; a person can run it themselves if it is really intended."
    )


def pending_text(result: HookResult) -> str:
    """A call held for approvers: where it waits, and that retrying unchanged is the way on.

    Every agent gets this as a deny, Claude Code and Cursor included: their own ask would let
    the person at the keyboard approve alone, around the server's quorum.
    """
    ids = ", ".join(request_id for request_id, _ in result.requests)
    urls = " ".join(url for _, url in result.requests)
    which = "request" if len(result.requests) == 1 else "requests"
    return (
        f"Interlock needs a person's approval for this: {result.message} [rule {result.rule}]. "
        f"It was not run. Approval {which} {ids} waits for approvers at {urls}. Once approved, "
        "the same command will pass when you run it again unchanged (a changed command is a "
        "new request); retrying before then files nothing new. Tell the person you work for "
        "and wait for their word."
    )


def ask_text(result: HookResult) -> str:
    # Claude Code shows this in its dialog, and hands it to the model when the answer is no or
    # when no one can answer (``claude -p`` treats an ask as a block): both need the way out.
    return (
        f"Interlock asks a person to confirm: {result.message} [rule {result.rule}]. "
        "Without a person's yes it is not run; a person can run it themselves if it is really "
        f"intended. {explain_hint(result)}."
    )


def needs_person_text(result: HookResult, agent: str) -> str:
    """An ``ask`` for an agent that cannot ask its user (Codex, Gemini): blocked, with the way out."""
    ops = ", ".join(f'"{op}"' for op in result.operations) or '"<operation>"'
    return (
        f"Interlock needs a person to approve this: {result.message} [rule {result.rule}]. "
        f"{agent} cannot ask its user from a hook, so it was not run. A person can run it "
        "themselves, or allow it in interlock.toml with a rule such as "
        f'[[rules]] id = "allow-this" operation = {ops.split(", ")[0]} decision = "allow". '
        f"{explain_hint(result)}."
    )


def exit2_render(result: HookResult, agent: str) -> Rendered:
    """The one form every CLI honours (realclients.md): exit 2 blocks, stderr is the reason.

    Used by Codex and Gemini, which cannot ask: ``ask`` becomes a block whose message says what a
    person must do (Codex runs the command on a JSON ask, Gemini hangs in ``-p``).
    """
    if result.verdict is Verdict.ALLOW:
        return Rendered(0)
    if result.verdict is Verdict.ASK and not result.failure:
        return Rendered(2, stderr=needs_person_text(result, agent) + "\n")
    return Rendered(2, stderr=deny_text(result) + "\n")
