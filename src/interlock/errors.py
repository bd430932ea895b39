"""Interlock's errors.

One base, one subclass per family; every message says what to do next::

    InterlockError
    ├── ConfigError          interlock.toml or a catalog is malformed
    ├── PolicyError          a rule cannot be applied
    ├── HookInputError       a hook payload is malformed, too large or of an unknown shape
    ├── AuditError           the audit log cannot be written or read
    │   └── AuditTamperError the hash chain is broken
    ├── SetupError           `interlock init` cannot merge or undo agent settings
    ├── ServerError          the approval server cannot start, reach its database or is misused
    │   └── ApprovalError    an approval was refused (requester, twice, expired, wrong action)
    ├── BrokerError          a credential or Interlock token cannot be stored, read or accepted
    └── HoneytokenError      the honeytoken registry cannot be read or written, or plant failed

The CLI catches only the base and prints :meth:`InterlockError.diagnostics`.
"""

from __future__ import annotations


class InterlockError(Exception):
    """Base of every error Interlock raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint

    def diagnostics(self) -> str:
        """The message, then what the user can do about it."""
        text = str(self)
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class ConfigError(InterlockError):
    hint = "fix interlock.toml (see docs/policy.md) and run `interlock policy explain` again"


class PolicyError(InterlockError):
    pass


class HookInputError(InterlockError):
    pass


class AuditError(InterlockError):
    hint = "check that the audit folder exists and is writable (INTERLOCK_AUDIT_LOG)"


class AuditTamperError(AuditError):
    hint = "the audit log was edited, truncated or reordered; keep a copy and investigate"


class SetupError(InterlockError):
    pass


class ServerError(InterlockError):
    hint = "check [server] in interlock.toml and `interlock serve --help` (docs/server.md)"


class ApprovalError(ServerError):
    """An approver's vote or a consumption was refused; the message says why."""

    hint = ""


class BrokerError(InterlockError):
    """The broker refused: a bad key, a credential it cannot decrypt, a token it does not accept.

    ``reason`` is a short code a caller can act on without parsing the message (the gateway
    answers 401 for ``unknown``/``malformed``/``expired``/``revoked``/``suspended``). Messages
    never contain a credential or a token, only their names and ids.
    """

    hint = "see `interlock credential --help`, `interlock token --help` and docs/broker.md"

    def __init__(self, message: str, hint: str = "", *, reason: str = "error") -> None:
        super().__init__(message, hint)
        self.reason = reason


class HoneytokenError(InterlockError):
    """The honeytoken registry is unreadable or malformed, or decoys cannot be planted.

    A hook that meets it denies the call: a decoy check that silently stopped working would
    let a found decoy be used unnoticed.
    """

    hint = "see `interlock honeytoken --help` and docs/honeytokens.md"
