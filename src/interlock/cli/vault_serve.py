"""`interlock vault serve`: the vault's own process, an append-only API for writers (docs/vault.md).

`interlock vault access …` makes its credentials: one admin key and named writer tokens, each
printed once to stdout (and nowhere else), stored as SHA-256 hashes in `<vault>/access.json`.
"""

from __future__ import annotations

from pathlib import Path

import click

from interlock.vault.errors import VaultError

# `--vault` for the commands that need the vault's own folder on this host (serve, access,
# retention, delete, purge), not a URL.
FOLDER = click.option(
    "--vault",
    "vault_dir",
    envvar="INTERLOCK_VAULT",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The vault's own folder, on this host (default $INTERLOCK_VAULT).",
)


@click.command("serve")
@FOLDER
@click.option(
    "--listen",
    default="127.0.0.1:8475",
    show_default=True,
    metavar="HOST:PORT",
    help="Address to listen on.",
)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Serve https with this certificate (PEM); needs --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The certificate's private key (PEM, mode 0600).",
)
def serve(vault_dir: Path, listen: str, tls_cert: Path | None, tls_key: Path | None) -> int:
    """Serve the vault folder over an append-only API (no key held; no delete, no overwrite)."""
    import uvicorn

    from interlock.vault.serve import build_app

    host, port = _address(listen)
    if (tls_cert is None) != (tls_key is None):
        raise VaultError("give both --tls-cert and --tls-key, or neither")
    if tls_key is not None and tls_key.stat().st_mode & 0o077:
        raise VaultError(
            f"the TLS key {tls_key} is open to other users; refusing to use it",
            f"`chmod 600 {tls_key}`, and make a new key if others may have read it",
        )
    app = build_app(vault_dir)
    scheme = "https" if tls_cert else "http"
    click.echo(
        f"interlock vault serve: {vault_dir.resolve()} on {scheme}://{host}:{port}/v1/ "
        "(append-only; log in serve.log)",
        err=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        # A client holding a connection open must not keep a stopping server up.
        timeout_graceful_shutdown=5,
        # Each upload is held in memory (up to MAX_BLOB) while its hash is checked: at most
        # this many at once (about 512 MiB), beyond which uvicorn answers 503 and clients retry.
        limit_concurrency=32,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
    )
    return 0


@click.group("access")
def access_group() -> None:
    """The served vault's credentials: one admin key and named writer tokens."""


@access_group.command("init")
@FOLDER
def access_init(vault_dir: Path) -> int:
    """Make the vault's admin key (once); it is printed here and never again."""
    from interlock.vault import access

    _make_folder(vault_dir)
    key = access.init_admin(vault_dir)
    click.echo(key)
    click.echo(
        "the vault admin key above is shown once: keep it offline, away from agents and the "
        "gateway; it can ask for deletions (docs/vault.md)",
        err=True,
    )
    return 0


@access_group.command("writer-add")
@click.argument("name")
@FOLDER
def writer_add(name: str, vault_dir: Path) -> int:
    """Make an append-only writer token NAME; it is printed here and never again."""
    from interlock.vault import access

    _make_folder(vault_dir)
    token = access.add_writer(vault_dir, name)
    click.echo(token)
    click.echo(
        f"writer {name}: give the token above to the backup job as INTERLOCK_VAULT_TOKEN; "
        "it can add and read blobs, never delete or overwrite one",
        err=True,
    )
    return 0


@access_group.command("writer-revoke")
@click.argument("name")
@FOLDER
def writer_revoke(name: str, vault_dir: Path) -> int:
    """Revoke writer NAME: its token is refused from the next request on."""
    from interlock.vault import access

    access.revoke_writer(vault_dir, name)
    click.echo(f"writer {name} revoked")
    return 0


@access_group.command("list")
@FOLDER
def access_list(vault_dir: Path) -> int:
    """The writers, when each was made and revoked (never a token)."""
    from interlock.vault import access

    for writer in access.writers(vault_dir):
        state = f"revoked {writer['revoked']}" if writer["revoked"] else "active"
        click.echo(f"{writer['name']}  created {writer['created']}  {state}")
    return 0


def _make_folder(vault_dir: Path) -> None:
    if not vault_dir.exists():
        vault_dir.mkdir(parents=True, mode=0o700)
    elif not vault_dir.is_dir():
        raise VaultError(f"{vault_dir} is not a folder")


def _address(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise VaultError(f"--listen wants HOST:PORT, such as 127.0.0.1:8475, not {listen!r}")
    return host, int(port)


# The commands this module adds to `interlock vault` (registered in cli/vault.py).
COMMANDS: list[click.Command] = [serve, access_group]
