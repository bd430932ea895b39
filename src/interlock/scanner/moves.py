"""`interlock scan --move`: each stray credential into the broker, a reference in its place.

The write order, for each file (restic's rule: what points to data is written after the data):

1. the file is read again and must be byte for byte what the scan read (its SHA-256), or it
   is left alone: someone edited it since, and a span computed on other text would cut the
   wrong characters;
2. every chosen value of the file is stored in the broker (``Credentials.add``);
3. the new text is written to a temporary file in the same folder, with the original's mode,
   flushed to disk, and renamed over the original: a crash leaves the old file or the new
   one, never half of each.

A failure at 2 leaves the file untouched (the values stored so far are in the broker and the
file, which loses nothing); a failure at 3 likewise. The value itself is never printed, not
even in an error: outcomes name the file, line, kind and credential.

What replaces a value: in a dotenv file (``.env``, ``.env.production``, ``app.env``) a
``NAME=value`` line becomes ``# moved to the Interlock broker as <name>``; anywhere else the
value becomes ``${INTERLOCK:<name>}``, which no program resolves. An agent session reaches the
upstream through the gateway instead, with the variables `interlock env` prints
(docs/scanner.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from interlock.errors import InterlockError
from interlock.scanner import KINDS, Finding, Report, _digest
from interlock.secrets import Secret

__all__ = ["Move", "Outcome", "Store", "apply", "plan", "reference"]

COMMENT = "# moved to the Interlock broker as {name}"


class Store(Protocol):
    """What a move needs of :class:`interlock.broker.Credentials`."""

    def add(
        self,
        name: str,
        upstream: str,
        value: str | Secret,
        header: str = "authorization",
        scheme: str = "Bearer",
    ) -> object: ...

    def names(self) -> list[str]: ...


@dataclass(frozen=True)
class Move:
    finding: Finding
    credential: str
    """The broker name; two findings of one value share it (stored once)."""
    upstream: str
    header: str = "authorization"
    scheme: str = "Bearer"


@dataclass(frozen=True)
class Outcome:
    move: Move
    moved: bool
    message: str


def reference(name: str) -> str:
    return "${INTERLOCK:" + name + "}"


# fmt: off
_GENERIC_NAMES = frozenset([
    "password", "passwd", "pwd", "pass", "token", "secret", "key", "api-key", "apikey", "api_key",
    "url", "dsn", "private-key", "private_key", "authorization", "credential", "credentials",
    "access-token", "access_token",
])
# fmt: on


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return slug[:63].rstrip("-.")


def _base_name(finding: Finding) -> str:
    stem = _slug(Path(finding.path).name.lstrip(".")) or "file"
    if finding.name is None:
        return _slug(f"{finding.kind}-{stem}")
    name = _slug(finding.name)
    if not name or name in _GENERIC_NAMES:
        # `password:` in config.yml alone says nothing: config.yml-password does
        return _slug(f"{stem}-{name or finding.kind}")
    return name


def plan(report: Report, taken: Iterable[str] = ()) -> list[Move]:
    """A move for every leak the broker can hold, with names unique against ``taken``."""
    used = set(taken)
    by_value: dict[Secret, str] = {}
    moves = []
    for finding in report.leaks:
        kind = KINDS.get(finding.kind)
        if kind is None or not kind.movable:
            continue
        name = by_value.get(finding.value)
        if name is None:
            name = base = _base_name(finding)
            counter = 2
            while name in used:
                name = f"{base[:59]}-{counter}"
                counter += 1
            used.add(name)
            by_value[finding.value] = name
        upstream = kind.upstream if finding.kind != "generic-secret" else name
        header, scheme = kind.header, kind.scheme
        if finding.kind == "railway-token" and "project" in (finding.name or "").lower():
            # Railway project tokens go in their own header, without a scheme (anchors.md §0).
            header, scheme = "project-access-token", ""
        moves.append(Move(finding, name, upstream, header, scheme))
    return moves


def apply(report: Report, moves: Sequence[Move], store: Store) -> list[Outcome]:
    """Carry out ``moves``, file by file, in the write order of the module docstring."""
    outcomes: list[Outcome] = []
    stored: set[str] = set()
    by_file: dict[str, list[Move]] = {}
    for move in moves:
        by_file.setdefault(move.finding.path, []).append(move)
    for relative, group in by_file.items():
        outcomes.extend(_apply_file(report, relative, group, store, stored))
    return outcomes


def _apply_file(
    report: Report, relative: str, moves: list[Move], store: Store, stored: set[str]
) -> list[Outcome]:
    path = report.base / relative
    try:
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError as exc:
        return _failed(moves, f"cannot read {relative}: {exc.strerror}")
    if _digest(text) != report.digests.get(relative):
        return _failed(moves, f"{relative} changed since the scan; scan again")
    try:
        for move in moves:
            if move.credential not in stored:
                value = _stored_value(move.finding, text)
                store.add(move.credential, move.upstream, value, move.header, move.scheme)
                stored.add(move.credential)
    except InterlockError as exc:
        # The broker's messages never quote a value (BrokerError's contract).
        return _failed(moves, f"{relative} left as it was: the broker refused ({exc})")
    try:
        _replace(path, _rewrite(text, relative, moves))
    except OSError as exc:
        return _failed(
            moves, f"{relative} left as it was (the values are in the broker): {exc.strerror}"
        )
    return [
        Outcome(m, True, f"{m.finding.where} moved to the broker as {m.credential}") for m in moves
    ]


def _failed(moves: list[Move], message: str) -> list[Outcome]:
    return [Outcome(m, False, message) for m in moves]


def _stored_value(finding: Finding, text: str) -> Secret:
    """What the broker keeps. For a service account, the whole key file, on one line (the
    broker takes no line breaks; JSON needs none): the private key alone is useless."""
    if finding.kind == "gcp-service-account":
        return Secret(json.dumps(json.loads(text), separators=(",", ":")))
    return finding.value


def _is_dotenv(relative: str) -> bool:
    name = Path(relative).name
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


_DOTENV_LINE = re.compile(r"[ \t]*(?:export[ \t]+)?[A-Za-z_]\w*[ \t]*=[ \t]*[\"']?[\"']?[ \t]*")


def _rewrite(text: str, relative: str, moves: list[Move]) -> str:
    dotenv = _is_dotenv(relative)
    for move in sorted(moves, key=lambda m: m.finding.start, reverse=True):
        start, end = move.finding.start, move.finding.end
        line_start = text.rfind("\n", 0, start) + 1
        found = text.find("\n", end)
        line_end = found if found >= 0 else len(text)
        rest = text[line_start:start] + text[end:line_end]
        if dotenv and _DOTENV_LINE.fullmatch(rest):
            text = text[:line_start] + COMMENT.format(name=move.credential) + text[line_end:]
        else:
            text = text[:start] + reference(move.credential) + text[end:]
    return text


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, keeping the file's mode."""
    mode = path.stat().st_mode & 0o7777
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8", errors="surrogateescape"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """The rename itself reaches the disk only once the folder is synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
