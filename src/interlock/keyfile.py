"""Symmetric keys kept as base64 in an environment variable or a private file (0600).

The broker key and the vault key share this handling; they stay distinct keys with their own
variables, files and errors (the credential paths to the vault and to production are disjoint,
docs/vault.md). A key file that others can read or write, that is a link, or that belongs to
another user is refused, not repaired: someone may already have copied it.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Callable
from pathlib import Path

KEY_BYTES = 32

Fail = Callable[[str, str], Exception]
"""Makes the caller's own error from a message and a hint (never quoting the key)."""


def decode(encoded: str, where: str, what: str, fail: Fail) -> bytes:
    """The key's bytes from its base64 text; the error names ``where``, never the text."""
    try:
        material = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        material = b""
    if len(material) != KEY_BYTES:
        raise fail(
            f"{where} does not hold a {what} ({KEY_BYTES} bytes as base64)",
            f"make one with `head -c {KEY_BYTES} /dev/urandom | base64`",
        )
    return material


def read_private(path: Path, what: str, fail: Fail, exposed_hint: str) -> str:
    """The key file's text, once it is known to be the user's own regular file, closed to others."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise fail(f"cannot open the {what} {path}: {exc.strerror}", "") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise fail(f"the {what} {path} is not a regular file", "")
        if info.st_mode & 0o077:
            raise fail(
                f"the {what} {path} is open to other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); refusing to use it",
                exposed_hint,
            )
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise fail(f"the {what} {path} belongs to another user; refusing to use it", "")
        return os.read(fd, 4096).decode("ascii", errors="replace")
    finally:
        os.close(fd)


def create(path: Path, read: Callable[[Path], bytes]) -> tuple[bytes, bool]:
    """A new random key written to ``path`` (0600), or the one another process wrote first.

    Returns (key, created). A hard link appears whole or not at all and fails when the name
    exists: two processes creating at once cannot both win and encrypt under different keys.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    material = os.urandom(KEY_BYTES)
    text = base64.b64encode(material).decode("ascii") + "\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return read(path), False
    finally:
        temporary.unlink()
    return material, True
