"""Which files a scan reads, and how: a bounded walk that skips what cannot hold a project's own
credentials (version control, virtual environments, dependencies, build output, binaries,
Interlock's data folder) and says how much it skipped for being too big or binary, so a skip
is never silent.

Symbolic links are not followed: a link can lead out of the project (to ``~/.aws``) or round in
a loop, and what it points to is some other scan's business.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from detect_secrets.filters.heuristic import IGNORED_FILE_EXTENSIONS

__all__ = ["MAX_BYTES", "Skipped", "is_example", "read_text", "walk"]

MAX_BYTES = 1024 * 1024
"""Files above this size are not read (a credential file is small; a dump or a bundle is not)."""

# fmt: off
SKIP_DIRS = frozenset([
    ".git", ".hg", ".svn", ".jj", ".venv", "venv", ".tox", ".nox", "node_modules",
    "bower_components", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
    ".hypothesis", ".cache", ".eggs", "site-packages", "dist", "build", "target", ".next",
    ".nuxt", ".svelte-kit", ".parcel-cache", ".turbo", ".terraform", ".gradle", "htmlcov",
    "coverage", "vendor", ".interlock",
])
# fmt: on
"""Folders of tools, dependencies and build output. ``.interlock`` is Interlock's own data
folder (the broker key, honeytokens.json); the configured one is skipped too, whatever its name."""

# fmt: off
LOCK_FILES = frozenset([
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock",
    "Pipfile.lock", "uv.lock", "pdm.lock", "Cargo.lock", "go.sum", "composer.lock",
    "Gemfile.lock", "mix.lock", "flake.lock", "packages.lock.json",
])
# fmt: on
"""Lock files are full of hashes (``integrity: sha512-…``) and hold no credential of the project."""

# fmt: off
SKIP_SUFFIXES = frozenset(IGNORED_FILE_EXTENSIONS) | frozenset([
    ".pub", ".pyc", ".pyo", ".so", ".o", ".a", ".dylib", ".dll", ".whl", ".egg", ".db", ".sqlite",
    ".sqlite3", ".mp3", ".mp4", ".mov", ".wasm", ".avif", ".otf", ".min.js",
])
# fmt: on
"""detect-secrets' list of binary and generated suffixes, plus public keys (``id_rsa.pub``) and
more binaries. A ``.tfstate`` is read: state files hold real provider secrets."""

_EXAMPLE = re.compile(r"(?i)(?:^|[._-])(?:example|sample|template|dist|tmpl|tpl)(?:[._-]|$)")
_PROBE = 8192


@dataclass
class Skipped:
    """What the walk did not read, by reason; ``large`` keeps the first few paths."""

    large: list[str] = field(default_factory=list)
    large_count: int = 0
    binary: int = 0
    unreadable: int = 0

    def add_large(self, relative: str) -> None:
        self.large_count += 1
        if len(self.large) < 10:
            self.large.append(relative)


def is_example(path: Path) -> bool:
    """``.env.example``, ``config.sample.yml``, ``settings.template.py``: placeholders by design."""
    return bool(_EXAMPLE.search(path.name))


def walk(root: Path, skip: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Files under ``root`` (or ``root`` itself) worth reading, in a stable order."""
    if root.is_file() and not root.is_symlink():
        yield root
        return
    skipped = {p.resolve() for p in skip}
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subfolders: list[Path] = []
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                path = Path(entry.path)
                if entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                    continue
                if (path / "pyvenv.cfg").exists() or path.resolve() in skipped:
                    continue  # a virtual environment by any name; Interlock's data folder
                subfolders.append(path)
            elif entry.is_file(follow_symlinks=False) and _worth_reading(entry.name):
                yield Path(entry.path)
        stack.extend(reversed(subfolders))


def _worth_reading(name: str) -> bool:
    if name in LOCK_FILES:
        return False
    lower = name.lower()
    dot = lower.find(".", 1)
    while dot >= 0:
        if lower[dot:] in SKIP_SUFFIXES:
            return False
        dot = lower.find(".", dot + 1)
    return True


def read_text(path: Path, relative: str, skipped: Skipped, max_bytes: int) -> str | None:
    """The file as text, or None (and counted) when it is too big, binary or unreadable.

    Bytes that are not UTF-8 are kept as surrogates, so offsets stay true and a rewrite puts
    every other byte back exactly as it was.
    """
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > max_bytes:
                skipped.add_large(relative)
                return None
            data = handle.read(max_bytes + 1)
    except OSError:
        skipped.unreadable += 1
        return None
    if len(data) > max_bytes:
        skipped.add_large(relative)
        return None
    if b"\x00" in data[:_PROBE]:
        skipped.binary += 1
        return None
    return data.decode("utf-8", errors="surrogateescape")
