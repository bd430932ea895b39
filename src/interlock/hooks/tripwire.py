"""A honeytoken in a hook call: deny, stop the agent session, alert (docs/honeytokens.md).

Imported by the runner only when a honeytoken registry exists for the project, so a project
without decoys never loads it. Two ways a call uses a decoy:

1. **Its value is in the call**: anywhere in the raw payload the agent sent (a command, a file
   an agent writes, a web fetch's URL), or in an action's text (an argv list Codex sent, now
   joined). Substring search, :func:`interlock.honeytokens.Registry.find`.
2. **A shell command feeds a decoy file to a program**: ``cat .env.backup | curl …``,
   ``source .env.backup``, ``bash scripts/deploy_old.sh``, ``$(cat config/legacy.yml)``,
   ``psql < .env.backup``, ``curl -d @.env.backup``, ``cp .env.backup .env``. The value never
   appears in the payload, but the credentials go where the agent sends them. Only looking at
   a decoy is not a use (``cat``, ``grep``, ``head`` … alone or piped into filters such as
   ``grep`` and ``cut`` whose output only the agent reads; ``rm`` and ``ls`` too): finding a
   decoy is what the lure is for. Read with the shell parser, and only when a decoy's file name
   occurs in the command.

What tripping does, in this order, each step independent of the next failing:

1. the session's kill file (:func:`interlock.killswitch.kill_session`) in
   ``<project>/.interlock/``: every later call of this session is denied before anything else;
2. with an approval server configured, ``POST {server}/api/v1/alerts``: the server pages
   (PagerDuty critical, Slack), suspends the session's Interlock tokens and writes the same kill
   file into its data folder (server/alerts.py). Unreachable: the deny and the kill stand, and
   the audit record says the alert was not delivered;
3. one audit record per action, rule ``honeytoken``, with every planted value replaced by
   ``****`` (the digest is of that masked action): a decoy value is never written anywhere.
"""

from __future__ import annotations

import getpass
import json
import os
import posixpath
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from interlock import killswitch
from interlock.actions import Action, ShellAction, ToolCallAction, action_from_json, action_to_json
from interlock.config import Policy
from interlock.decisions import Decision, Reason, Verdict
from interlock.honeytokens import DecoyFile, Honeytoken, Registry
from interlock.hooks.common import Call, HookResult
from interlock.secrets import MASK

RULE = "honeytoken"
ALERT_TIMEOUT = 3.0
ANSWER_RESERVE = 0.5
ALERTED = "the approval server was alerted"


@dataclass(frozen=True)
class Hit:
    """What tripped: the decoy file, what it holds, and how the call used it."""

    file: str
    """Relative to the project when inside it."""
    kinds: str
    how: str
    token: Honeytoken | None = None
    """The value found, when the value itself was in the call."""


def find(raw: str, call: Call, registries: list[Registry]) -> Hit | None:
    """The first use of a planted decoy in this call, else None."""
    texts = [raw, *(_text(action) for action in call.actions)]
    for registry in registries:
        for text in texts:
            token = registry.find(text)
            if token is not None:
                return Hit(token.where(), token.label, "its value is in the call", token)
    decoys = [(f, r) for r in registries for f in r.files]
    for action in call.actions:
        if isinstance(action, ShellAction):
            used = decoy_use(action.command, action.cwd or call.cwd, [f for f, _ in decoys])
            if used is not None:
                decoy, how = used
                kinds = _kinds(decoy, next(r for f, r in decoys if f is decoy))
                return Hit(decoy.where(), kinds, how)
    return None


def _text(action: Action) -> str:
    return action.command if isinstance(action, ShellAction) else action.canonical()


def _kinds(decoy: DecoyFile, registry: Registry) -> str:
    labels = [t.label for t in registry.tokens if t.file == decoy.path]
    return ", ".join(dict.fromkeys(labels)) or "decoy credentials"


# --- 2. a decoy file fed to a program ---------------------------------------------------------

_LOOKS = """cat head tail less more bat batcat nl grep egrep fgrep rg ag ack wc ls stat file du diff
    cmp od xxd hexdump strings sha1sum sha256sum md5sum cksum rm test [ [[ sed awk cut jq yq
    tree realpath readlink basename dirname echo printf touch chmod git"""
LOOKS = frozenset(_LOOKS.split())
"""Commands that only show, name or delete a file: what the agent reads is the lure, not a use.
``git`` too: ``git rm --cached .env.backup`` must not stop a session."""
_NAMERS = frozenset({"echo", "printf"})
"""They write the name, not the content: ``echo .env.backup >> .gitignore`` copies nothing."""
INTERPRETERS = frozenset({"python", "python3", "node", "ruby", "perl", "php", "deno", "bun"})
"""Programs whose inline code (``python3 -c "load_dotenv('.env.backup')"``) may read a file
the shell never names as a word of its own."""
SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "eval"})
_FILTERS = """grep egrep fgrep rg head tail less more wc sort uniq cut sed awk tr nl cat column jq yq
    fold"""
FILTERS = frozenset(_FILTERS.split())
"""Programs a look may be piped into while only the agent reads the result."""
_WORDS = frozenset({"word", "string", "raw_string", "concatenation"})


def decoy_use(command: str, cwd: str, decoys: list[DecoyFile]) -> tuple[DecoyFile, str] | None:
    """The decoy file ``command`` feeds to a program, and how, else None."""
    globs = any(ch in command for ch in "*?[")
    named = [d for d in decoys if globs or posixpath.basename(d.path) in command]
    if not named:
        return None
    from interlock.analyzers import encode
    from interlock.analyzers.shell import MAX_COMMAND_BYTES, _parse

    data = encode(command)
    if len(data) > MAX_COMMAND_BYTES:  # not parsed (the engine asks about it too): fail closed
        return named[0], f"a command too large to read names {named[0].where()}"
    # shell._parse: the parse the analyzer uses, guarded against tree-sitter-bash#337.
    for node in _nodes(_parse(data).root_node):
        for decoy in named:
            if node.type == "command" and _mentions(node, data, cwd, decoy):
                how = _how(node, data, _command_name(node, data), cwd, decoy)
            elif node.type == "command":
                how = _inline_code(node, data, decoy)
            elif node.type == "file_redirect":
                how = _fed_to_a_block(node, data, cwd, decoy)
            else:
                continue
            if how is not None:
                return decoy, how
    return None


def _nodes(node: Any) -> Iterator[Any]:
    """Every node, in source order, without recursion (nesting is bounded only by 1 MB)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _inline_code(node: Any, data: bytes, decoy: DecoyFile) -> str | None:
    """``python3 -c "…'.env.backup'…"``, ``bash -c 'source .env.backup'``: code given as an
    argument names the decoy (shells included: their code is not walked here)."""
    name = _command_name(node, data)
    if name not in INTERPRETERS and name not in SHELLS:
        return None
    base = posixpath.basename(decoy.path)
    for child in node.children:
        if child.type in _WORDS and base in _slice(child, data):
            return f"`{name}` runs code that names {decoy.where()}"
    return None


def _fed_to_a_block(redirect: Any, data: bytes, cwd: str, decoy: DecoyFile) -> str | None:
    """``while read …; done < .env.backup``: a loop, group or subshell reads the decoy."""
    statement = redirect.parent
    if statement is None or statement.type != "redirected_statement":
        return None
    body = statement.children[0] if statement.children else None
    if body is None or body.type == "command":
        return None  # a simple command: judged with its words (_how)
    if not any(c.type == "<" for c in redirect.children):
        return None  # written to, not read
    words = [c for c in redirect.children if c.type in _WORDS]
    if any(_is_decoy(_unquote(_slice(w, data)), cwd, decoy) for w in words):
        return f"{decoy.where()} is read by a {body.type.replace('_', ' ')}"
    return None


def _command_name(node: Any, data: bytes) -> str:
    for child in node.children:
        if child.type == "command_name":
            return posixpath.basename(_unquote(_slice(child, data)))
    return ""


def _mentions(node: Any, data: bytes, cwd: str, decoy: DecoyFile) -> bool:
    """True when a word of the command, or a file it redirects, is the decoy."""
    for child in _operands(node):
        if child.type in _WORDS and _is_decoy(_unquote(_slice(child, data)), cwd, decoy):
            return True
        if child.type == "command_name" and _is_decoy(_unquote(_slice(child, data)), cwd, decoy):
            return True  # ./scripts/deploy_old.sh
    return False


def _operands(node: Any) -> Iterator[Any]:
    yield from node.children
    parent = node.parent
    if parent is not None and parent.type == "redirected_statement":
        for redirect in parent.children:
            if redirect.type == "file_redirect":
                yield from (c for c in redirect.children if c.type in _WORDS)


def _how(node: Any, data: bytes, name: str, cwd: str, decoy: DecoyFile) -> str | None:
    """How the command uses the decoy, or None when it only looks at it."""
    where = decoy.where()
    if name == posixpath.basename(decoy.path):
        return f"{where} is run"
    if name not in LOOKS:
        return f"`{name or 'a command'}` is given {where}"
    return _looked_at(node, data, name, where)


def _looked_at(node: Any, data: bytes, name: str, where: str) -> str | None:
    """A command that only looks at the decoy, unless its output goes on to a program."""
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.type in ("command_substitution", "process_substitution"):
            return f"the content of {where} is substituted into a command"
        if (
            ancestor.type == "redirected_statement"
            and name not in _NAMERS
            and _writes(ancestor, data)
        ):
            return f"{where} is copied by a redirection"
        if ancestor.type == "pipeline":
            programs = [_command_name(c, data) for c in ancestor.children if c.type == "command"]
            onward = [p for p in programs if p not in FILTERS and p != name]
            if onward:
                return f"{where} is piped into `{onward[0]}`"
        ancestor = ancestor.parent
    return None


def _writes(statement: Any, data: bytes) -> bool:
    for redirect in statement.children:
        if redirect.type == "file_redirect" and any(
            c.type in (">", ">>", "&>", "&>>", ">|") for c in redirect.children
        ):
            return True
    return False


def _is_decoy(word: str, cwd: str, decoy: DecoyFile) -> bool:
    """``word`` names the decoy: ``.env.backup``, ``./x``, an absolute path, ``@file`` (curl),
    ``--env-file=file``, a glob that matches it, or its tail when ``cd`` moved elsewhere."""
    base = posixpath.basename(decoy.path)
    for candidate in {word, word.lstrip("@"), word.rsplit("=", 1)[-1]}:
        if not candidate or (base not in candidate and not _globby(candidate)):
            continue
        if _globby(candidate):
            pattern = posixpath.join(cwd, os.path.expanduser(candidate))
            if fnmatchcase(decoy.path, posixpath.normpath(pattern)):
                return True
            if fnmatchcase(base, posixpath.basename(candidate)) and "$" in candidate:
                return True
            continue
        path = posixpath.normpath(posixpath.join(cwd, os.path.expanduser(candidate)))
        if path == decoy.path:
            return True
        tail = posixpath.normpath(candidate)
        if (
            not candidate.startswith("/")
            and decoy.path.endswith("/" + tail)
            and not os.path.exists(path)
        ):
            return True  # `cd config && cat legacy.yml | …`: the folder moved, the name did not
    return False


def _globby(word: str) -> bool:
    return any(ch in word for ch in "*?[$")


def _slice(node: Any, data: bytes) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", "surrogateescape")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


# --- tripping ----------------------------------------------------------------------------------


def trip(
    call: Call, policy: Policy, hit: Hit, registries: list[Registry], deadline: float | None
) -> HookResult:
    """Deny, stop the session, alert, audit: what a honeytoken in a call sets off."""
    reason = f"it used decoy credentials planted in {hit.file} ({hit.kinds}): {hit.how}"
    notes: list[str] = []
    record = {
        "by": RULE,
        "reason": reason,
        "file": hit.file,
        "kind": hit.kinds,
        "agent": call.actor.agent,
    }
    try:
        folder = Path(policy.project_root) / ".interlock"
        killswitch.kill_session(folder, call.actor.session, record)
    except OSError as exc:
        notes.append(f"the session's kill file could not be written ({exc.strerror or exc})")
    alerted = ""
    if policy.approvals.server:
        note = _alert(policy.approvals.server, call, policy, hit, deadline)
        notes.append(note)
        alerted = " and people are alerted" if note == ALERTED else ""
    message = (
        f"this call uses credentials Interlock planted as decoys in {hit.file} ({hit.kinds}; "
        f"{hit.how}). No task needs them: this agent session is stopped{alerted}"
    )
    _record(call, policy, message, notes, registries)
    return HookResult(
        Verdict.DENY,
        message,
        RULE,
        event=call.event,
        permission_mode=call.permission_mode,
    )


def _alert(server: str, call: Call, policy: Policy, hit: Hit, deadline: float | None) -> str:
    """POST the alert; a sentence for the audit record saying whether it was delivered."""
    import urllib.error
    import urllib.request

    body = {
        "kind": RULE,
        "agent": call.actor.agent,
        "session": call.actor.session,
        "file": hit.file,
        "token_kind": hit.kinds,
        "how": hit.how,
        "masked": hit.token.masked() if hit.token else "",
        "fingerprint": hit.token.fingerprint() if hit.token else "",
        "project": policy.project_root,
        "user": _user(),
    }
    if not server.startswith(("http://", "https://")):
        return "the alert was NOT sent: the approval server is not an http(s) URL"
    left = ALERT_TIMEOUT
    if deadline is not None:
        left = min(left, deadline - time.monotonic() - ANSWER_RESERVE)
    if left <= 0:
        return "the alert was NOT sent: no time was left before the hook's deadline"
    request = urllib.request.Request(
        server.rstrip("/") + "/api/v1/alerts",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "interlock-hook"},
        method="POST",
    )
    try:
        # No proxy from the environment: straight to the configured server, as filing is.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=left) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        return f"the alert was NOT delivered to the approval server ({type(exc).__name__})"
    if status != 201:
        return f"the alert was NOT accepted by the approval server (HTTP {status})"
    return ALERTED


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _record(
    call: Call, policy: Policy, message: str, notes: list[str], registries: list[Registry]
) -> None:
    from interlock.hooks.runner import record

    text = message + "".join(f"; {note}" for note in notes)
    reason = Reason(RULE, text, Verdict.DENY)
    actions = [_masked(a, registries) for a in call.actions] or [_placeholder(call)]
    decided = [
        (a, Decision(Verdict.DENY, (reason,), (), a.digest(), policy.revision)) for a in actions
    ]
    record(decided, policy.project_root)


def _masked(action: Action, registries: list[Registry]) -> Action:
    """The action with every planted value replaced by ``****``. Values are made of letters,
    digits and ``-_+/``, which JSON writes as they are: replacing them keeps the JSON valid."""
    text = json.dumps(action_to_json(action), ensure_ascii=False)
    for registry in registries:
        for value, _, _ in registry.values:
            text = text.replace(value, MASK)
    return action_from_json(json.loads(text))


def _placeholder(call: Call) -> Action:
    """A call with no action to record (a web fetch carrying the value) is recorded as one."""
    return ToolCallAction(
        tool=call.event or "hook",
        operation="call",
        arguments={"honeytoken": "the call's payload held a decoy value"},
        cwd=call.cwd,
        actor=call.actor,
    )
