"""Hostile input from the red-team review: each must end in a normal, reasoned decision (never an
exception, never a hang), and none of them may be allowed when what it hides is destructive.

Each finding has the input that crashed or hung the analysis and a benign look-alike that must
stay allowed. Decided by the whole engine on the fixed project of ``conftest``.
"""

from __future__ import annotations

from interlock.decisions import Verdict

from .conftest import shell


def rules(command: str) -> set[str]:
    return {r.rule for r in shell(command).reasons}


# -- 2. a URL urllib cannot split (`http://[::1`) -------------------------------------------


def test_unsplittable_url_asks_instead_of_crashing() -> None:
    decision = shell("curl -X DELETE http://[::1")
    assert decision.verdict is Verdict.ASK
    assert "http.unparsed" in rules("curl -X DELETE http://[::1")
    assert shell("curl http://[::1]:8080/health").verdict is Verdict.ALLOW


def test_unsplittable_database_url_does_not_hide_the_sql() -> None:
    assert shell('DATABASE_URL=postgres://[::1 psql -c "DROP TABLE t"').verdict is not Verdict.ALLOW
    assert shell('DATABASE_URL=postgres://[::1]/app psql -c "SELECT 1"').verdict is Verdict.ALLOW
