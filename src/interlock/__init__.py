"""Interlock: one decision point between AI coding agents and production."""

from __future__ import annotations

__version__ = "0.1.0"
