"""`interlock vault snapshotter`: pre-destroy snapshots asked for by the approval server and the gateway (docs/vault.md)."""

from __future__ import annotations

import click

# The commands this module adds to `interlock vault` (registered in cli/vault.py).
COMMANDS: list[click.Command] = []
