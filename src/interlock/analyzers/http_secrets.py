"""Credentials sent to a host that is not their provider's: exfiltration.

The PocketOS agent found a Railway token in a file it had no business reading
(../shared/notes/anchors.md §0). A token used against its own provider is the agent's work; the
same token in a request to any other host is a copy leaving the machine, whatever the request
says it is for. Token shapes are the ones :mod:`interlock.secrets` masks (``ghp_``, ``AKIA``,
``sk-ant-`` …); whose they are is data, ``token_prefixes`` in the provider catalogs.

The secret itself never appears in a finding: only its kind and prefix (``ghp_****``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from interlock.analyzers.http_providers import Provider, Providers
from interlock.secrets import MASK

__all__ = ["Leak", "leaks"]


@dataclass(frozen=True)
class Leak:
    provider: str | None
    """Whose credential it is; None for a private key, which belongs to no API."""
    shown: str
    """What to call it in a summary: ``a GitHub token (ghp_****)``. Never the value."""
    where: str
    """``the Authorization header``, ``the query string``, ``the body``."""


def _owned(provider: Provider, host: str) -> bool:
    return any(fnmatch.fnmatchcase(host, p) for p in provider.hosts + provider.token_hosts)


def leaks(
    host: str, headers: Mapping[str, str], query: str, body: str, catalog: Providers
) -> list[Leak]:
    """Every recognised credential in the request that is not for ``host``, once each."""
    from interlock.secrets import _TOKEN_SHAPES  # the shapes the masker knows, kept in one place

    places = [(f"the {name} header", value) for name, value in headers.items()]
    places += [("the query string", unquote_plus(query)), ("the body", body)]
    if body and "%" in body:
        places.append(("the body", unquote_plus(body)))
    found: dict[tuple[str | None, str], Leak] = {}
    for where, text in places:
        if not text:
            continue
        for m in _TOKEN_SHAPES.finditer(text):
            prefix = m.group(1)
            owner = catalog.owner_of_token(prefix)
            if owner is None or _owned(owner, host):
                continue
            leak = Leak(owner.name, f"a {owner.name} token ({prefix}{MASK})", where)
            found.setdefault((owner.name, where), leak)
        if "PRIVATE KEY-----" in text and "-----BEGIN" in text:
            found.setdefault((None, where), Leak(None, "a private key", where))
    for name in headers:
        for provider in catalog.providers:
            if name in provider.token_headers and not _owned(provider, host):
                leak = Leak(provider.name, f"a {provider.name} token ({name}: {MASK})", "a header")
                found.setdefault((provider.name, f"the {name} header"), leak)
    return list(found.values())
