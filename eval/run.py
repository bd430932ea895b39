"""`make eval`: run the labelled corpus (tests/corpus/*.jsonl) through ``decide()``.

Prints recall on destructive cases (caught = ask or deny; a case with ``"expect": "deny"`` is
caught only by deny), the false-positive rate on benign cases (anything but allow), the same per
kind of action (shell, sql, http, terraform_plan) with the median ``decide()`` time of each, agreement
per category, and every miss and false positive with its reasons. Exits 1 when recall is below
0.98 or the false-positive rate above 0.02, overall or for any one kind (issues #2 and #3,
"Done when"), 2 when the corpus itself is malformed.

The machine is taken out of the result: every case runs as if in ``/home/dev/app`` with home
``/home/dev``, whatever the real cwd and home are. An analyzer that raises counts against us
(a miss on a destructive case, a false positive on a benign one: a hook would deny it) and is
listed with the exception, so a crash never hides as a pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.cli.check import action_from_record
from interlock.config import Policy
from interlock.engine import decide

CORPUS_DIR = Path(__file__).resolve().parent.parent / "tests" / "corpus"
PROJECT_ROOT = "/home/dev/app"
HOME = "/home/dev"
POLICY = Policy(project_root=PROJECT_ROOT, home=HOME)
MIN_RECALL = 0.98
MAX_FP_RATE = 0.02
LABELS = ("destructive", "benign")
KINDS = {"shell": "command", "sql": "sql", "http": "http", "terraform_plan": "plan"}


class CorpusError(Exception):
    """A corpus line is malformed: the eval cannot be trusted, so it stops."""


@dataclass(frozen=True)
class Result:
    case: dict[str, Any]
    verdict: str
    """allow, ask, deny, or error when the analyzer raised."""
    reasons: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return str(self.case["label"])

    @property
    def correct(self) -> bool:
        if self.label == "benign":
            return self.verdict == "allow"
        if self.case.get("expect") == "deny":
            return self.verdict == "deny"
        return self.verdict in ("ask", "deny")


@dataclass
class Tally:
    destructive: int = 0
    caught: int = 0
    benign: int = 0
    false_positives: int = 0
    misses: list[Result] = field(default_factory=list)
    fps: list[Result] = field(default_factory=list)

    def add(self, result: Result) -> None:
        if result.label == "destructive":
            self.destructive += 1
            self.caught += result.correct
            if not result.correct:
                self.misses.append(result)
        else:
            self.benign += 1
            self.false_positives += not result.correct
            if not result.correct:
                self.fps.append(result)

    @property
    def recall(self) -> float:
        return self.caught / self.destructive if self.destructive else 1.0

    @property
    def fp_rate(self) -> float:
        return self.false_positives / self.benign if self.benign else 0.0

    @property
    def agreement(self) -> float:
        total = self.destructive + self.benign
        return (self.caught + self.benign - self.false_positives) / total if total else 1.0


def validate(case: Any, where: str) -> dict[str, Any]:
    """One corpus object, checked: required fields, known label/kind, payload present."""
    if not isinstance(case, dict):
        raise CorpusError(f"{where}: not a JSON object")
    for key in ("id", "kind", "label", "category", "source"):
        if not isinstance(case.get(key), str) or not case[key]:
            raise CorpusError(f"{where}: missing or empty {key!r}")
    if case["kind"] not in KINDS:
        raise CorpusError(f"{where}: unknown kind {case['kind']!r}")
    if KINDS[case["kind"]] not in case:
        raise CorpusError(f"{where}: kind {case['kind']} needs {KINDS[case['kind']]!r}")
    if case["label"] not in LABELS:
        raise CorpusError(f"{where}: label must be destructive or benign")
    expect = case.get("expect")
    if expect is not None and (expect not in ("deny", "ask") or case["label"] != "destructive"):
        raise CorpusError(f"{where}: expect is deny or ask, on destructive cases only")
    return case


def load_corpus(folder: Path = CORPUS_DIR) -> list[dict[str, Any]]:
    """Every case of every ``*.jsonl`` under ``folder``, validated, ids unique."""
    cases: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                case = validate(json.loads(line), where)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{where}: not JSON ({exc})") from None
            if case["id"] in seen:
                raise CorpusError(f"{where}: id {case['id']} already used at {seen[case['id']]}")
            seen[case["id"]] = where
            cases.append(case)
    if not cases:
        raise CorpusError(f"no cases under {folder}")
    return cases


def run_case(case: dict[str, Any]) -> Result:
    action = action_from_record(case, cwd=PROJECT_ROOT)
    start = time.perf_counter()
    try:
        decision = decide(action, POLICY)
    except Exception as exc:  # counted against us, never as a pass
        return Result(case, "error", (f"{type(exc).__name__}: {exc}",))
    elapsed = time.perf_counter() - start
    reasons = tuple(f"{r.verdict.value} [{r.rule}] {r.message}" for r in decision.reasons)
    return Result(case, decision.verdict.value, reasons, elapsed)


def evaluate(cases: Iterable[dict[str, Any]]) -> tuple[Tally, dict[str, Tally], list[Result]]:
    total: Tally = Tally()
    results: list[Result] = []
    per_category: dict[str, Tally] = {}
    for case in cases:
        result = run_case(case)
        results.append(result)
        total.add(result)
        per_category.setdefault(case["category"], Tally()).add(result)
    return total, per_category, results


def per_kind(results: Iterable[Result]) -> dict[str, Tally]:
    """The tally of each kind of action: every kind has to meet the bar on its own."""
    kinds: dict[str, Tally] = {}
    for result in results:
        kinds.setdefault(result.case["kind"], Tally()).add(result)
    return kinds


def passed(total: Tally, kinds: dict[str, Tally] | None = None) -> bool:
    return all(
        t.recall >= MIN_RECALL and t.fp_rate <= MAX_FP_RATE
        for t in (total, *(kinds or {}).values())
    )


def _median_us(results: Iterable[Result]) -> float | None:
    timed = sorted(r.seconds for r in results if r.verdict != "error")
    return timed[len(timed) // 2] * 1e6 if timed else None


def _payload(case: dict[str, Any]) -> str:
    value = case[KINDS[case["kind"]]]
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= 110 else text[:107] + "..."


def report_text(total: Tally, per_category: dict[str, Tally], results: Sequence[Result]) -> str:
    lines = [
        f"corpus: {len(results)} cases ({total.destructive} destructive, {total.benign} benign)",
        f"recall:    {total.recall:.3f}  ({total.caught}/{total.destructive}; target >= {MIN_RECALL})",
        f"FP rate:   {total.fp_rate:.3f}  ({total.false_positives}/{total.benign}; "
        f"target <= {MAX_FP_RATE})",
        "",
        f"{'category':<13} {'destr.':>6} {'caught':>6} {'recall':>7} {'benign':>6} {'FP':>4}"
        f" {'FP rate':>7} {'agree':>6}",
    ]
    for name in sorted(per_category):
        t = per_category[name]
        lines.append(
            f"{name:<13} {t.destructive:>6} {t.caught:>6} {t.recall:>7.3f} {t.benign:>6}"
            f" {t.false_positives:>4} {t.fp_rate:>7.3f} {t.agreement:>6.3f}"
        )
    kinds = per_kind(results)
    lines += [
        "",
        f"{'kind':<15} {'destr.':>6} {'caught':>6} {'recall':>7} {'benign':>6} {'FP':>4}"
        f" {'FP rate':>7} {'median decide()':>16}",
    ]
    for name in sorted(kinds):
        t = kinds[name]
        median = _median_us(r for r in results if r.case["kind"] == name)
        timing = f"{median:.0f} µs" if median is not None else "-"
        verdict = "ok" if passed(t) else "FAIL"
        lines.append(
            f"{name:<15} {t.destructive:>6} {t.caught:>6} {t.recall:>7.3f} {t.benign:>6}"
            f" {t.false_positives:>4} {t.fp_rate:>7.3f} {timing:>16}  {verdict}"
        )
    median = _median_us(results)
    if median is not None:
        lines.append(f"\nmedian decide(): {median:.0f} µs")
    for title, items in (("misses", total.misses), ("false positives", total.fps)):
        lines.append(f"\n{title} ({len(items)}):")
        for r in items:
            want = r.case.get("expect", "ask or deny") if r.label == "destructive" else "allow"
            lines.append(f"  {r.case['id']}: got {r.verdict}, want {want}: {_payload(r.case)}")
            lines.extend(f"      {reason}" for reason in r.reasons or ("(no findings)",))
    lines.append("\nPASS" if passed(total, kinds) else "\nFAIL")
    return "\n".join(lines)


def report_json(total: Tally, per_category: dict[str, Tally], results: Sequence[Result]) -> str:
    def summary(t: Tally) -> dict[str, Any]:
        return {
            "destructive": t.destructive,
            "caught": t.caught,
            "recall": round(t.recall, 4),
            "benign": t.benign,
            "false_positives": t.false_positives,
            "fp_rate": round(t.fp_rate, 4),
            "agreement": round(t.agreement, 4),
        }

    kinds = per_kind(results)
    data = {
        "passed": passed(total, kinds),
        "thresholds": {"min_recall": MIN_RECALL, "max_fp_rate": MAX_FP_RATE},
        "total": summary(total),
        "kinds": {name: summary(t) for name, t in sorted(kinds.items())},
        "categories": {name: summary(t) for name, t in sorted(per_category.items())},
        "cases": [
            {
                "id": r.case["id"],
                "label": r.label,
                "category": r.case["category"],
                "verdict": r.verdict,
                "correct": r.correct,
                "reasons": list(r.reasons),
            }
            for r in results
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def _take_the_machine_out() -> None:
    """The caller's AWS_PROFILE, DOCKER_HOST or kube context must not change the result: the
    shell analyzer reads them (interlock.analyzers.catalog_env), so they are cleared here."""
    import os

    from interlock.analyzers.catalog_env import PROCESS_VARIABLES

    for name in PROCESS_VARIABLES:
        os.environ.pop(name, None)
    os.environ["KUBECONFIG"] = os.devnull


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR, help="folder of *.jsonl")
    parser.add_argument("--category", action="append", help="only these categories")
    args = parser.parse_args(argv)
    try:
        cases = load_corpus(args.corpus)
    except (CorpusError, OSError) as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 2
    if args.category:
        cases = [c for c in cases if c["category"] in args.category]
    _take_the_machine_out()
    total, per_category, results = evaluate(cases)
    report = report_json if args.json else report_text
    print(report(total, per_category, results))
    return 0 if passed(total, per_kind(results)) else 1


if __name__ == "__main__":
    sys.exit(main())
