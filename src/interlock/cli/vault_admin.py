"""`interlock vault retention|delete …|purge`: keep-within retention, locks, admin deletion after a
cooling-off (docs/vault.md, "Retention and deletion").

The admin key comes from ``$INTERLOCK_VAULT_ADMIN_KEY`` or the private (0600) file named by
``$INTERLOCK_VAULT_ADMIN_KEY_FILE``, and is checked against the vault's ``access.json``
(``interlock vault access init``). A writer token (``$INTERLOCK_VAULT_TOKEN``) may only cancel.
"""

from __future__ import annotations

import getpass
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from interlock.cli.vault_serve import FOLDER
from interlock.vault.errors import VaultError

ADMIN_KEY_ENV = "INTERLOCK_VAULT_ADMIN_KEY"
ADMIN_KEY_FILE_ENV = "INTERLOCK_VAULT_ADMIN_KEY_FILE"
WRITER_TOKEN_ENV = "INTERLOCK_VAULT_TOKEN"


@click.command("retention")
@FOLDER
def retention_command(vault_dir: Path) -> int:
    """Each backup with its lock, and whether it is past keep_within (deletable after a request)."""
    from interlock.vault import deletion, open_local, retention

    repository = open_local(vault_dir)
    snapshots = repository.snapshots()
    rows = retention.status(
        repository.backend,
        [(s.id, s.manifest) for s in snapshots],
        retention.configured_keep_within(),
    )
    asked = {p.snapshot: p.id for p in deletion.pending(vault_dir)}
    now = datetime.now(UTC)
    for row in rows:
        lock = _when(row.locked_until) if row.locked_until else "NOT LOCKED"
        if row.eligible(now):
            state = "eligible"
        else:
            left = (row.kept_until() - now).total_seconds()
            state = f"kept {_span(left)} more"
        request = f"  deletion {asked[row.snapshot]} pending" if row.snapshot in asked else ""
        click.echo(
            f"{row.snapshot[:12]}  {row.source}  finished {_when(row.finished)}  "
            f"keep_within {_span(row.keep_within)}  locked until {lock}  {state}{request}"
        )
    return 0


@click.group("delete")
def delete_group() -> None:
    """Deletion with the vault admin key, after a cooling-off (72 h at least) that can be cancelled."""


@delete_group.command("request")
@click.argument("snapshot_id", metavar="SNAPSHOT")
@click.option("--reason", required=True, help="Why; recorded and sent with the alert.")
@click.option(
    "--cooling-off",
    "cooling_off",
    default=None,
    metavar="DURATION",
    help="Wait longer than the vault's floor (72h or more), e.g. 7d.",
)
@FOLDER
def delete_request(snapshot_id: str, reason: str, cooling_off: str | None, vault_dir: Path) -> int:
    """Ask for a backup's deletion (admin key): recorded, alerted, carried out by a purge later."""
    from interlock.vault import deletion
    from interlock.vault.settings import duration

    by = _caller(vault_dir, admin_only=True)
    wait = None if cooling_off is None else duration(cooling_off, "--cooling-off")
    made = deletion.request(vault_dir, snapshot_id, reason=reason, by=by, cooling_off=wait)
    click.echo(
        f"deletion {made.id} of backup {made.snapshot[:12]} requested; due after "
        f"{_when(made.due)} unless cancelled (`interlock vault delete cancel {made.id}`)"
    )
    return 0


@delete_group.command("cancel")
@click.argument("deletion_id", metavar="ID")
@FOLDER
def delete_cancel(deletion_id: str, vault_dir: Path) -> int:
    """Cancel a deletion request (admin key or a writer token): the backup is kept."""
    from interlock.vault import deletion

    by = _caller(vault_dir, admin_only=False)
    deletion.cancel(vault_dir, deletion_id, by=by)
    click.echo(f"deletion {deletion_id} cancelled; the backup is kept")
    return 0


@delete_group.command("list")
@FOLDER
def delete_list(vault_dir: Path) -> int:
    """Pending deletion requests, with when each is due."""
    from interlock.vault import deletion

    now = time.time()
    for item in deletion.pending(vault_dir):
        state = "due" if item.is_due(now) else f"due in {_span(item.due - now)}"
        click.echo(
            f"{item.id}  backup {item.snapshot[:12]}  requested {_when(item.requested)} by "
            f"{item.by}  {state} ({_when(item.due)})  reason: {item.reason}"
        )
    return 0


@delete_group.command("floor")
@click.option("--set", "new_floor", metavar="DURATION", help="Fix the floor once (72h or more).")
@FOLDER
def delete_floor(new_floor: str | None, vault_dir: Path) -> int:
    """Show the vault's cooling-off floor, or fix it once, longer than 72 h (admin key)."""
    from interlock.vault import deletion
    from interlock.vault.settings import duration

    if new_floor is not None:
        by = _caller(vault_dir, admin_only=True)
        deletion.set_floor(vault_dir, duration(new_floor, "--set"), by=by)
    click.echo(f"cooling-off floor: {_span(deletion.floor(vault_dir))}")
    return 0


@click.command("purge")
@FOLDER
def purge_command(vault_dir: Path) -> int:
    """Carry out due, uncancelled deletions of backups no longer kept (admin key, vault key)."""
    from interlock.vault import deletion

    by = _caller(vault_dir, admin_only=True)
    removed = deletion.purge(vault_dir, by=by)
    for snapshot in removed:
        click.echo(f"deleted backup {snapshot[:12]}")
    waiting = [p for p in deletion.pending(vault_dir) if p.snapshot not in removed]
    click.echo(
        f"{len(removed)} backup(s) deleted; {len(waiting)} request(s) still waiting "
        "(cooling-off or retention lock)"
    )
    return 0


def _caller(vault_dir: Path, *, admin_only: bool) -> str:
    """Who is asking, from the credential presented; refuses anyone else before anything is
    written. Never echoes the credential."""
    from interlock.vault import access

    presented = _admin_key()
    if presented is None and not admin_only:
        presented = os.environ.get(WRITER_TOKEN_ENV, "").strip() or None
    if presented is None:
        allowed = ADMIN_KEY_ENV if admin_only else f"{ADMIN_KEY_ENV} or {WRITER_TOKEN_ENV}"
        raise VaultError(
            f"no credential: set {allowed}",
            f"the admin key is printed once by `interlock vault access init`; "
            f"{ADMIN_KEY_FILE_ENV} may name a 0600 file holding it",
        )
    found = access.identify(vault_dir, presented)
    if found is None:
        raise VaultError(
            f"the credential presented is not a key of the vault at {vault_dir}",
            "check which vault the key was made for (`interlock vault access init`)",
        )
    role, name = found
    if admin_only and role != "admin":
        raise VaultError(
            "a writer token cannot do this: only the vault admin key may ask for a deletion, "
            "set the floor or purge",
            f"writers may only cancel deletions; set {ADMIN_KEY_ENV} to the admin key",
        )
    who = "admin key" if role == "admin" else f"writer {name}"
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = f"uid {os.getuid()}"
    return f"{who} (user {user})"


def _admin_key() -> str | None:
    value = os.environ.get(ADMIN_KEY_ENV, "").strip()
    if value:
        return value
    path = os.environ.get(ADMIN_KEY_FILE_ENV, "").strip()
    if not path:
        return None
    from interlock.keyfile import read_private

    def fail(message: str, hint: str) -> VaultError:
        return VaultError(message, hint)

    text = read_private(
        Path(path).expanduser(),
        "vault admin key file",
        fail,
        f"`chmod 600 {path}`, and make a new admin key if others may have read it",
    ).strip()
    if not text:
        raise VaultError(f"the vault admin key file {path} is empty")
    return text


def _when(moment: datetime | float) -> str:
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.0f}s"


# The commands this module adds to `interlock vault` (registered in cli/vault.py).
COMMANDS: list[click.Command] = [retention_command, delete_group, purge_command]
