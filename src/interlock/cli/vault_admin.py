"""`interlock vault retention|delete …`: keep-within retention, locks, admin deletion after a cooling-off (docs/vault.md)."""

from __future__ import annotations

import click

# The commands this module adds to `interlock vault` (registered in cli/vault.py).
COMMANDS: list[click.Command] = []
