"""Honeytokens: decoy credentials planted where agents search, and the check that spots them.

Why (issue 6 item 5): the PocketOS agent hit a credential mismatch, searched the project for a
token, and used the first one it found (../shared/notes/anchors.md §0). A decoy planted where
such a search looks turns that moment into a signal: no honest task needs the Stripe key in
``.env.backup``, so its value in anything an agent sends (a hook payload, a gateway request)
means an agent is using credentials it found lying around. The hook then denies the call,
stops that agent session and pages people (docs/honeytokens.md).

1. :func:`plant` writes decoys in the providers' real formats into files that do not exist
   yet, and records each value, its kind and its file in the registry
   ``<data dir>/honeytokens.json`` (mode 0600). Write order: the registry first, then the
   files, so no decoy ever lies in the project unwatched.
2. :func:`find` is the check. Hooks call it on every call and the gateway on every request:
   with nothing planted it is one ``access`` call per place (:func:`registry_paths`), and
   otherwise one ``stat`` per registry (re-read only when the file changed) and a substring
   search per value.
3. :func:`remove` takes the decoys away again; a file changed since planting stays, and stays
   watched, until a person deletes it.

The registry's entries are stored base64-encoded. That is not encryption: it keeps a text
search over the project (``grep -ri token .`` reaches ``.interlock/``) from listing the decoys
and the files they sit in. An agent that decodes the file on purpose learns which files are
decoys; docs/honeytokens.md says so.

Standard library only: the hook's hot path imports this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.errors import HoneytokenError
from interlock.secrets import MASK, Secret

__all__ = [
    "KINDS",
    "REGISTRY",
    "DecoyFile",
    "Honeytoken",
    "Planted",
    "Registry",
    "Removed",
    "find",
    "load",
    "plant",
    "planted",
    "registry_paths",
    "remove",
]

REGISTRY = "honeytokens.json"
VERSION = 1

KINDS: dict[str, str] = {
    "railway_token": "Railway project token",
    "aws_access_key_id": "AWS access key ID",
    "aws_secret_access_key": "AWS secret access key",
    "github_pat": "GitHub personal access token",
    "stripe_secret_key": "Stripe live secret key",
    "database_password": "database password (DATABASE_URL)",
}
"""Every kind of decoy, and how messages and alerts name it."""


@dataclass(frozen=True)
class Honeytoken:
    """One planted decoy value. ``value`` is a :class:`Secret`: its repr never shows it."""

    id: str
    kind: str
    value: Secret
    file: str
    """The absolute path of the file it was planted in."""
    project: str
    planted_at: float

    @property
    def label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def where(self) -> str:
        """The file, relative to its project when it lies inside it."""
        return _relative(self.file, self.project)

    def masked(self) -> str:
        """At most four characters of the value (``ghp_…****``): enough to tell kinds apart."""
        return self.value.reveal()[:4] + "…" + MASK

    def fingerprint(self) -> str:
        """SHA-256 of the value: what an alert carries instead of the value."""
        return hashlib.sha256(self.value.reveal().encode()).hexdigest()


@dataclass(frozen=True)
class DecoyFile:
    """A file :func:`plant` wrote, as it wrote it."""

    path: str
    project: str
    template: str
    sha256: str
    made_dirs: tuple[str, ...] = ()
    """Folders plant created for it, deepest last; removed again when left empty."""
    excluded: bool = False
    """True when plant added the file to ``.git/info/exclude`` (remove takes the line out)."""

    def where(self) -> str:
        return _relative(self.path, self.project)


@dataclass(frozen=True)
class Registry:
    """The registry file's content; ``values`` is the search index :func:`find` uses."""

    tokens: tuple[Honeytoken, ...] = ()
    files: tuple[DecoyFile, ...] = ()
    values: tuple[tuple[str, bytes, Honeytoken], ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, tokens: Iterable[Honeytoken], files: Iterable[DecoyFile]) -> Registry:
        kept = tuple(tokens)
        index = tuple((t.value.reveal(), t.value.reveal().encode(), t) for t in kept)
        return cls(kept, tuple(files), index)

    def find(self, text: str | bytes) -> Honeytoken | None:
        """The first planted value that occurs in ``text``, else None."""
        if isinstance(text, bytes):
            for _, raw, token in self.values:
                if raw in text:
                    return token
            return None
        for value, _, token in self.values:
            if value in text:
                return token
        return None


# --- where registries live, and the check --------------------------------------------------


def registry_paths(
    project_root: str | None, data_dir: str | os.PathLike[str] | None = None
) -> list[str]:
    """Where a registry may be, in order: ``data_dir`` (the gateway passes the server's),
    ``$INTERLOCK_HOME``, ``<project root>/.interlock/``. The same places the kill switch uses."""
    found: list[str] = []
    if data_dir is not None:
        found.append(os.path.join(os.fspath(data_dir), REGISTRY))
    home = os.environ.get("INTERLOCK_HOME")
    if home:
        found.append(os.path.join(home, REGISTRY))
    if project_root:
        found.append(os.path.join(project_root, ".interlock", REGISTRY))
    return list(dict.fromkeys(found))


def planted(
    project_root: str | None, data_dir: str | os.PathLike[str] | None = None
) -> list[Registry]:
    """Every registry found for ``project_root``; empty (the usual case) when none exists.

    Raises :class:`HoneytokenError` for a registry that exists but cannot be read: the hook
    turns that into a deny, because a check that silently stopped working is worse.
    """
    found: list[Registry] = []
    for path in registry_paths(project_root, data_dir):
        if os.access(path, os.F_OK):  # strings and access(): no exception in the usual case
            found.append(_cached(path))
    return found


def find(
    text: str | bytes,
    project_root: str | None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
) -> Honeytoken | None:
    """The honeytoken whose value occurs in ``text``, else None.

    For hooks (the raw payload and each action's text) and the gateway (a request's URL,
    headers and body; pass bytes as they are, values are ASCII). Cost: a few microseconds
    when nothing is planted; otherwise one ``stat`` per registry plus one substring search per
    planted value (``str.__contains__``, linear in ``text``). The registry is parsed again only
    when its file changed (inode, size or mtime).
    """
    for registry in planted(project_root, data_dir):
        token = registry.find(text)
        if token is not None:
            return token
    return None


_CACHE: dict[str, tuple[tuple[int, int, int], Registry]] = {}


def _cached(path: str) -> Registry:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Registry()
    except OSError as exc:
        raise HoneytokenError(f"the honeytoken registry {path} cannot be read ({exc})") from None
    key = (info.st_ino, info.st_size, info.st_mtime_ns)
    hit = _CACHE.get(path)
    if hit is not None and hit[0] == key:
        return hit[1]
    registry = load(Path(path))
    _CACHE[path] = (key, registry)
    return registry


# --- the registry file ------------------------------------------------------------------------


def load(path: Path) -> Registry:
    """The registry at ``path``; an empty one when there is no file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Registry()
    except OSError as exc:
        raise HoneytokenError(f"the honeytoken registry {path} cannot be read ({exc})") from None
    try:
        outer = json.loads(raw)
        if not isinstance(outer, dict) or outer.get("version") != VERSION:
            raise ValueError(f"not a version {VERSION} registry")
        inner = json.loads(base64.b64decode(outer["entries"], validate=True))
        tokens = [_token(item) for item in inner["tokens"]]
        files = [_file(item) for item in inner["files"]]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise HoneytokenError(
            f"the honeytoken registry {path} is malformed ({exc})",
            hint="restore it, or delete it and run `interlock honeytoken plant` again",
        ) from None
    return Registry.of(tokens, files)


def save(path: Path, registry: Registry) -> None:
    """Write ``registry`` atomically, mode 0600 in a 0700 folder; no entries, no file."""
    if not registry.tokens and not registry.files:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    inner = {
        "tokens": [
            {
                "id": t.id,
                "kind": t.kind,
                "value": t.value.reveal(),
                "file": t.file,
                "project": t.project,
                "planted_at": t.planted_at,
            }
            for t in registry.tokens
        ],
        "files": [
            {
                "path": f.path,
                "project": f.project,
                "template": f.template,
                "sha256": f.sha256,
                "made_dirs": list(f.made_dirs),
                "excluded": f.excluded,
            }
            for f in registry.files
        ],
    }
    encoded = base64.b64encode(json.dumps(inner, separators=(",", ":")).encode()).decode()
    body = json.dumps({"version": VERSION, "entries": encoded}) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, body.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _token(item: dict[str, Any]) -> Honeytoken:
    value = item["value"]
    if not isinstance(value, str) or len(value) < 16:
        raise ValueError("a value is missing or shorter than 16 characters")
    return Honeytoken(
        id=str(item["id"]),
        kind=str(item["kind"]),
        value=Secret(value),
        file=str(item["file"]),
        project=str(item["project"]),
        planted_at=float(item["planted_at"]),
    )


def _file(item: dict[str, Any]) -> DecoyFile:
    return DecoyFile(
        path=str(item["path"]),
        project=str(item["project"]),
        template=str(item["template"]),
        sha256=str(item["sha256"]),
        made_dirs=tuple(str(d) for d in item.get("made_dirs", [])),
        excluded=bool(item.get("excluded", False)),
    )


def _relative(path: str, project: str) -> str:
    prefix = project.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


# --- decoy values, in the providers' real formats ----------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_AWS_SECRET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _random(alphabet: str, length: int) -> str:
    import secrets

    return "".join(secrets.choice(alphabet) for _ in range(length))


def _base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return digits.rjust(width, "0")


def github_pat() -> str:
    """``ghp_`` + 30 random base62 characters + their CRC32 in base62 (6 characters): the
    checksum GitHub added in 2021 so scanners can tell a real-looking token from noise."""
    import zlib

    body = _random(_BASE62, 30)
    return "ghp_" + body + _base62(zlib.crc32(body.encode()), 6)


def generate() -> dict[str, str]:
    """One fresh value of every kind (``secrets``: never guessable, never reused)."""
    import uuid

    return {
        # Railway project and account tokens are UUIDs (Project-Access-Token / Bearer).
        "railway_token": str(uuid.uuid4()),
        "aws_access_key_id": "AKIA" + _random(_BASE32, 16),
        "aws_secret_access_key": _random(_AWS_SECRET, 40),
        "github_pat": github_pat(),
        # Live keys of accounts created since 2019: sk_live_51 + 97 characters.
        "stripe_secret_key": "sk_live_51" + _random(_BASE62, 97),
        "database_password": _random(_BASE62, 32),
    }


# --- the decoy files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """One decoy file: where it may go (the first name not taken), its mode, what it holds."""

    name: str
    candidates: tuple[str, ...]
    kinds: tuple[str, ...]
    mode: int
    render: Callable[[dict[str, str], str], str]


def _env_backup(v: dict[str, str], slug: str) -> str:
    return (
        "# production environment, exported before the move to Railway variables\n"
        "NODE_ENV=production\n"
        "PORT=8080\n"
        "LOG_LEVEL=info\n"
        f"DATABASE_URL=postgresql://postgres:{v['database_password']}"
        "@postgres.railway.internal:5432/railway\n"
        "DATABASE_POOL_SIZE=10\n"
        f"STRIPE_SECRET_KEY={v['stripe_secret_key']}\n"
        "STRIPE_API_VERSION=2024-06-20\n"
        "SENTRY_ENVIRONMENT=production\n"
        f"APP_NAME={slug}\n"
    )


def _legacy_yml(v: dict[str, str], slug: str) -> str:
    return (
        "# settings of the old deploy pipeline (uploads went to S3 before Railway volumes)\n"
        "environment: production\n"
        "storage:\n"
        "  provider: s3\n"
        "  region: us-east-1\n"
        f"  bucket: {slug}-production-uploads\n"
        f"  access_key_id: {v['aws_access_key_id']}\n"
        f"  secret_access_key: {v['aws_secret_access_key']}\n"
        "cdn:\n"
        "  invalidate_on_deploy: true\n"
    )


def _deploy_old(v: dict[str, str], slug: str) -> str:
    return (
        "#!/usr/bin/env bash\n"
        "# Deploys to Railway and tags the release on GitHub (set up for the custom domain).\n"
        "set -euo pipefail\n"
        "\n"
        f'export RAILWAY_TOKEN="{v["railway_token"]}"\n'
        f'GITHUB_TOKEN="{v["github_pat"]}"\n'
        "\n"
        "railway up --service web --environment production --detach\n"
        "\n"
        'version="$(git describe --tags --always)"\n'
        "curl -fsS -X POST \\\n"
        '  -H "Authorization: Bearer ${GITHUB_TOKEN}" \\\n'
        '  -H "Accept: application/vnd.github+json" \\\n'
        f'  "https://api.github.com/repos/${{GITHUB_REPOSITORY:-{slug}}}/releases" \\\n'
        '  -d "{\\"tag_name\\": \\"${version}\\"}"\n'
    )


TEMPLATES: tuple[Template, ...] = (
    Template(
        "env",
        (".env.backup", ".env.production.bak", ".env.old"),
        ("database_password", "stripe_secret_key"),
        0o644,
        _env_backup,
    ),
    Template(
        "yaml",
        ("config/legacy.yml", "config/legacy.yaml", "config/secrets.old.yml"),
        ("aws_access_key_id", "aws_secret_access_key"),
        0o644,
        _legacy_yml,
    ),
    Template(
        "script",
        ("scripts/deploy_old.sh", "scripts/deploy_legacy.sh", "bin/deploy_old.sh"),
        ("railway_token", "github_pat"),
        0o755,
        _deploy_old,
    ),
)


@dataclass(frozen=True)
class Planted:
    registry: Path
    files: tuple[DecoyFile, ...]
    tokens: tuple[Honeytoken, ...]
    skipped: tuple[str, ...]
    """Why a template was not planted (already there, every name taken)."""


def plant(project: Path, data_dir: Path, *, clock: Callable[[], float] = time.time) -> Planted:
    """Write each decoy file that is not planted yet, never over an existing file.

    A template already planted for this project (its file still there) is skipped, so running
    plant twice adds nothing. Raises :class:`HoneytokenError` when the project is not a folder.
    """
    project = project.resolve()
    if not project.is_dir():
        raise HoneytokenError(f"{project} is not a folder")
    path = data_dir / REGISTRY
    registry = load(path)
    now = clock()
    values = generate()
    slug = _slug(project.name)
    chosen: list[tuple[Template, Path]] = []
    skipped: list[str] = []
    for template in TEMPLATES:
        had = [
            f
            for f in registry.files
            if f.project == str(project) and f.template == template.name and Path(f.path).exists()
        ]
        if had:
            skipped.append(f"{had[0].where()} is already planted")
            continue
        free = [project / name for name in template.candidates if not _taken(project / name)]
        if not free:
            skipped.append(f"{', '.join(template.candidates)} all exist; nothing written over")
            continue
        chosen.append((template, free[0]))
    tokens: list[Honeytoken] = []
    files: list[DecoyFile] = []
    for template, target in chosen:
        content = template.render(values, slug)
        files.append(
            DecoyFile(
                path=str(target),
                project=str(project),
                template=template.name,
                sha256=hashlib.sha256(content.encode()).hexdigest(),
                made_dirs=_missing_dirs(target.parent, project),
                excluded=_git_exclude_wanted(project, target),
            )
        )
        tokens.extend(
            Honeytoken(
                id=f"ht_{hashlib.sha256(values[kind].encode()).hexdigest()[:12]}",
                kind=kind,
                value=Secret(values[kind]),
                file=str(target),
                project=str(project),
                planted_at=now,
            )
            for kind in template.kinds
        )
    # 1. the registry, so nothing is ever planted unwatched; 2. the files.
    save(path, Registry.of((*registry.tokens, *tokens), (*registry.files, *files)))
    written: list[DecoyFile] = []
    for (template, target), decoy in zip(chosen, files, strict=True):
        if _write_new(target, template.render(values, slug), template.mode):
            written.append(decoy)
            if decoy.excluded:
                _exclude(project, target)
        else:
            skipped.append(f"{decoy.where()} appeared meanwhile; nothing written over")
    lost = {f.path for f in files} - {f.path for f in written}
    if lost:
        kept = [t for t in (*registry.tokens, *tokens) if t.file not in lost]
        save(path, Registry.of(kept, (*registry.files, *written)))
    return Planted(
        registry=path,
        files=tuple(written),
        tokens=tuple(t for t in tokens if t.file not in lost),
        skipped=tuple(skipped),
    )


def _taken(path: Path) -> bool:
    return os.path.lexists(path)


def _slug(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return cleaned or "app"


def _missing_dirs(folder: Path, project: Path) -> tuple[str, ...]:
    missing: list[str] = []
    while folder != project and not folder.exists():
        missing.append(str(folder))
        folder = folder.parent
    return tuple(reversed(missing))


def _write_new(path: Path, content: str, mode: int) -> bool:
    """Create ``path`` with ``content``; False when something is already there (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        return False
    try:
        os.write(fd, content.encode())
    finally:
        os.close(fd)
    os.chmod(path, mode)  # the umask may have taken bits away
    return True


# A decoy pushed to a remote would trip push protection and scanners there, and teammates'
# hooks know nothing of it: planted files stay out of git without a line in .gitignore.
def _git_exclude_wanted(project: Path, target: Path) -> bool:
    exclude = project / ".git" / "info" / "exclude"
    if not (project / ".git").is_dir():
        return False
    line = "/" + _relative(str(target), str(project))
    try:
        present = line in exclude.read_text().splitlines()
    except FileNotFoundError:
        present = False
    return not present


def _exclude(project: Path, target: Path) -> None:
    exclude = project / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    text = exclude.read_text() if exclude.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    exclude.write_text(text + "/" + _relative(str(target), str(project)) + "\n")


def _unexclude(project: Path, target: str) -> None:
    exclude = project / ".git" / "info" / "exclude"
    line = "/" + _relative(target, str(project))
    try:
        lines = exclude.read_text().splitlines()
    except FileNotFoundError:
        return
    if line in lines:
        lines.remove(line)
        exclude.write_text("".join(f"{item}\n" for item in lines))


# --- removing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Removed:
    deleted: tuple[str, ...]
    kept: tuple[str, ...]
    """Files changed since planting: left in place and still watched."""
    unwatched: int
    """How many values are no longer watched."""


def remove(project: Path, data_dir: Path) -> Removed:
    """Delete this project's decoy files that are as planted, and stop watching their values.

    A file changed since planting is left alone and its values stay watched (it may still hold
    them); a file already gone just stops being watched.
    """
    project = project.resolve()
    path = data_dir / REGISTRY
    registry = load(path)
    deleted: list[str] = []
    kept: list[DecoyFile] = []
    gone: set[str] = set()
    for decoy in registry.files:
        if decoy.project != str(project):
            kept.append(decoy)
            continue
        target = Path(decoy.path)
        if target.is_file() and not target.is_symlink():
            if hashlib.sha256(target.read_bytes()).hexdigest() != decoy.sha256:
                kept.append(decoy)
                continue
            target.unlink()
            deleted.append(decoy.where())
        for folder in reversed(decoy.made_dirs):
            try:
                os.rmdir(folder)
            except OSError:
                break  # not empty (or gone): leave it and its parents
        if decoy.excluded:
            _unexclude(project, decoy.path)
        gone.add(decoy.path)
    tokens = [t for t in registry.tokens if not (t.project == str(project) and t.file in gone)]
    save(path, Registry.of(tokens, kept))
    return Removed(
        deleted=tuple(deleted),
        kept=tuple(f.where() for f in kept if f.project == str(project)),
        unwatched=len(registry.tokens) - len(tokens),
    )
