"""`interlock vault schedule`: backups per source to a target RPO, drills, freshness alerts (docs/vault.md)."""

from __future__ import annotations

import click

# The commands this module adds to `interlock vault` (registered in cli/vault.py).
COMMANDS: list[click.Command] = []
