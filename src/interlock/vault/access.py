"""Who may call a served vault: one admin key and named writer tokens, in ``<vault>/access.json``.

The file holds only SHA-256 hashes. Tokens are 256 random bits, so a fast hash is right: no
password stretching is needed against guessing, and a stolen ``access.json`` gives no token.
Each token is shown once, when it is made, and never again::

    ilva_<43 chars>   the vault admin key: may ask for deletions (cooling-off, docs/vault.md)
    ilvw_<43 chars>   a writer token: may add and read blobs, never delete or overwrite

The file is written atomically (a temporary file, fsynced, renamed) under a lock, mode 0600,
and refused when other users may read or write it: whoever can write it can make a key.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from interlock.vault.errors import VaultError

__all__ = [
    "ADMIN_PREFIX",
    "WRITER_PREFIX",
    "add_writer",
    "check",
    "identify",
    "init_admin",
    "revoke_writer",
    "writers",
]

ADMIN_PREFIX = "ilva_"
WRITER_PREFIX = "ilvw_"
_FILE = "access.json"
_LOCK = ".access.lock"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TOKEN_CHARS = 43  # 32 random bytes as unpadded base64url
_MAX_FILE = 1024 * 1024

Role = Literal["admin", "writer"]


def init_admin(root: Path) -> str:
    """A new admin key for the vault at ``root``, returned once; refused if one exists."""
    with _locked(root):
        access = _read(root)
        if access["admin"] is not None:
            raise VaultError(
                f"the vault at {root} already has an admin key",
                "the admin key is made once; if it is lost, a person with the machine must "
                "remove access.json's admin entry by hand (docs/vault.md)",
            )
        token = _new(ADMIN_PREFIX)
        access["admin"] = {"sha256": _hash(token), "created": _now()}
        _write(root, access)
    return token


def add_writer(root: Path, name: str) -> str:
    """A new writer token named ``name``, returned once; only its SHA-256 is kept."""
    if not _NAME.fullmatch(name):
        raise VaultError(
            f"not a writer name: {name[:80]!r}",
            "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    with _locked(root):
        access = _read(root)
        if any(w["name"] == name for w in access["writers"]):
            raise VaultError(
                f"the vault at {root} already has a writer named {name}",
                "names are never reused, so serve.log stays unambiguous: pick another name",
            )
        token = _new(WRITER_PREFIX)
        access["writers"].append(
            {"name": name, "sha256": _hash(token), "created": _now(), "revoked": None}
        )
        _write(root, access)
    return token


def revoke_writer(root: Path, name: str) -> None:
    """Revoke writer ``name``: its token is refused from the next request on."""
    with _locked(root):
        access = _read(root)
        for writer in access["writers"]:
            if writer["name"] == name:
                if writer["revoked"] is None:
                    writer["revoked"] = _now()
                    _write(root, access)
                return
    raise VaultError(
        f"the vault at {root} has no writer named {name[:80]!r}",
        "see `interlock vault access list`",
    )


def writers(root: Path) -> list[dict[str, Any]]:
    """Each writer's name, created and revoked (None while active); never a token or hash."""
    return [
        {"name": w["name"], "created": w["created"], "revoked": w["revoked"]}
        for w in _read(root)["writers"]
    ]


def has_credentials(root: Path) -> bool:
    """Whether any credential (the admin key or an active writer) exists; checks the file."""
    access = _read(root)
    return access["admin"] is not None or any(w["revoked"] is None for w in access["writers"])


def check(root: Path, presented: str) -> Role | None:
    """The role ``presented`` holds, or None. Every stored hash is compared, in constant time."""
    found = identify(root, presented)
    return None if found is None else found[0]


def identify(root: Path, presented: str) -> tuple[Role, str] | None:
    """The role and name ("admin" for the admin key) ``presented`` holds, or None (for logs).

    Every stored hash is compared with ``hmac.compare_digest``, with no early exit, so the
    time taken does not tell which entry, if any, came close.
    """
    access = _read(root)
    digest = _hash(presented).encode()
    found: tuple[Role, str] | None = None
    admin = access["admin"]
    if admin is not None and hmac.compare_digest(digest, admin["sha256"].encode()):
        found = ("admin", "admin")
    for writer in access["writers"]:
        matches = hmac.compare_digest(digest, writer["sha256"].encode())
        if matches and writer["revoked"] is None:
            found = ("writer", str(writer["name"]))
    return found


def _new(prefix: str) -> str:
    token = prefix + secrets.token_urlsafe(32)
    assert len(token) == len(prefix) + _TOKEN_CHARS
    return token


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One writer of access.json at a time (read, change, replace)."""
    root = Path(root)
    if not root.is_dir():
        raise VaultError(
            f"no vault folder at {root}", "pass the folder `interlock vault serve` serves"
        )
    fd = os.open(root / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read(root: Path) -> dict[str, Any]:
    path = Path(root) / _FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return {"version": 1, "admin": None, "writers": []}
    except OSError as exc:
        raise VaultError(f"cannot open {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077 or info.st_uid != os.getuid():
            raise VaultError(
                f"{path} is not a private file of this user (mode "
                f"{stat.S_IMODE(info.st_mode):04o}); refusing to trust it",
                "whoever can write it can make a key: check who changed it, then "
                f"`chmod 600 {path}` as the user that runs `interlock vault serve`",
            )
        raw = os.read(fd, _MAX_FILE + 1)
    finally:
        os.close(fd)
    try:
        access = json.loads(raw)
        if access.get("version") != 1 or len(raw) > _MAX_FILE:
            raise ValueError("unknown version")
        admin = access["admin"]
        if admin is not None and not _is_hash(admin["sha256"]):
            raise ValueError("bad admin entry")
        for writer in access["writers"]:
            if not (_NAME.fullmatch(writer["name"]) and _is_hash(writer["sha256"])):
                raise ValueError("bad writer entry")
            writer.setdefault("revoked", None)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VaultError(
            f"{path} is damaged ({exc}); every credential is refused until it is fixed",
            "restore it from a copy, or move it away and make new credentials with "
            "`interlock vault access init`",
        ) from None
    return dict(access)


def _is_hash(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _write(root: Path, access: dict[str, Any]) -> None:
    path = Path(root) / _FILE
    temporary = path.with_name(f".{_FILE}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(json.dumps(access, indent=2).encode() + b"\n")
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
