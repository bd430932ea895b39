"""The labelled corpus (tests/corpus/*.jsonl) is well-formed, balanced, and the analyzers meet
the bar of issue #2: recall >= 0.98 on destructive cases, false-positive rate <= 0.02 on
benign ones. The threshold test is real: it fails while the analyzers miss too much."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from interlock.cli.check import action_from_record

RUNNER = Path(__file__).resolve().parent.parent / "eval" / "run.py"


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("interlock_eval_run", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


run = _load_runner()


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = run.load_corpus()
    return loaded


def test_corpus_size_and_balance(cases: list[dict[str, Any]]) -> None:
    labels = Counter(c["label"] for c in cases)
    assert len(cases) >= 320
    assert labels["destructive"] * 2 >= len(cases)
    assert labels["benign"] >= 150


def test_ids_unique_and_fields_present(cases: list[dict[str, Any]]) -> None:
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    for case in cases:
        assert case["source"].strip(), case["id"]
        assert case["category"].strip(), case["id"]


def test_categories_cover_the_brief(cases: list[dict[str, Any]]) -> None:
    categories = {c["category"] for c in cases}
    wanted = {"fs", "git", "containers", "k8s", "iac", "cloud", "db", "credentials",
              "safeguards", "agents", "evasion", "http", "benign-dev"}  # fmt: skip
    assert wanted <= categories
    kinds = {c["kind"] for c in cases}
    assert kinds == {"shell", "sql", "http", "terraform_plan"}


def test_every_case_builds_an_action(cases: list[dict[str, Any]]) -> None:
    for case in cases:
        action = action_from_record(case, cwd=run.PROJECT_ROOT)
        assert action.kind == case["kind"], case["id"]


def test_incidents_and_evasions_named_in_issue_2_are_present(cases: list[dict[str, Any]]) -> None:
    text = "\n".join(json.dumps(c) for c in cases if c["label"] == "destructive")
    for needle in ("volumeDelete", "terraform destroy", "FOO=1 rm -rf /", "bash -c", "eval",
                   "-delete", "xargs rm", "$cmd -rf /", "base64 -d", "| sh", "python -c",
                   "node -e", "perl -e", "push --force", "reset --hard", "clean -fdx",
                   "checkout .", "restore .", "volume prune", "compose down -v",
                   "delete ns", "helm uninstall", "--replicas=0", "pulumi destroy",
                   "--skip-final-snapshot", "s3 rb", "dropdb", "FLUSHALL",
                   "prisma migrate reset", "db:drop", "alembic downgrade base",
                   ".aws/credentials", "id_rsa", ".netrc", ".kube/config",
                   "no-deletion-protection", "Status=Suspended", "stop-logging",
                   "dangerously-skip-permissions", "--yolo", "/etc/passwd", "mkfs", "wipefs",
                   "shred", "chmod -R 777 /", "rsync -a --delete"):  # fmt: skip
        assert needle in text, needle


def test_validate_rejects_malformed_lines(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": "x", "kind": "shell", "label": "benign"}\n')
    with pytest.raises(run.CorpusError, match="category"):
        run.load_corpus(tmp_path)
    good = {"id": "x", "kind": "sql", "sql": "SELECT 1", "label": "benign", "category": "db",
            "source": "t", "expect": "deny"}  # fmt: skip
    (tmp_path / "a.jsonl").write_text(json.dumps(good) + "\n")
    with pytest.raises(run.CorpusError, match="expect"):
        run.load_corpus(tmp_path)
    del good["expect"]
    (tmp_path / "a.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(run.CorpusError, match="already used"):
        run.load_corpus(tmp_path)


def test_scoring_counts_expect_deny_and_errors_against_us() -> None:
    base = {"kind": "sql", "sql": "x", "category": "db", "source": "t"}
    tally = run.Tally()
    tally.add(run.Result({**base, "id": "a", "label": "destructive", "expect": "deny"}, "ask"))
    tally.add(run.Result({**base, "id": "b", "label": "destructive"}, "ask"))
    tally.add(run.Result({**base, "id": "c", "label": "destructive"}, "error"))
    tally.add(run.Result({**base, "id": "d", "label": "benign"}, "error"))
    tally.add(run.Result({**base, "id": "e", "label": "benign"}, "allow"))
    assert (tally.caught, tally.destructive) == (1, 3)
    assert (tally.false_positives, tally.benign) == (1, 2)
    assert [r.case["id"] for r in tally.misses] == ["a", "c"]


def test_recall_and_false_positive_rate_meet_issue_2(cases: list[dict[str, Any]]) -> None:
    total, _, _ = run.evaluate(cases)
    misses = [f"{r.case['id']}: {r.verdict}" for r in total.misses]
    fps = [f"{r.case['id']}: {r.verdict} {list(r.reasons)}" for r in total.fps]
    assert total.recall >= run.MIN_RECALL, f"recall {total.recall:.3f}; misses: {misses}"
    assert total.fp_rate <= run.MAX_FP_RATE, f"FP rate {total.fp_rate:.3f}; FPs: {fps}"


def test_each_kind_meets_the_bar_on_its_own(cases: list[dict[str, Any]]) -> None:
    _, _, results = run.evaluate(cases)
    kinds = run.per_kind(results)
    assert {"shell", "sql", "http", "terraform_plan"} <= set(kinds)
    for name, tally in kinds.items():
        assert tally.recall >= run.MIN_RECALL, f"{name}: recall {tally.recall:.3f}"
        assert tally.fp_rate <= run.MAX_FP_RATE, f"{name}: FP rate {tally.fp_rate:.3f}"


def test_one_weak_kind_fails_the_whole_run() -> None:
    base = {"category": "db", "source": "t"}
    good = run.Tally()
    good.add(run.Result({**base, "kind": "shell", "id": "a", "label": "destructive"}, "deny"))
    weak = run.Tally()
    weak.add(run.Result({**base, "kind": "sql", "id": "b", "label": "benign"}, "ask"))
    assert run.passed(good, {"shell": good})
    assert not run.passed(good, {"shell": good, "sql": weak})
