"""Replays of real incidents against real data, once without Interlock and once with it.

``interlock replay pocketos`` repeats the PocketOS deletion (25 April 2026: a staging task, a
credential mismatch, a token found in an unrelated file, one ``volumeDelete`` that took the
production volume and its backups) against a fake Railway API whose volumes are real PostgreSQL
databases; ``interlock replay datatalks`` repeats DataTalks.Club's ``terraform destroy`` after a
lost state file. Each scenario runs twice and prints a timeline of what every layer did; the
command succeeds only when the run without Interlock really lost the data and the run with it
lost nothing (docs/replay.md).

Modules, one per noun: :mod:`.timeline` (what happened, in order, with a verdict per layer),
:mod:`.databases` (scratch PostgreSQL), :mod:`.fake_railway` (the provider),
:mod:`.pagerduty` (where pages land), :mod:`.agent` (the scripted agent and its tools),
:mod:`.stack` (Interlock's layers as a user would set them up), :mod:`.pocketos` and
:mod:`.datatalks` (the scenarios).
"""

from __future__ import annotations

from interlock.errors import InterlockError

__all__ = ["ReplayError"]


class ReplayError(InterlockError):
    """A replay cannot run: no PostgreSQL, a fake service that would not start, a bad scenario."""

    hint = "see `interlock replay --help` and docs/replay.md"
