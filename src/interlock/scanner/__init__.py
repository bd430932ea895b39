"""`interlock scan`: credentials lying in a project, found before an agent finds them.

The PocketOS agent hit a credential mismatch, searched the project and found a Railway token
in a file created for something else (../shared/notes/anchors.md §0). A token an agent can read
is a token the agent holds, whatever the hooks say about the commands it types. The scanner
finds such tokens (file, line and kind, never the value) so a person can move each into the
broker (:mod:`.moves`) and give agents Interlock tokens instead (docs/broker.md).

- :mod:`.detectors`: what a credential looks like (detect-secrets' plugins plus Railway,
  database URLs, GCP service accounts, generic secrets with context);
- :mod:`.files`: which files are read;
- :mod:`.moves`: moving a finding into the broker and leaving a reference behind.

Interlock's own honeytokens (``<data_dir>/honeytokens.json``, :mod:`interlock.honeytokens`) are decoys planted on purpose:
they are reported as such, never as leaks, and never moved.
"""

from __future__ import annotations

import hashlib
import time
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.errors import InterlockError
from interlock.scanner.detectors import CODE_SUFFIXES, KINDS, Hit, Kind, detect
from interlock.scanner.files import MAX_BYTES, Skipped, is_example, read_text, walk
from interlock.secrets import Secret

__all__ = [
    "KINDS",
    "MAX_BYTES",
    "SETUP_MAX_FILES",
    "Finding",
    "Kind",
    "Report",
    "Skipped",
    "data_dir_for",
    "load_honeytokens",
    "scan",
]

SETUP_MAX_FILES = 20_000
"""The bound on the scan `interlock init` and `interlock doctor` run: about 1 s on a typical
project; a folder larger than that (a home folder, a monorepo) gets `interlock scan` itself."""
_MIN_DECOY = 8
"""Shorter honeytoken values are not matched inside other values (too many chance hits)."""


@dataclass(frozen=True)
class Finding:
    """A credential at ``path:line``. ``value`` stays in memory for ``--move``; ``to_json``
    and every printed line leave it out."""

    path: str
    """Relative to the scanned folder, with forward slashes."""
    line: int
    column: int
    kind: str
    name: str | None
    """What it is assigned to (``RAILWAY_TOKEN``), when it is assigned to anything."""
    decoy: bool
    start: int = field(repr=False, compare=False)
    end: int = field(repr=False, compare=False)
    value: Secret = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        return KINDS[self.kind].label if self.kind in KINDS else "Interlock honeytoken"

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "kind": self.kind,
            "label": self.label,
            "name": self.name,
            "decoy": self.decoy,
        }


@dataclass(frozen=True)
class Report:
    root: Path
    findings: tuple[Finding, ...]
    files: int
    seconds: float
    skipped: Skipped
    complete: bool = True
    """False when the scan stopped at ``max_files``: files past it were not read."""
    digests: dict[str, str] = field(repr=False, compare=False, default_factory=dict)
    """SHA-256 of each file with findings as it was read: ``--move`` rewrites only those."""

    @property
    def base(self) -> Path:
        """The folder that finding paths are relative to."""
        return self.root if self.root.is_dir() else self.root.parent

    @property
    def leaks(self) -> list[Finding]:
        return [f for f in self.findings if not f.decoy]

    @property
    def decoys(self) -> list[Finding]:
        return [f for f in self.findings if f.decoy]

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "files_scanned": self.files,
            "complete": self.complete,
            "seconds": round(self.seconds, 3),
            "findings": [f.to_json() for f in self.leaks],
            "decoys": [f.to_json() for f in self.decoys],
            "skipped": {
                "large": self.skipped.large_count,
                "large_examples": self.skipped.large,
                "binary": self.skipped.binary,
                "unreadable": self.skipped.unreadable,
            },
        }

    def summary(self) -> str:
        """One sentence for `interlock init` and the end of `interlock scan`."""
        leaks = len(self.leaks)
        files = sorted({f.path for f in self.leaks})
        text = (
            f"{leaks} stray credential{'s' if leaks != 1 else ''} in {len(files)} of "
            f"{self.files} files"
            if leaks
            else f"no stray credentials in {self.files} files"
        )
        if not self.complete:
            text += f" (stopped after {self.files} files: run `interlock scan` for the rest)"
        if self.decoys:
            text += f" ({len(self.decoys)} Interlock honeytoken(s): decoys planted on purpose, not leaks)"
        return text


def data_dir_for(root: Path) -> Path:
    """The Interlock data folder for a project: [server] data_dir, ``$INTERLOCK_HOME``, else
    ``.interlock``. An interlock.toml that does not load leaves the default: the folder only
    decides what is skipped and where honeytokens are listed, and a wrong guess there shows
    more findings, never fewer."""
    from interlock.server.settings import load

    try:
        return load(root).data_dir
    except InterlockError:
        return root.absolute() / ".interlock"


def load_honeytokens(root: Path, data_dir: Path | None = None) -> frozenset[str]:
    """The decoy values `interlock honeytoken plant` recorded for ``root`` (every registry
    :func:`interlock.honeytokens.planted` finds: ``data_dir``, ``$INTERLOCK_HOME``,
    ``<root>/.interlock``). A registry that exists but cannot be read is an error, not an
    empty list: its decoys would be reported as leaks, and moved."""
    from interlock.honeytokens import planted

    return frozenset(
        token.value.reveal()
        for registry in planted(str(root), data_dir)
        for token in registry.tokens
    )


def scan(
    root: Path,
    *,
    data_dir: Path | None = None,
    honeytokens: Iterable[str] | None = None,
    max_bytes: int = MAX_BYTES,
    max_files: int | None = None,
) -> Report:
    """Every credential under ``root`` (a folder or one file).

    ``max_files``: stop after reading that many files (``init`` and ``doctor`` bound their
    scan, which may start in a home folder); the report says it stopped (``complete``).
    """
    began = time.perf_counter()
    root = root.absolute()
    base = root if root.is_dir() else root.parent
    data_dir = (data_dir or data_dir_for(base)).absolute()
    if honeytokens is None:
        honeytokens = load_honeytokens(base, data_dir)
    decoys = frozenset(honeytokens)
    skipped = Skipped()
    findings: list[Finding] = []
    digests: dict[str, str] = {}
    count = 0
    complete = True
    for path in walk(root, skip=(data_dir,)):
        if max_files is not None and count >= max_files:
            complete = False
            break
        relative = path.relative_to(base).as_posix()
        text = read_text(path, relative, skipped, max_bytes)
        if text is None:
            continue
        count += 1
        found = _findings(relative, text, path, decoys)
        if found:
            findings.extend(found)
            digests[relative] = _digest(text)
    return Report(
        root=root,
        findings=tuple(sorted(findings, key=lambda f: (f.path, f.line, f.column))),
        files=count,
        seconds=time.perf_counter() - began,
        skipped=skipped,
        complete=complete,
        digests=digests,
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()


def _findings(relative: str, text: str, path: Path, decoys: frozenset[str]) -> list[Finding]:
    hits = detect(text, example=is_example(path), code=path.suffix.lower() in CODE_SUFFIXES)
    if decoys:
        hits = hits + _planted(text, hits, decoys)
    if not hits:
        return []
    starts = _line_starts(text)
    out = []
    for hit in hits:
        value = text[hit.start : hit.end]
        if _allowlisted(text, starts, hit.start):
            continue
        line = bisect_right(starts, hit.start)
        out.append(
            Finding(
                path=relative,
                line=line,
                column=hit.start - starts[line - 1] + 1,
                kind=hit.kind,
                name=hit.name,
                decoy=hit.kind == "honeytoken" or _is_decoy(value, decoys),
                start=hit.start,
                end=hit.end,
                value=Secret(value),
            )
        )
    return out


def _is_decoy(value: str, decoys: frozenset[str]) -> bool:
    if value in decoys:
        return True
    return any(
        len(d) >= _MIN_DECOY and (d in value or (len(value) >= _MIN_DECOY and value in d))
        for d in decoys
    )


def _planted(text: str, hits: list[Hit], decoys: frozenset[str]) -> list[Hit]:
    """Honeytokens in shapes no detector knows are still found, as the decoys they are."""
    out = []
    for value in decoys:
        at = text.find(value) if len(value) >= _MIN_DECOY else -1
        while at >= 0:
            end = at + len(value)
            if not any(h.start < end and at < h.end for h in hits):
                out.append(Hit("honeytoken", at, end))
            at = text.find(value, end)
    return out


def _line_starts(text: str) -> list[int]:
    starts = [0]
    at = text.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


_ALLOW = "pragma: allowlist secret"
_ALLOW_NEXT = "pragma: allowlist nextline secret"


def _allowlisted(text: str, starts: list[int], offset: int) -> bool:
    """detect-secrets' inline convention: ``# pragma: allowlist secret`` on the line, or
    ``# pragma: allowlist nextline secret`` on the line before."""
    line = bisect_right(starts, offset)
    begin = starts[line - 1]
    end = starts[line] if line < len(starts) else len(text)
    if _ALLOW in text[begin:end]:
        return True
    return line >= 2 and _ALLOW_NEXT in text[starts[line - 2] : begin]
