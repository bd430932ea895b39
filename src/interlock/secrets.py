"""Secrets: a type that will not print itself, and :func:`mask` for free text.

The PocketOS incident (25 April 2026) began with an agent finding a Railway token in a file it
had no business reading. Interlock must not become the next such file: every command, SQL
statement, URL and finding it writes to the audit log or prints goes through :func:`mask` first
(issue #2, item 7). The name of a credential is kept and its value replaced with ``****``
(``RAILWAY_TOKEN=****``, ``postgres://app:****@db``, ``ghp_****``), so a reader still sees what
kind of secret was used without learning it.

This runs on every hook call, so it uses only the standard library and compiles its patterns
once at import. ``bench`` in tests/test_secrets.py keeps a typical command well under 100 µs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

__all__ = ["MASK", "Secret", "mask", "mask_json"]

MASK: Final = "****"


class Secret:
    """A string that shows ``Secret('********')`` in reprs, f-strings, logs and tracebacks.

    Call :meth:`reveal` at the one place the value is really needed (an upstream request).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:
        # Pickling would copy the value into caches and queues nobody audits.
        raise TypeError("a Secret cannot be pickled; pass the name of the credential instead")


# Words that make a variable, flag or JSON key name a credential. Exclusions keep ordinary
# names readable: AUTHOR (git --author), TOKENIZERS_PARALLELISM, --max-tokens, PASSAGE.
_KEYWORD = (
    r"(?:TOKEN(?!S\b|S_|S-|IZ)|SECRET|PASSW(?:OR)?D|PASS(?!AGE|THROUGH|ED\b|ES\b)|_PWD\b"
    r"|API[_-]?KEY|ACCESS[_-]?KEY|PRIVATE[_-]?KEY|(?:SIGNING|ENCRYPTION|MASTER|CLIENT|APP)[_-]?KEY"
    r"|CREDENTIAL|AUTH(?!OR\b|ORS|OR_|OR-|ORED|ORIT))"
)
# Names that contain a keyword but hold no secret: a path to one, a type, a boolean flag.
_HARMLESS_NAME = re.compile(
    r"(?:[-_](?:file|path|dir|stdin|type|env|helper|method|mode|command|cmd|url|endpoint)s?$)"
    r"|^-*no[-_]|^-*(?:anyauth|ask[-_]pass|ask[-_]become[-_]pass|ask[-_]vault[-_]pass"
    r"|with[-_]token|password[-_]prompt)$",
    re.IGNORECASE,
)

# A value: quoted, or up to whitespace or a shell/URL separator.
_VALUE = r"(?:\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s&;|'\"<>)(]+)"

_PEM = re.compile(
    r"(-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----)(?:.*?(-----END \2PRIVATE KEY-----)|.*)",
    re.DOTALL,
)
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256|apikey)\s+)?"
    r"([^\s\"',;]+)"
)
_HEADER_FLAG = re.compile(
    r"(?i)((?:-H|--header)\s*[\"']?[\w-]*" + _KEYWORD + r"[\w-]*\s*:\s*)([^\"'\n]+)"
)
_BEARER = re.compile(r"\b(Bearer\s+)([A-Za-z0-9._~+/=-]{8,})")
_URL_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s'\"]*:)([^\s/?#'\"]*)@")
_CURL = re.compile(r"\b(?:curl|wget)\b[^;|&\n]*")
_CURL_USER = re.compile(r"((?:\s-u|\s--user)(?![\w-])(?:\s+|=)?[\"']?[^\s:\"']+:)([^\s\"']+)")
_MYSQL = re.compile(r"\b(?:mysql\w*|mariadb\w*)\b[^;|&\n]*")
_MYSQL_P = re.compile(r"(\s-p)(?!\s)([^\s;|&]+)")
_JSON_FIELD = re.compile(
    r"(?i)([\"'][\w.-]*" + _KEYWORD + r"[\w.-]*[\"']\s*:\s*)"
    r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[\w.+-]+)"
)
_ASSIGN = re.compile(
    r"(?i)(?<![\w.-])(-{0,2}[\w.-]*?" + _KEYWORD + r"[\w.-]*)(=|[ \t]+)(" + _VALUE + ")"
)
_SQL_PASSWORD = re.compile(
    r"(?i)\b((?:PASSWORD\s*=\s*|PASSWORD\s+|IDENTIFIED\s+BY\s+))('(?:[^']|'')*'|\"[^\"\n]*\")"
)
_TOKEN_SHAPES = re.compile(
    r"\b("
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA)(?=[A-Z0-9]{16}\b)"
    r"|gh[pousr]_(?=[A-Za-z0-9]{20,})"
    r"|github_pat_(?=[A-Za-z0-9_]{20,})"
    r"|glpat-(?=[A-Za-z0-9_-]{20,})"
    r"|xox[abprse]-(?=[A-Za-z0-9-]{10,})"
    r"|sk-ant-(?=[A-Za-z0-9_-]{20,})"
    r"|sk-(?:proj-)?(?=[A-Za-z0-9_-]{20,})"
    r"|(?:sk|rk)_(?:live|test)_(?=[A-Za-z0-9]{10,})"
    r"|AIza(?=[0-9A-Za-z_-]{35})"
    r"|eyJ(?=[\w-]{8,}\.[\w-]{8,}\.)"
    r"|ilk_(?=[A-Za-z0-9_-]{8,})"
    r")[\w.-]+"
)
# A cheap first look: text with none of these characters or words cannot hold a secret we
# recognise, so most commands (`ls`, `git status`) skip the dozen patterns below.
_TRIGGER = re.compile(
    r"(?i)[:=@]|PRIVATE KEY|bearer|" + _KEYWORD + r"|AKIA|ASIA|AGPA|AIDA|AROA|gh[pousr]_"
    r"|github_pat_|glpat-|xox|sk[-_]|rk_|AIza|eyJ|ilk_|\s-p\S"
)


_REFERENCE = re.compile(r"[\"']?\$\{?\w+\}?[\"']?")


def _already(value: str) -> bool:
    """Masked before, or only a reference (``$RAILWAY_TOKEN``), which names and hides."""
    return MASK in value or _REFERENCE.fullmatch(value) is not None


def _pem(m: re.Match[str]) -> str:
    end = m.group(3) or f"-----END {m.group(2)}PRIVATE KEY-----"
    return f"{m.group(1)}{MASK}{end}"


def _auth_header(m: re.Match[str]) -> str:
    if _already(m.group(3)) or (not m.group(2) and len(m.group(3)) < 12):
        # Without a scheme only a long value is taken for a credential, so a commit message
        # "authorization: handle expiry" stays readable.
        return m.group(0)
    scheme = f"{m.group(2)} " if m.group(2) else ""
    return f"{m.group(1)}{scheme}{MASK}"


def _keep_first(m: re.Match[str]) -> str:
    return m.group(0) if _already(m.group(2)) else m.group(1) + MASK


_SCHEME = re.compile(r"(?i)(?:bearer|basic|token|digest)\s+")


def _header_flag(m: re.Match[str]) -> str:
    value = m.group(2)
    scheme = _SCHEME.match(value)
    prefix = scheme.group(0) if scheme else ""
    if _already(value[len(prefix) :].strip()):
        return m.group(0)
    return m.group(1) + prefix + MASK


def _json_field(m: re.Match[str]) -> str:
    value = m.group(2)
    key = m.group(1).split(":")[0].strip().strip("\"'")
    if _already(value) or _HARMLESS_NAME.search(key):
        return m.group(0)
    if value[0] in "\"'":
        return f"{m.group(1)}{value[0]}{MASK}{value[0]}"
    return m.group(1) + MASK


def _assign(m: re.Match[str]) -> str:
    name, sep, value = m.group(1), m.group(2), m.group(3)
    if _already(value) or _HARMLESS_NAME.search(name):
        return m.group(0)
    if sep != "=" and not (name.startswith("--") and not value.startswith("-")):
        # `--password hunter2` is a flag and its value; `grep -r PASSWORD .` is not.
        return m.group(0)
    if value[0] in "\"'" and len(value) > 1:
        return f"{name}{sep}{value[0]}{MASK}{value[0]}"
    return f"{name}{sep}{MASK}"


def _sql_password(m: re.Match[str]) -> str:
    value = m.group(2)
    return m.group(0) if _already(value) else f"{m.group(1)}{value[0]}{MASK}{value[0]}"


def _within(segment: re.Pattern[str], inner: re.Pattern[str]) -> Callable[[str], str]:
    """Apply ``inner`` only inside command segments matched by ``segment``.

    ``-u user:pass`` is a password for curl but a uid:gid for docker, and ``-pSECRET`` is a
    password for mysql but ``-pr`` is "preserve, recursive" for cp.
    """

    def one(m: re.Match[str]) -> str:
        return inner.sub(_keep_first, m.group(0))

    return lambda text: segment.sub(one, text)


_STEPS: tuple[Callable[[str], str], ...] = (
    lambda t: _PEM.sub(_pem, t),
    lambda t: _AUTH_HEADER.sub(_auth_header, t),
    lambda t: _HEADER_FLAG.sub(_header_flag, t),
    lambda t: _BEARER.sub(_keep_first, t),
    lambda t: _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", t),
    _within(_CURL, _CURL_USER),
    _within(_MYSQL, _MYSQL_P),
    lambda t: _JSON_FIELD.sub(_json_field, t),
    lambda t: _ASSIGN.sub(_assign, t),
    lambda t: _SQL_PASSWORD.sub(_sql_password, t),
    lambda t: _TOKEN_SHAPES.sub(lambda m: m.group(1) + MASK, t),
)


def mask(text: str) -> str:
    """``text`` with every credential we recognise replaced by ``****``, names kept.

    Idempotent: masking masked text changes nothing. Not a guarantee: a secret in a shape we do
    not know (a bare random string in a positional argument) passes through, which is why
    agents should hold only Interlock tokens (docs/audit.md).
    """
    if not text or not _TRIGGER.search(text):
        return text
    for step in _STEPS:
        text = step(text)
    return text


def mask_json(value: Any) -> Any:
    """A copy of a JSON-like value with every string masked, and every value under a key
    that names a credential (``{"password": ...}``) replaced by ``****``."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if (
                isinstance(item, str | int | float)
                and not isinstance(item, bool)
                and _is_secret_name(name)
            ):
                out[name] = MASK
            else:
                out[name] = mask_json(item)
        return out
    if isinstance(value, list | tuple):
        return [mask_json(v) for v in value]
    if isinstance(value, Secret):
        return MASK
    return value


_SECRET_NAME = re.compile(r"(?i)" + _KEYWORD)


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _HARMLESS_NAME.search(name)
