"""`interlock vault serve`: the vault's own process, an append-only API for writers (docs/vault.md)."""

from __future__ import annotations

import click

# The commands this module adds to `interlock vault` (registered in cli/vault.py).
COMMANDS: list[click.Command] = []
