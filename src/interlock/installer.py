"""`interlock init`: merge the Interlock hook into each agent's settings, and undo it exactly.

Why so careful: every agent CLI fails open on a broken settings file (Claude Code silently
ignores a file with a JSON or schema error, realclients.md), and people keep their own hooks
and keys in those files. So init:

1. reads and validates every file it will touch before writing any (a file that does not parse
   is a :class:`~interlock.errors.SetupError` naming the file and line, and nothing changes);
2. adds one entry per agent, keeps every other key and hook, and writes atomically;
3. is idempotent: an entry already there (same agent, any interpreter) is updated in place,
   never duplicated, and an unchanged file is not rewritten;
4. keeps a backup of each file as it was before the first install, and records in
   ``.interlock/init.json`` what it created, backed up and wrote (with a SHA-256 of it);
5. on undo, restores the backup byte for byte (or removes a file it created) when the file is
   still exactly what init wrote; if someone edited it since, removes only Interlock's entries.

The hook command is the venv's interpreter by absolute path, not symlink-resolved: a venv's
``bin/python`` is a symlink and resolving it would leave the venv and lose Interlock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interlock.errors import SetupError
from interlock.hooks import AGENTS
from interlock.hooks.settings import HOOK_SPECS, merge_hook, remove_hook

STATE_DIR = ".interlock"
STATE_FILE = "init.json"

PROJECT_FILES = {
    "claude-code": ".claude/settings.json",
    "cursor": ".cursor/hooks.json",
    "codex": ".codex/hooks.json",
    "gemini": ".gemini/settings.json",
}
DETECT = {
    "claude-code": (".claude", "CLAUDE.md"),
    "cursor": (".cursor",),
    "codex": (".codex", "AGENTS.md"),
    "gemini": (".gemini", "GEMINI.md"),
}


@dataclass(frozen=True)
class Change:
    agent: str
    path: Path
    what: str
    """added, updated, already installed, restored, removed entries, deleted."""


def detect_agents(project: Path) -> tuple[str, ...]:
    """Agents whose folder or instructions file is in the project; all four when none is."""
    found = tuple(a for a in AGENTS if any((project / m).exists() for m in DETECT[a]))
    return found or AGENTS


def settings_path(agent: str, project: Path, user: bool, home: Path) -> Path:
    if not user:
        return project / PROJECT_FILES[agent]
    if agent == "codex" and os.environ.get("CODEX_HOME"):
        return Path(os.environ["CODEX_HOME"]) / "hooks.json"
    return home / PROJECT_FILES[agent]


def hook_command(agent: str, python: str | None = None) -> str:
    interpreter = python or sys.executable
    if not interpreter:
        raise SetupError("cannot tell which Python runs Interlock (sys.executable is empty)")
    # abspath, not resolve(): keep the venv's symlinked bin/python (see the module docstring).
    return f"{shlex.quote(os.path.abspath(interpreter))} -m interlock.hooks {agent}"


def read_settings(path: Path) -> tuple[bytes | None, dict[str, Any]]:
    """The file's bytes (None when absent) and its JSON object; SetupError when it won't parse."""
    if not path.exists():
        return None, {}
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"cannot read {path}: {exc}; nothing was changed") from None
    if not text.strip():
        return raw, {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SetupError(
            f"{path} line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg}); "
            "nothing was changed",
            hint="fix the file (the agent ignores it as it is) and run `interlock init` again",
        ) from None
    if not isinstance(data, dict):
        raise SetupError(f"{path}: the top level is not a JSON object; nothing was changed")
    return raw, data


def dump(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def write_atomic(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.interlock-tmp")
    tmp.write_bytes(raw)
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)


def state_dir(project: Path, user: bool, home: Path) -> Path:
    return (home if user else project) / STATE_DIR


def load_state(folder: Path) -> dict[str, Any]:
    path = folder / STATE_FILE
    if not path.exists():
        return {"version": 1, "files": {}, "config": None}
    try:
        state = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SetupError(f"{path} is unreadable ({exc}); restore it or remove it by hand") from None
    if not isinstance(state, dict) or not isinstance(state.get("files"), dict):
        raise SetupError(f"{path} is not an Interlock init record")
    return state


def save_state(folder: Path, state: dict[str, Any]) -> None:
    write_atomic(folder / STATE_FILE, dump(state))


def missing_dirs(path: Path) -> list[str]:
    """Folders on the way to ``path`` that do not exist yet (removed again on undo)."""
    out = []
    for parent in path.parents:
        if parent.exists():
            break
        out.append(str(parent))
    return out


def precompile() -> None:
    """Write Interlock's bytecode now, so no hook call pays to compile it.

    Where PYTHONDONTWRITEBYTECODE is set (some CI images and dev containers set it), Python
    would otherwise recompile every module on every tool call: 360 ms instead of 30 ms.
    Best effort: a read-only install still works, only slower.
    """
    import compileall

    import interlock

    with contextlib.suppress(OSError):
        compileall.compile_dir(os.path.dirname(interlock.__file__), quiet=1)


def install(
    project: Path,
    agents: tuple[str, ...] = (),
    *,
    user: bool = False,
    home: Path | None = None,
    python: str | None = None,
) -> list[Change]:
    home = home or Path.home()
    project = project.absolute()
    chosen = agents or detect_agents(project)
    unknown = [a for a in chosen if a not in AGENTS]
    if unknown:
        raise SetupError(f"unknown agent(s) {', '.join(unknown)}: use {', '.join(AGENTS)}")
    folder = state_dir(project, user, home)
    state = load_state(folder)
    # Step 1: read and validate everything before writing anything.
    plans = []
    for agent in chosen:
        path = settings_path(agent, project, user, home)
        raw, data = read_settings(path)
        plans.append((agent, path, raw, data))
    precompile()
    changes = []
    for agent, path, raw, data in plans:
        command = hook_command(agent, python)
        what = merge_hook(HOOK_SPECS[agent], data, command, path)
        if what == "already installed":
            changes.append(Change(agent, path, what))
            continue
        new = dump(data)
        key = str(path)
        record = state["files"].get(key)
        if record is None:
            record = {"agent": agent, "created": raw is None, "backup": None}
            record["dirs"] = missing_dirs(path)
            if raw is not None:
                backup = folder / "backups" / f"{agent}.{path.name}"
                write_atomic(backup, raw)
                record["backup"] = str(backup)
        record["written_sha256"] = sha256(new)
        write_atomic(path, new)
        state["files"][key] = record
        changes.append(Change(agent, path, what))
    if not user:
        changes.extend(_write_config(project, state))
    save_state(folder, state)
    return changes


CONFIG_TEMPLATE = """\
# interlock.toml: Interlock's policy for this project (written by `interlock init`).
# Without this file Interlock uses its built-in defaults, which already protect production.
# `interlock policy explain -- '<command>'` shows which rule decides an action.

[environments]
# The environment of an action nobody labelled; INTERLOCK_ENV overrides it per session.
default = "development"
# Names treated as production: an irreversible destructive action there is denied.
production = ["production", "prod", "live"]

# Which environment a host, kube context, cloud profile or project name belongs to.
[environments.hosts]
production = ["*.prod.example.com"]
staging = ["*.staging.example.com"]

# Rules replace what the analyzers suggest for matching findings; among them deny wins.
# What Interlock could not understand stays at least "ask" whatever a rule says.
[[rules]]
id = "deny-drop-database-in-staging"
operation = "db.drop_database"   # fnmatch over the finding's operation
environment = "staging"          # optional: fnmatch over the finding's environment
decision = "deny"                # allow | ask | deny
reason = "staging is shared with other teams"

# [[rules]]
# id = "allow-tmp-scratch"
# operation = "fs.delete*"
# path = "/tmp/**"               # optional: every target must match
# decision = "allow"
# reason = "scratch space"
"""


def _write_config(project: Path, state: dict[str, Any]) -> list[Change]:
    path = project / "interlock.toml"
    if path.exists():
        return [Change("interlock", path, "kept (already there)")]
    raw = CONFIG_TEMPLATE.encode("utf-8")
    write_atomic(path, raw)
    state["config"] = {"path": str(path), "sha256": sha256(raw)}
    return [Change("interlock", path, "written (policy template)")]


def undo(project: Path, *, user: bool = False, home: Path | None = None) -> list[Change]:
    home = home or Path.home()
    folder = state_dir(project.absolute(), user, home)
    if not (folder / STATE_FILE).exists():
        raise SetupError(f"nothing to undo: {folder / STATE_FILE} does not exist")
    state = load_state(folder)
    # Validate first: an edited file that no longer parses stops the undo before any change.
    plans = []
    for key, record in state["files"].items():
        path = Path(key)
        current = path.read_bytes() if path.exists() else None
        exact = current is not None and sha256(current) == record.get("written_sha256")
        data = None if exact or current is None else read_settings(path)[1]
        plans.append((path, record, current, exact, data))
    changes = []
    for path, record, current, exact, data in plans:
        agent = record["agent"]
        if current is None:
            changes.append(Change(agent, path, "already gone"))
        elif exact:
            if record["created"]:
                path.unlink()
                _remove_dirs(record.get("dirs", []))
                changes.append(Change(agent, path, "deleted (init created it)"))
            else:
                path.write_bytes(Path(record["backup"]).read_bytes())
                changes.append(Change(agent, path, "restored from backup"))
        else:
            assert data is not None
            remove_hook(HOOK_SPECS[agent], data)
            if record["created"] and not _has_content(data):
                path.unlink()
                _remove_dirs(record.get("dirs", []))
                changes.append(Change(agent, path, "deleted (init created it)"))
            else:
                write_atomic(path, dump(data))
                changes.append(Change(agent, path, "removed Interlock's entries (file edited)"))
    changes.extend(_undo_config(state))
    for record in state["files"].values():
        if record.get("backup"):
            Path(record["backup"]).unlink(missing_ok=True)
    _remove_dirs([str(folder / "backups")])
    (folder / STATE_FILE).unlink()
    _remove_dirs([str(folder)])
    return changes


def _has_content(data: dict[str, Any]) -> bool:
    return any(k not in ("version", "hooks") for k in data) or bool(data.get("hooks"))


def _remove_dirs(dirs: list[str]) -> None:
    for name in dirs:  # deepest first, as recorded; only empty folders go
        with contextlib.suppress(OSError):
            os.rmdir(name)


def _undo_config(state: dict[str, Any]) -> list[Change]:
    config = state.get("config")
    if not config:
        return []
    path = Path(config["path"])
    if path.exists() and sha256(path.read_bytes()) == config["sha256"]:
        path.unlink()
        return [Change("interlock", path, "deleted (init created it, unchanged)")]
    return [Change("interlock", path, "kept (edited since init)")] if path.exists() else []
