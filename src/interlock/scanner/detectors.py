"""What a stray credential looks like: detect-secrets' provider plugins plus Interlock's own.

detect-secrets (Yelp) keeps the well-tested provider shapes (AWS, GitHub, GitLab, Slack, Stripe,
OpenAI, SendGrid, PyPI, private keys, URL passwords) and the heuristics that tell a
secret from an identifier (entropy, sequential strings, templates, indirect references). Its
plugins yield a value, not where it is, so Interlock runs their compiled patterns itself over
the whole text and keeps the span. It has nothing for the shapes the PocketOS incident turned
on (../shared/notes/anchors.md §0): a Railway token is a bare UUID, a secret only because of
what it is assigned to or sent with; a database URL's password; a GCP service-account key,
which is a JSON document. Those detectors are here.

Every detector returns :class:`Hit` spans into the file's text: the exact characters that
`interlock scan --move` replaces. A hit never carries the value: the caller slices it from the
text it already holds, so nothing in this module can print one.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from detect_secrets.filters.heuristic import is_indirect_reference, is_sequential_string
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector

__all__ = ["CODE_SUFFIXES", "KINDS", "Hit", "Kind", "detect", "is_placeholder"]


@dataclass(frozen=True)
class Kind:
    """A kind of credential, and how the broker should hold one (docs/broker.md)."""

    slug: str
    label: str
    upstream: str
    header: str = "authorization"
    scheme: str = "Bearer"
    movable: bool = True
    """False where the broker cannot hold the value (a multi-line PEM block)."""


KINDS: Final[dict[str, Kind]] = {
    k.slug: k
    for k in (
        Kind("railway-token", "Railway API or project token", "railway"),
        Kind("aws-access-key", "AWS access key ID", "aws", "x-aws-access-key-id", ""),
        Kind("aws-secret-key", "AWS secret access key", "aws", "x-aws-secret-access-key", ""),
        Kind("gcp-service-account", "GCP service-account key (JSON)", "gcp"),
        Kind("github-token", "GitHub token", "github"),
        Kind("gitlab-token", "GitLab token", "gitlab", "private-token", ""),
        Kind("stripe-key", "Stripe secret or restricted key", "stripe"),
        Kind("stripe-webhook-secret", "Stripe webhook signing secret", "stripe"),
        Kind("slack-token", "Slack token", "slack"),
        Kind("slack-webhook", "Slack incoming-webhook URL", "slack"),
        Kind("openai-key", "OpenAI API key", "openai"),
        Kind("sendgrid-key", "SendGrid API key", "sendgrid"),
        Kind("pypi-token", "PyPI upload token", "pypi"),
        Kind("database-url", "database URL with a password", "database", scheme=""),
        Kind("url-password", "URL with a password", "url", scheme=""),
        Kind("private-key", "private key", "private-key", movable=False),
        Kind("generic-secret", "high-entropy value under a secret-looking name", "generic"),
    )
}


@dataclass(frozen=True)
class Hit:
    """``text[start:end]`` is a credential of ``kind``; ``name`` is what it is assigned to."""

    kind: str
    start: int
    end: int
    name: str | None = None


# --- look-alikes -------------------------------------------------------------------------

# A placeholder word counts only where it starts or ends a run of letters and digits
# (`your-token`, `sk_test_EXAMPLE`, `AKIAIOSFODNN7EXAMPLE`): inside a random token it is
# chance (a real `sk_live_…` key held "todo" in about 1 run of 500 of tests/test_scanner.py).
_WORDS = (
    r"example|change[-_ ]?me|placeholder|dummy|redacted|replace|insert|fixme|todo|sample|fake"
    r"|not[-_ ]?a[-_ ]?real|tiger"
)
_PLACEHOLDER_PARTS = re.compile(
    rf"(?i)(?<![a-z0-9])(?:{_WORDS})|(?:{_WORDS})(?![a-z0-9])|your[-_ ]|^your"
    r"|xxxx|\*\*\*|\.\.\.|…|<[^>]*>|\$\{|\{\{|%\(|^\$|^%|^\{|(.)\1{7}|abcdefgh|12345678"
)
# fmt: off
_PLACEHOLDER_WORDS = frozenset([
    "password", "passwd", "pass", "secret", "secrets", "token", "apikey", "api_key", "key",
    "test", "testing", "tests", "admin", "root", "user", "username", "postgres", "mysql", "mongo",
    "redis", "guest", "default", "none", "null", "nil", "empty", "foo", "bar", "baz", "qwerty",
    "letmein", "welcome", "abc", "abcdef", "asdf", "dev", "local", "development", "hunter",
])
# fmt: on


def is_placeholder(value: str) -> bool:
    """``changeme``, ``<your-token>``, ``${DB_PASSWORD}``, ``xxxx…``, ``password123``: no secret.

    Digits and separators are stripped before the word check, so ``password123`` and
    ``secret-1`` count as the words they are. A value of one or two distinct characters, a
    long run of one character (``…-0000-000000000000``), or a run of the alphabet
    (detect-secrets' sequential-string heuristic) is a placeholder too.
    """
    if not value or _PLACEHOLDER_PARTS.search(value):
        return True
    if len(set(value)) <= 2 or is_sequential_string(value):
        return True
    word = re.sub(r"[\d\W_]+", "", value.lower())
    return word in _PLACEHOLDER_WORDS or (not word and len(value) < 8)


# --- assignments: NAME=value, name: value, "name": "value", name = "value" --------------------

_ASSIGN = re.compile(
    r"""(?<![\w.$-])["']?(?P<name>[A-Za-z_][\w.-]{0,63})["']?\]?[ \t]*"""
    r"""(?::=|=>|=(?!=)|:(?![:/]))[ \t]*"""
    r"""(?:(?P<q>["'`])(?P<qv>[^"'`\n]*)(?P=q)|(?P<v>[^\s"'`,;)\]}]+))"""
)
_KEYWORDS = re.compile(r"passw|pwd|secret|token|key|credential")
"""Run on the lower-cased text: a cheap first look for lines that may hold a named secret."""
_SECRET_WORDS = re.compile(
    r"passw|pwd|secret|token|credential|apikey"
    r"|(?:api|access|private|auth|client|signing|encryption|master|session|app)[_.-]?key"
)
"""The second look, on one lower-cased line: what the named detectors below need (``key``
alone, in every dict and map, is not enough)."""


@dataclass(frozen=True)
class _Assignment:
    name: str
    name_start: int
    start: int
    end: int
    quoted: bool


def _assignments_in(text: str, begin: int, end: int) -> Iterator[_Assignment]:
    for m in _ASSIGN.finditer(text, begin, end):
        group = "qv" if m.group("q") else "v"
        if m.start(group) < m.end(group):
            yield _Assignment(
                m.group("name"), m.start("name"), m.start(group), m.end(group), group == "qv"
            )


def _keyword_assignments(text: str, lower: str) -> list[_Assignment]:
    """Assignments on lines that mention a secret-ish word: a few per file, not every ``x = y``."""
    out: list[_Assignment] = []
    done = -1
    for m in _KEYWORDS.finditer(lower):
        if m.start() < done:
            continue
        begin, done = _line_bounds(text, m.start())
        if _SECRET_WORDS.search(lower, begin, done):
            out.extend(_assignments_in(text, begin, done))
    return out


def _line_bounds(text: str, offset: int) -> tuple[int, int]:
    end = text.find("\n", offset)
    return text.rfind("\n", 0, offset) + 1, end if end >= 0 else len(text)


def _name_for(text: str, start: int, end: int, spans: Sequence[tuple[int, int]]) -> str | None:
    """The name whose value holds ``[start, end)`` (``DATABASE_URL`` for the URL in it).

    A name is shown in reports, so one that is itself part of a credential (``sk_live_…:``
    parsed as a YAML key) is dropped.
    """
    for a in _assignments_in(text, *_line_bounds(text, start)):
        if text[max(0, a.name_start - 3) : a.name_start] == "://":
            continue  # the user of scheme://user:password@host, not a name
        if a.start <= start and end <= a.end:
            name_end = a.name_start + len(a.name)
            if any(s < name_end and a.name_start < e for s, e in spans):
                return None
            return a.name
    return None


# --- provider shapes from detect-secrets ------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    kind: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...] = ()
    """Lower-case strings of which the text must hold one for the pattern to be worth running.
    Only for patterns without a literal start, which the regex engine tries at every offset;
    the others find their literal by themselves, faster than a substring test would."""
    widen: bool = True
    """Extend the match over following token characters (Stripe's pattern stops at 24)."""


def _shapes() -> tuple[_Shape, ...]:
    """detect-secrets' compiled patterns, the slow ones behind a cheap substring test.

    AWS's second pattern (a quoted 40-character value near ``aws…key``) is the secret key, its
    first the key ID. detect-secrets knows only classic GitHub tokens; fine-grained ones
    (``github_pat_``) and Stripe webhook secrets (``whsec_``) are added here.
    """
    aws, slack = AWSKeyDetector.denylist, SlackDetector.denylist
    shapes = [
        _Shape("aws-access-key", aws[0]),
        _Shape("aws-secret-key", aws[1], ("aws",), widen=False),
        _Shape("slack-token", slack[0], ("xox",)),
        _Shape("slack-webhook", slack[1], ("hooks.slack.com",), widen=False),
        _Shape("github-token", re.compile(r"github_pat_[A-Za-z0-9_]{60,}"), ("github_pat_",)),
        _Shape("stripe-webhook-secret", re.compile(r"whsec_[A-Za-z0-9+/=]{24,}"), ("whsec_",)),
    ]
    for plugin, kind, needles in (
        (GitHubTokenDetector, "github-token", ()),
        (GitLabTokenDetector, "gitlab-token", ()),
        (StripeDetector, "stripe-key", ("k_live_",)),
        (OpenAIDetector, "openai-key", ()),
        (SendGridDetector, "sendgrid-key", ()),
        (PypiTokenDetector, "pypi-token", ()),
    ):
        shapes.extend(_Shape(kind, p, needles) for p in plugin.denylist)
    return tuple(shapes)


_SHAPES: Final = _shapes()
_NEEDLES: Final = tuple(sorted({n for shape in _SHAPES for n in shape.needles}))
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]*")
_WEBHOOK_SECRET = re.compile(r"/[A-Za-z0-9_]{16,}\Z")


def _group_span(m: re.Match[str]) -> tuple[int, int]:
    """The first non-empty group's span (detect-secrets' convention), else the whole match."""
    for i in range(1, (m.re.groups or 0) + 1):
        if m.group(i):
            return m.span(i)
    return m.span()


def _providers(text: str, lower: str) -> Iterator[tuple[str, int, int]]:
    present = {n for n in _NEEDLES if n in lower}
    for shape in _SHAPES:
        if shape.needles and present.isdisjoint(shape.needles):
            continue
        for m in shape.pattern.finditer(text):
            start, end = _group_span(m)
            if shape.widen:
                if start > 0 and text[start - 1].isalnum():
                    continue  # the tail of a longer word (a hash, a base64 blob), not a token
                tail = _TOKEN_CHARS.match(text, end)
                end = tail.end() if tail else end
            if shape.kind == "slack-webhook" and not _WEBHOOK_SECRET.search(text, start, end):
                continue  # …/T1/B2/abc: a doc's or a test's shape, not a webhook's secret
            if not is_placeholder(text[start:end]):
                yield shape.kind, start, end


# --- AWS secret keys without quotes (.env, ~/.aws/credentials style) ---------------------------

_AWS_SECRET_NAME = re.compile(r"(?i)aws.*secret|secret[_.-]?access[_.-]?key")
_AWS_SECRET_VALUE = re.compile(r"[A-Za-z0-9/+]{40}\Z")


def _aws_secrets(text: str, assignments: Sequence[_Assignment]) -> Iterator[tuple[str, int, int]]:
    for a in assignments:
        value = text[a.start : a.end]
        if (
            _AWS_SECRET_NAME.search(a.name)
            and _AWS_SECRET_VALUE.match(value)
            and not is_placeholder(value)
        ):
            yield "aws-secret-key", a.start, a.end


# --- Railway ----------------------------------------------------------------------------------

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID_VALUE = re.compile(_UUID + r"\Z")
_RAILWAY_NAME = re.compile(r"(?i)railway.*(?:token|key|secret)")
_PROJECT_HEADER = re.compile(r"(?i)project-access-token[\"']?[ \t]*[:=][ \t]*[\"']?(" + _UUID + ")")
_BEARER_UUID = re.compile(r"(?i)(?:bearer[ \t]+|--token[ \t=]+)[\"']?(" + _UUID + r")\b")
_RAILWAY_HOST = re.compile(r"(?i)railway\.(?:app|com)|\brailway\b")


def _railway(
    text: str, lower: str, assignments: Sequence[_Assignment]
) -> Iterator[tuple[str, int, int]]:
    """Railway tokens are UUIDs: one is a token only by context (anchors.md §0).

    A UUID assigned to a name with RAILWAY and TOKEN/KEY/SECRET in it (``RAILWAY_TOKEN``,
    ``RAILWAY_API_TOKEN``; never ``RAILWAY_PROJECT_ID``), sent as ``Project-Access-Token``, or
    sent as a bearer token within three lines of a Railway host (the PocketOS ``curl``).
    """
    found: list[tuple[int, int]] = []
    for a in assignments:
        if _RAILWAY_NAME.search(a.name) and _UUID_VALUE.match(text[a.start : a.end]):
            found.append((a.start, a.end))
    if "project-access-token" in lower:
        found.extend(m.span(1) for m in _PROJECT_HEADER.finditer(text))
    if "railway" in lower and ("bearer" in lower or "--token" in lower):
        for m in _BEARER_UUID.finditer(text):
            if _RAILWAY_HOST.search(_nearby(text, m.start(), 3)):
                found.append(m.span(1))
    for start, end in found:
        if not is_placeholder(text[start:end]):
            yield "railway-token", start, end


def _nearby(text: str, offset: int, lines: int) -> str:
    start = end = offset
    for _ in range(lines + 1):
        start = max(text.rfind("\n", 0, start), 0)
        found = text.find("\n", end + 1)
        end = found if found >= 0 else len(text)
    return text[start:end]


# --- URLs with passwords ------------------------------------------------------------------------

_DB_SCHEMES = re.compile(
    r"(?i)(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver"
    r"|cockroachdb|clickhouse)(?:\+[a-z0-9]+)?\Z"
)
_USERINFO = re.compile(r"://(?P<user>[^:/?#@\s'\"`]*):(?P<password>[^@/?#\s'\"`]+)@[^\s'\"`<>]*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*\Z")


def _urls(text: str) -> Iterator[tuple[str, int, int]]:
    """A database URL is reported whole (the broker keeps the URL, the project a reference);
    any other URL's password alone. detect-secrets' BasicAuth pattern decides what a URL
    password is; Interlock adds the placeholder checks (``user:password@``, ``app:app@``)."""
    if "://" not in text:
        return
    basic = BasicAuthDetector.denylist[0]
    for m in _USERINFO.finditer(text):
        password, user = m.group("password"), m.group("user")
        scheme = _SCHEME.search(text, max(0, m.start() - 32), m.start())
        if scheme is None or not basic.match(m.group(0)):
            continue
        if is_placeholder(password) or password == user or " " in unquote(password):
            continue  # `user:password@`, `app:app@`, `a%20secret`: a doc's example
        if _DB_SCHEMES.match(scheme.group(0)):
            end = m.end()
            while end > m.start() and text[end - 1] in ".,;:)]}>":
                end -= 1
            yield "database-url", scheme.start(), end
        else:
            yield "url-password", m.start("password"), m.end("password")


# --- generic secrets: only with context --------------------------------------------------------

_SECRET_NAME = re.compile(
    r"(?i)passw(?:or)?d|(?:^|[_.-])pwd$|secret|token|api[_.-]?key|apikey|access[_.-]?key"
    r"|private[_.-]?key|(?:auth|client|signing|encryption|master|session|app)[_.-]?key"
    r"|credential"
)
_HARMLESS_NAME = re.compile(
    r"(?i)public|publishable|(?:^|[_.-])pub(?:lic)?[_.-]|[_.-](?:file|path|dir|name|type|id"
    r"|env|url|uri|endpoint|header|field|prefix|length|len|size|ttl|expiry|expires|count"
    r"|mode|policy|pattern|regex|format|hint|label|command|cmd|helper|method|ref)s?$"
    r"|^(?:max|min|num)[_.-]|tokeni[sz]"
)
_PASSWORD_NAME = re.compile(r"(?i)passw|pwd")
_LITERAL = re.compile(r"(?i)(?:true|false|null|none|nil|yes|no|on|off|\d+(?:\.\d+)?)\Z")
_CODE_LIKE = re.compile(
    r"[a-z_.:]+\Z|[A-Z_.]+\Z|[a-z]+(?:[-_][a-z]+)+\Z"
    r"|_?(?:[A-Z]?[a-z]{2,}|[A-Z]{2,}(?![a-z])|_)+(?:\.(?:[A-Z]?[a-z]{2,}|[A-Z]{2,}(?![a-z])|_)+)*\Z"
)
"""A module path, a constant, words joined by dashes, or a type or attribute made of words
(``HiddenText``, ``rsa.RSAPrivateKey``, ``Storage.clearTrustTokens``): a name, not a secret.
A random 16-character token takes the last shape about once in 500 draws; at 24, once in
15,000."""
_B64 = Base64HighEntropyString()
_HEX = HexHighEntropyString()
_HEXDIGITS = frozenset(string.hexdigits)
_BEARER = re.compile(r"(?i)\bbearer[ \t]+([A-Za-z0-9._~+/=-]{16,})")


def _entropy(value: str) -> float:
    if set(value) <= _HEXDIGITS:
        return _HEX.calculate_shannon_entropy(value) + 1.0  # hex carries 4 bits, base64 6
    return _B64.calculate_shannon_entropy(value)


def _looks_secret(value: str) -> bool:
    return not (
        is_placeholder(value)
        or _LITERAL.match(value)
        or _CODE_LIKE.match(value)
        or any(c in value for c in " ()[]{}")
        or "://" in value
        or value.startswith(("/", "./", "~/", "ilk_"))
    )


def _generic(
    text: str, lower: str, assignments: Sequence[_Assignment], code: bool
) -> Iterator[tuple[str, int, int]]:
    """A value under a secret-looking name (``DB_PASSWORD``, ``api_key``, ``client_secret``)
    that is neither a placeholder nor code, and random enough: entropy with context only.

    ``code``: the file is source code, where a literal is quoted and an unquoted value is an
    expression or a type (``password: HiddenText``, ``token = make_token()``)."""
    for a in assignments:
        if _HARMLESS_NAME.search(a.name) or not _SECRET_NAME.search(a.name):
            continue
        if code and not a.quoted:
            continue
        value = text[a.start : a.end]
        if not _looks_secret(value) or is_indirect_reference(
            text[slice(*_line_bounds(text, a.start))]
        ):
            continue
        if _PASSWORD_NAME.search(a.name):
            strong = len(value) >= 8 and _entropy(value) >= 2.5
        else:
            strong = len(value) >= 16 and _entropy(value) >= 3.2
        if strong:
            yield "generic-secret", a.start, a.end
    if "bearer" in lower:
        for m in _BEARER.finditer(text):
            value = m.group(1)
            if _looks_secret(value) and _entropy(value) >= 3.0:
                yield "generic-secret", m.start(1), m.end(1)


# --- whole-file shapes ------------------------------------------------------------------------

_PEM = re.compile(
    r"-----BEGIN (?P<label>(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----"
    r"(?P<body>.{0,20000}?)-----END (?P=label)-----",
    re.DOTALL,
)
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=]")
_SA_KEY = re.compile(r'"private_key"[ \t]*:[ \t]*"((?:[^"\\\n]|\\.)*)"')


_PEM_PLACEHOLDER = re.compile(r"(?i)\.\.\.|…|xxxx|example|<[^>]*>")
_PRIVATE_KEY_PLUGIN = PrivateKeyDetector()


def _private_keys(text: str) -> Iterator[tuple[str, int, int]]:
    """A PEM block with a body: a pattern that only names one (a regex, a doc) is not a key.

    detect-secrets' plugin says whether the text names a private key at all; a PuTTY key file
    is a key from its first line to its last.
    """
    if ("PRIVATE KEY" not in text and "PuTTY" not in text) or not any(
        True for _ in _PRIVATE_KEY_PLUGIN.analyze_string(text)
    ):
        return
    for m in _PEM.finditer(text):
        body = m.group("body").replace("\\n", "")
        if len(_PEM_BODY.findall(body)) >= 64 and not _PEM_PLACEHOLDER.search(body):
            yield "private-key", m.start(), m.end()
    putty = text.find("PuTTY-User-Key-File-")
    if putty >= 0 and "Private-Lines:" in text:
        yield "private-key", putty, len(text.rstrip())


def _service_accounts(text: str) -> Iterator[tuple[str, int, int]]:
    """A GCP service-account key file: the private key is the secret, the file the credential."""
    if '"service_account"' not in text or '"private_key"' not in text:
        return
    try:
        document = json.loads(text)
    except ValueError:
        return
    if not (
        isinstance(document, dict)
        and document.get("type") == "service_account"
        and "PRIVATE KEY" in str(document.get("private_key", ""))
    ):
        return
    m = _SA_KEY.search(text)
    if m:
        yield "gcp-service-account", m.start(1), m.end(1)


# --- all together -----------------------------------------------------------------------------

_WEAK: Final = frozenset({"generic-secret", "database-url", "url-password"})
# fmt: off
CODE_SUFFIXES: Final = frozenset([
    ".py", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".go", ".java",
    ".kt", ".kts", ".scala", ".rb", ".php", ".cs", ".c", ".h", ".cc", ".cpp", ".hpp", ".rs",
    ".swift", ".dart", ".m", ".lua", ".ex", ".exs", ".erl", ".clj", ".groovy", ".vue", ".svelte",
])
# fmt: on
"""Kinds that an example or template file (``.env.example``) is expected to show."""


def detect(text: str, *, example: bool = False, code: bool = False) -> list[Hit]:
    """Every credential in ``text``, most specific kind first, no two overlapping.

    ``example``: the file is a template (``.env.example``): only provider shapes count, which
    a template has no reason to hold; its URLs and ``PASSWORD=`` lines are placeholders.
    ``code``: the file is source code (:data:`CODE_SUFFIXES`): named values count only quoted.
    """
    lower = text.lower()
    assignments = _keyword_assignments(text, lower)
    found: list[tuple[str, int, int]] = [
        *_service_accounts(text),
        *_private_keys(text),
        *_railway(text, lower, assignments),
        *_aws_secrets(text, assignments),
        *_providers(text, lower),
        *_urls(text),
        *_generic(text, lower, assignments, code),
    ]
    hits: list[Hit] = []
    taken: list[tuple[int, int]] = []
    every = [(start, end) for _, start, end in found]
    for kind, start, end in found:
        if (example and kind in _WEAK) or any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        hits.append(Hit(kind, start, end, _name_for(text, start, end, every)))
    return sorted(hits, key=lambda h: h.start)
