"""``interlock vault verify``: every object against its name, every manifest's references.

Checks, in order, and every problem is named (never only counted):

1. each manifest under ``snapshots/`` matches its name (SHA-256 of the stored bytes), opens
   under the vault key (AES-GCM tag) and parses;
2. each object under ``objects/`` matches its name;
3. each chunk a manifest names exists, opens, and decrypts to the size and SHA-256 the manifest
   recorded for it; a chunk several backups share is read once and charged to all of them.

Objects no manifest names are left by backups cut short before their manifest (the write
order makes them harmless); they are counted, not errors, as are leftovers in ``tmp/``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from interlock.vault.blobs import unseal
from interlock.vault.errors import VaultError, VaultIntegrityError
from interlock.vault.manifests import Chunk
from interlock.vault.repository import Advance, Repository

__all__ = ["Report", "verify"]


@dataclass
class Report:
    snapshots: int = 0
    objects: int = 0
    bytes: int = 0
    unreferenced: int = 0
    leftovers: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(repository: Repository, progress: Advance | None = None) -> Report:
    """Check the whole vault; ``progress`` is told the stored bytes of each object read."""
    report = Report()
    backend = repository.backend
    users: dict[str, list[tuple[str, Chunk]]] = defaultdict(list)  # object -> (snapshot, chunk)
    for name in backend.list("snapshots"):
        try:
            snapshot = repository.load(name)
        except VaultError as exc:
            report.problems.append(f"corrupt snapshot {name}: {exc}")
            continue
        report.snapshots += 1
        label = f"{name[:12]} ({snapshot.manifest.source}, {snapshot.manifest.finished})"
        for chunk in snapshot.manifest.chunks():
            users[chunk.object].append((label, chunk))

    stored = backend.list("objects")
    for name in stored:
        report.objects += 1
        read = report.bytes
        problem = _check_object(repository, name, users.get(name, []), report)
        if progress is not None:
            progress(report.bytes - read)
        if problem:
            names = ", ".join(sorted({label for label, _ in users.get(name, [])}))
            used = f"; used by {names}" if names else ""
            report.problems.append(f"corrupt object {name}: {problem}{used}")
        if name not in users:
            report.unreferenced += 1

    present = set(stored)
    for name, uses in sorted(users.items()):
        if name not in present:
            who = ", ".join(sorted({label for label, _ in uses}))
            report.problems.append(f"missing object {name}, needed by {who}")

    # Only a folder backend has half-written files to count; others write atomically.
    pending = getattr(backend, "leftovers", None)
    report.leftovers = len(pending()) if callable(pending) else 0
    # A store that keeps history (S3 versions) names what was written over or deleted there.
    history = getattr(backend, "tampering", None)
    if callable(history):
        report.problems.extend(history())
    return report


def _check_object(
    repository: Repository, name: str, uses: list[tuple[str, Chunk]], report: Report
) -> str:
    """What is wrong with object ``name`` ('' when nothing): hash, then, if used, contents."""
    try:
        blob = repository.backend.get("objects", name)
    except (OSError, VaultError) as exc:
        return f"unreadable ({exc})"
    report.bytes += len(blob)
    if hashlib.sha256(blob).hexdigest() != name:
        return "content does not match its name (altered or truncated)"
    if not uses:
        return ""
    try:
        plaintext = unseal(repository.key, "data", blob, name)
    except VaultIntegrityError as exc:
        return str(exc)
    digest = hashlib.sha256(plaintext).hexdigest()
    for _, chunk in uses:
        if chunk.size != len(plaintext) or chunk.sha256 != digest:
            return "decrypts to a chunk other than the one its manifest names"
    return ""
