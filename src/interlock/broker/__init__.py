"""The credential broker: real credentials stay here, agents get Interlock tokens (issue 6).

- :mod:`interlock.broker.keys`: the broker key (``INTERLOCK_BROKER_KEY`` or ``broker.key``);
- :mod:`interlock.broker.credentials`: upstream credentials, AES-GCM at rest, handed to the
  gateway as :class:`~interlock.secrets.Secret`;
- :mod:`interlock.broker.tokens`: ``ilk_`` tokens bound to a session, one environment, upstreams
  and operations; only their SHA-256 is stored.

docs/broker.md explains the model and the commands (`interlock credential`, `interlock token`,
`interlock env`).
"""

from __future__ import annotations

from interlock.broker.credentials import CredentialInfo, Credentials, Injected
from interlock.broker.keys import BrokerKey
from interlock.broker.tokens import PREFIX, TokenInfo, Tokens

__all__ = [
    "PREFIX",
    "BrokerKey",
    "CredentialInfo",
    "Credentials",
    "Injected",
    "TokenInfo",
    "Tokens",
]
