"""A session stopped through /api/v1/alerts (a honeytoken) is refused at once, not after the
gateway's one-second memory of its token (admission.py)."""

from __future__ import annotations

from pathlib import Path

from interlock import killswitch
from interlock.broker.tokens import Tokens
from interlock.gateway.admission import Admission
from interlock.server import db


def test_a_stopped_session_is_not_recalled(tmp_path: Path) -> None:
    engine = db.connect(db.sqlite_url(tmp_path))
    db.migrate(engine)
    token, _ = Tokens(engine).issue("claude-code", "s-1", "staging", ("railway",))
    admission = Admission(engine, tmp_path)
    admission.authenticate(token)
    assert admission.recall_token(token) is not None
    killswitch.kill_session(tmp_path, "s-1", {"by": "honeytoken", "reason": "decoy used"})
    assert admission.recall_token(token) is None
