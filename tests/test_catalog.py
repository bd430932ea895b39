"""The catalogs of destructive operations: every rule's own examples, the format, the loader."""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path

import pytest

from interlock.analyzers import DYN, Scope, SimpleCommand, catalog
from interlock.config import Policy
from interlock.decisions import Verdict
from interlock.errors import ConfigError

POLICY = Policy(project_root="/home/dev/app", home="/home/dev")
DOCS = Path(__file__).resolve().parents[1] / "docs" / "catalogs.md"
RULES = catalog.load().rules


def command(text: str, environment: str | None = None, **fields: object) -> SimpleCommand:
    scope = Scope(policy=POLICY, cwd="/home/dev/app", environment=environment)
    argv = tuple(shlex.split(text))
    return SimpleCommand(argv=argv, text=text, scope=scope, **fields)  # type: ignore[arg-type]


def rules_of(text: str) -> dict[str, Verdict]:
    return {f.rule: f.verdict for f in catalog.match(command(text))}


def _examples() -> list[tuple[str, str, Verdict | None]]:
    return [(r.id, cmd, v) for r in RULES for cmd, v in r.examples]


def _counter_examples() -> list[tuple[str, str]]:
    return [(r.id, cmd) for r in RULES for cmd in r.counter_examples]


@pytest.mark.parametrize(("rule", "text", "verdict"), _examples())
def test_rule_matches_its_examples(rule: str, text: str, verdict: Verdict | None) -> None:
    found = rules_of(text)
    assert rule in found, f"{rule} did not match {text!r}; found {found}"
    if verdict is not None:
        assert found[rule] is verdict


@pytest.mark.parametrize(("rule", "text"), _counter_examples())
def test_rule_skips_its_counter_examples(rule: str, text: str) -> None:
    assert rule not in rules_of(text)


def test_every_rule_has_examples_of_both_kinds() -> None:
    for rule in RULES:
        assert rule.examples and rule.counter_examples, rule.id


def test_rule_ids_are_unique() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))


def test_every_operation_is_documented() -> None:
    documented = set(re.findall(r"`([a-z0-9_]+\.[a-z0-9_.]+)`", DOCS.read_text()))
    missing = sorted({r.operation for r in RULES} - documented)
    assert not missing, f"operations missing from docs/catalogs.md: {missing}"


BENIGN = [
    "git status", "git diff HEAD~1", "git commit -m 'fix: push --force main docs'",
    "git push origin feature/login", "git push -u origin HEAD", "git pull --rebase", "git fetch --all",
    "git checkout -b feature/x", "git switch main", "git rebase -i HEAD~3", "git merge main",
    "git log --oneline", "git stash", "git stash pop", "git branch -d merged",
    "ls -la", "rm -rf node_modules", "rm build.log", "mkdir -p src/x", "cp a.txt b.txt",
    "chmod +x run.sh", "docker compose up -d", "docker ps -a", "docker system prune -f",
    "kubectl get pods -n prod", "kubectl apply -f deploy.yaml", "kubectl logs api-1",
    "kubectl delete pod api-1", "helm list -A", "terraform plan", "terraform init",
    "aws s3 ls", "aws rds describe-db-instances --profile prod", "gcloud sql instances list",
    "railway up", "railway logs", "fly deploy", "heroku logs -a app", "npm test",
    "npx prisma migrate dev", "bundle exec rake db:migrate", "rails db:migrate",
    "grep -r 'DROP TABLE' .", "grep -rn TODO src", "rg useState src", "cat README.md",
    "cat .env.example", "printenv", "printenv PATH", "echo rm -rf /", "claude -p 'fix the tests'",
    "codex exec 'add tests'", "python manage.py migrate", "alembic upgrade head",
    "pytest -x", "make test",
]  # fmt: skip


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_work_has_no_finding(text: str) -> None:
    assert catalog.match(command(text)) == []


def test_environment_from_options_and_assignments() -> None:
    (f,) = catalog.match(command("kubectl delete pvc data-0 --context prod-cluster"))
    assert f.environment == "production"
    (f,) = catalog.match(command("rails db:drop", assignments=(("RAILS_ENV", "production"),)))
    assert f.environment == "production"
    (f,) = catalog.match(command("rake db:reset RAILS_ENV=staging"))
    assert f.environment == "staging"
    (f,) = catalog.match(command("rake db:drop", environment="staging"))
    assert f.environment == "staging"  # a local tool: the scope's environment when none is named
    (f,) = catalog.match(command("railway volume delete vol-7", environment="staging"))
    assert f.environment == "unknown"  # a remote one: the agent's environment says nothing of it


def test_dynamic_paths_are_at_least_ask() -> None:
    (f,) = catalog.match(command(f"rm -rf build/{DYN}"))
    assert f.verdict is Verdict.ASK
    (f,) = catalog.match(command(f"rm -rf {DYN}/"))
    assert f.verdict is Verdict.ASK and "run time" in f.summary


def test_finding_carries_targets_evidence_and_reversibility() -> None:
    (f,) = catalog.match(command("rm -rf ~"))
    assert f.targets == ("/home/dev",) and f.operation == "fs.delete_recursive"
    assert f.reversible is False and f.evidence == "rm -rf ~"
    (f,) = catalog.match(command("git push --force origin main"))
    assert f.targets == ("main",) and "main" in f.summary
    (f,) = catalog.match(command("git checkout feature/x -- src/a.py"))
    assert f.targets == ("src/a.py",)


def test_launchers_are_followed() -> None:
    assert "databases.prisma_migrate_reset" in rules_of("pnpm exec prisma migrate reset --force")
    assert "databases.rails_db_destroy" in rules_of("bundle exec rake db:drop")
    assert "databases.django_flush" in rules_of("poetry run python manage.py flush --no-input")
    assert "databases.django_flush" in rules_of("python3 -W ignore manage.py flush")
    assert "databases.artisan_wipe" in rules_of("php artisan migrate:fresh --seed")


def test_programs_run_in_containers_are_analyzed_there() -> None:
    found = catalog.match(command("kubectl exec -it postgres-0 -n prod -- rm -rf data"))
    assert [f.rule for f in found] == ["fs.rm_recursive"]
    assert found[0].environment == "production" and found[0].verdict is Verdict.ASK
    (f,) = catalog.match(command("docker exec -it prod-db rm -rf /var/lib/postgresql/data"))
    assert f.environment == "production" and f.verdict is Verdict.DENY
    assert catalog.match(command("docker exec web ls -la")) == []
    assert catalog.match(command("docker build -t x .")) == []


def _write(folder: Path, text: str) -> Path:
    (folder / "bad.toml").write_text(text)
    return folder


RULE = """
[tools.x]
names = ["x"]
[[rules]]
id = "x.y"
tool = "x"
operation = "x.y"
summary = "does y"
verdict = "ask"
match = ["x y"]
no_match = ["x z"]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tools.x\n", "not valid TOML"),
        (RULE.replace('verdict = "ask"', 'verdict = "maybe"'), "verdict must be one of"),
        (RULE.replace('tool = "x"', 'tool = "nope"'), "not defined"),
        (RULE.replace('no_match = ["x z"]', "no_match = []"), "no_match"),
        (RULE.replace('match = ["x y"]\n', ""), "match is required"),
        (RULE + 'colour = "red"\n', "unknown key"),
        (RULE.replace('summary = "does y"', 'summary = "does {nothing}"'), "placeholder"),
        (RULE + RULE.split("[[rules]]")[1].join(["[[rules]]", ""]), "used twice"),
        ("[other]\n", "unknown section"),
    ],
)
def test_malformed_catalog_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        catalog.load(_write(tmp_path, text))


def test_well_formed_catalog_loads_from_a_folder(tmp_path: Path) -> None:
    loaded = catalog.load(_write(tmp_path, RULE))
    assert [r.id for r in loaded.rules] == ["x.y"]
    assert [f.rule for f in catalog.match(command("x y"), loaded)] == ["x.y"]


def test_load_time(capsys: pytest.CaptureFixture[str]) -> None:
    """Printed, not asserted (docs/performance.md: timed assertions make flaky builds)."""
    start = time.perf_counter()
    for _ in range(10):
        catalog.load(catalog.CATALOG_DIR)
    full = (time.perf_counter() - start) / 10 * 1000
    start = time.perf_counter()
    for _ in range(10):
        lazy = catalog.LazyCatalog.scan(catalog.CATALOG_DIR)
    scan = (time.perf_counter() - start) / 10 * 1000
    start = time.perf_counter()
    catalog.match(command("git push --force origin main"), lazy)
    first = (time.perf_counter() - start) * 1000
    with capsys.disabled():
        print(
            f"\ncatalogs ({len(RULES)} rules): full load {full:.1f} ms; hot path: scan "
            f"{scan:.1f} ms, first git match {first:.1f} ms"
        )


def test_option_parsing() -> None:
    git = catalog.load().tools["git"]
    parsed = catalog.parse_args(("-C", "repo", "push", "-fu", "origin", "--", "-x"), git)
    assert parsed.options == (("-C", "repo"), ("-f", None), ("-u", None), ("--", None))
    assert parsed.positionals == ("push", "origin", "-x")
    terraform = catalog.load().tools["terraform-cli"]
    parsed = catalog.parse_args(("--auto-approve", "-var-file", "prod.tfvars"), terraform)
    assert parsed.options == (("-auto-approve", None), ("-var-file", "prod.tfvars"))
    kubectl = catalog.load().tools["kubectl"]
    assert catalog.parse_args(("-nprod", "--replicas=0"), kubectl).options == (
        ("-n", "prod"),
        ("--replicas", "0"),
    )


def test_fallback_rule_only_when_nothing_specific_matched() -> None:
    assert set(rules_of("kubectl delete deploy --all")) == {"k8s.delete_all"}
    assert set(rules_of("kubectl delete deploy api")) == {"k8s.delete"}
    assert set(rules_of("gh api -X DELETE repos/a/b/branches/main/protection")) == {
        "safeguards.gh_branch_protection_delete"
    }


def test_help_is_not_an_action_only_before_the_operands() -> None:
    assert catalog.match(command("terraform destroy -help")) == []
    assert catalog.match(command("rm --help -rf /")) == []
    # BSD rm does not permute: "--help" after "/" is one more operand to delete.
    assert rules_of("rm -rf / --help") == {"fs.rm_recursive": Verdict.DENY}
    assert "k8s.delete_namespace" in rules_of("kubectl delete ns prod --help")


def test_hot_path_loader_agrees_with_the_full_one() -> None:
    full, lazy = catalog.load(), catalog.LazyCatalog.scan(catalog.CATALOG_DIR)
    assert set(lazy.tool_blocks) == set(full.tools)
    for tool_id in full.tools:
        assert lazy._tool(tool_id) == full.tools[tool_id]
        assert {r.id for r in lazy.rules_for(tool_id)} == {r.id for r in full.rules_for(tool_id)}
    for name in ("git", "mkfs.ext4", "python3.12", "bundle", "docker"):
        assert {t.id for t in lazy.tools_for(name)} == {t.id for t in full.tools_for(name)}
        assert lazy.launchers_for(name) == full.launchers_for(name)


def test_malformed_block_on_the_hot_path_is_a_config_error(tmp_path: Path) -> None:
    lazy = catalog.LazyCatalog.scan(_write(tmp_path, RULE.replace('verdict = "ask"', "verdict =")))
    with pytest.raises(ConfigError, match="not valid TOML"):
        catalog.match(command("x y"), lazy)
