"""Analyzers turn an action into findings.

One module per kind of action (shell, sql, http, terraform, tools) plus the catalogs of
destructive operations, which are data (``catalogs/*.toml``). Every analyzer is pure: the
policy (project root, home, environments) comes in as an argument, nothing is read from disk
except the catalogs, which load once.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from interlock.config import Policy
from interlock.decisions import Finding, Verdict
from interlock.frozen import quick_init

DYN = "\x00"
"""Marks the part of a word the parser cannot know: ``$DIR/x`` resolves to ``\\x00/x``."""


def _surrogates(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = bytearray()
    for char in error.object[error.start : error.end]:
        point = ord(char)
        if 0xDC80 <= point <= 0xDCFF:
            out.append(point - 0xDC00)  # a byte that was not UTF-8 in the source, given back
        else:
            out += char.encode("utf-8", "surrogatepass")  # a lone surrogate, from JSON's \ud800
    return bytes(out), error.end


codecs.register_error("interlock.surrogates", _surrogates)


def encode(text: str) -> bytes:
    """UTF-8 bytes of any ``str``, never an error.

    Text parsed from bytes keeps bytes that are not UTF-8 as surrogate escapes, and those go
    back as the same bytes; other lone surrogates (a hook's JSON may say ``"\\ud800"``) are
    written as their three-byte form. A command holding one crashed the analysis (red-team).
    """
    return text.encode("utf-8", "interlock.surrogates")


def is_dynamic(word: str) -> bool:
    return DYN in word


def show(word: str) -> str:
    """A word for humans: the unknown part shown as ``…``."""
    return word.replace(DYN, "…")


def unknown(
    what: str,
    *,
    rule: str,
    operation: str = "shell.opaque_code",
    environment: str | None = None,
    evidence: str = "",
) -> Finding:
    """A finding for something that runs but cannot be read: at least ask, and a user rule
    cannot lower it (issue #2: what the parser cannot resolve is never allow)."""
    return Finding(
        operation=operation,
        summary=what,
        verdict=Verdict.ASK,
        rule=rule,
        environment=environment,
        evidence=evidence,
        floor=Verdict.ASK,
    )


@quick_init
@dataclass(frozen=True)
class Scope:
    """Where an analyzed piece runs: the policy, the working directory and the environment."""

    policy: Policy
    cwd: str | None
    """Absolute working directory, or None once a ``cd`` to an unknown place was seen."""
    environment: str | None
    """The environment named by the action or by the command itself (``--context prod``)."""
    remote: str | None = None
    """Set for commands run on another host (``ssh host '…'``): local paths mean nothing there."""
    depth: int = 0
    """How many wrappers deep: bounds ``bash -c "bash -c …"`` recursion."""


@quick_init
@dataclass(frozen=True)
class SimpleCommand:
    """One command the shell would run, after quotes are resolved and wrappers removed.

    ``sudo -u pg env FOO=1 timeout 5 rm -rf "$HOME"/x`` becomes ``argv = ("rm", "-rf",
    "/home/dev/x")`` with ``via = ("sudo", "env", "timeout")``.
    """

    argv: tuple[str, ...]
    """Resolved words. Unknown parts are DYN; ``$HOME`` and ``~`` are already the policy's home."""
    text: str
    """The source text of the command, for evidence in findings."""
    scope: Scope
    assignments: tuple[tuple[str, str], ...] = ()
    """``NAME=value`` prefixes and ``env NAME=value`` pairs: the command's extra environment."""
    stdin: str | None = None
    """Literal text fed to the command's standard input (heredoc, herestring, ``echo … |``)."""
    stdin_unknown: bool = False
    """True when standard input comes from something whose output cannot be known (``curl … |``)."""
    via: tuple[str, ...] = ()
    """Wrappers this command was unwrapped from, outermost first."""
    scripts: tuple[tuple[str, str], ...] = ()
    """Files written earlier in the same string with known content (``echo … > x.sh``), by
    absolute path: running one of them is judged by what was written."""
    variables: tuple[tuple[str, str], ...] = ()
    """Shell variables known when an ``eval`` or ``trap`` runs (for a trap, only those nothing
    set afterwards): the code it runs sees them (``d=$(mktemp -d); trap 'rm -rf "$d"' EXIT``)."""

    name: str = field(init=False, repr=False, compare=False)
    """The program's base name: ``/usr/bin/rm`` -> ``rm``. Set once when the command is made
    (a cached_property took a lock on first use): the analyzers ask a dozen times per command."""

    def __post_init__(self) -> None:
        first = self.argv[0] if self.argv else ""
        self.__dict__["name"] = first.rsplit("/", 1)[-1]  # frozen: set past __setattr__
