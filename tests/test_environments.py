"""Which environment a target is in: inventory, legacy host patterns, resolvers, unknown."""

from __future__ import annotations

import pytest

from interlock.actions import SqlAction
from interlock.analyzers import Scope
from interlock.config import Policy, parse_policy
from interlock.decisions import Finding, Verdict
from interlock.engine import judge
from interlock.environments import UNKNOWN, is_loopback, resolve, target_environment
from interlock.errors import ConfigError

TOML = b"""
[environments]
production = ["production", "prod"]

[environments.hosts]
staging = ["*.staging.example.com"]

[inventory.production]
hosts = ["db.internal", "*.shop.example.com"]
databases = ["shop_main", "postgres://*@pg1.internal/*"]
aws_accounts = ["111111111111"]
aws_profiles = ["admin"]
kube_contexts = ["gke_shop_europe-west1_main"]
kube_namespaces = ["payments"]
railway_environments = ["4a1b-prod-env"]
resources = ["vol-0abc*"]

[inventory.staging]
aws_accounts = ["222222222222"]
railway_environments = ["9f9f-staging-env"]
resources = ["vol-0abc-shared"]
"""


@pytest.fixture()
def policy() -> Policy:
    return parse_policy(TOML, project_root="/home/dev/app")


@pytest.mark.parametrize(
    ("kind", "ident", "env"),
    [
        ("host", "db.internal", "production"),
        ("host", "API.shop.example.com", "production"),
        ("host", "web.staging.example.com", "staging"),
        ("database", "shop_main", "production"),
        ("database", "postgres://app@pg1.internal/orders", "production"),
        ("database", "postgres://app@db.internal:5432/x", "production"),
        ("aws_account", "111111111111", "production"),
        ("aws_account", "222222222222", "staging"),
        ("aws_profile", "admin", "production"),
        ("kube_context", "gke_shop_europe-west1_main", "production"),
        ("kube_namespace", "payments", "production"),
        ("railway_environment", "9f9f-staging-env", "staging"),
        ("resource", "vol-0abc123", "production"),
        ("host", "orders-prod.example.net", "production"),  # the name says so
    ],
)
def test_inventory_places_each_kind(policy: Policy, kind: str, ident: str, env: str) -> None:
    assert resolve(policy, kind, ident) == env


def test_a_production_claim_wins_over_another(policy: Policy) -> None:
    # vol-0abc-shared is listed in staging and matches production's vol-0abc*.
    assert resolve(policy, "resource", "vol-0abc-shared") == "production"


def test_kinds_do_not_leak(policy: Policy) -> None:
    # An AWS account id listed for production is not a Kubernetes namespace.
    assert resolve(policy, "kube_namespace", "111111111111") is None
    assert resolve(policy, "host", "db.unlisted.example.com") is None


def test_unknown_kind_is_an_error(policy: Policy) -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        resolve(policy, "planet", "earth")


class _Railway:
    """A resolver on static data, as the gateway's will be on Railway's API."""

    def __init__(self, volumes: dict[str, list[str]], policy: Policy) -> None:
        self.volumes, self.policy = volumes, policy

    def environment_of(self, kind: str, ident: str) -> str | None:
        if kind != "resource" or ident not in self.volumes:
            return None
        envs = [resolve(self.policy, "railway_environment", e) for e in self.volumes[ident]]
        known = [e for e in envs if e]
        return next((e for e in known if e == "production"), known[0] if known else None)


def test_resolver_seam_places_a_railway_volume(policy: Policy) -> None:
    railway = _Railway({"vol-77": ["9f9f-staging-env", "4a1b-prod-env"]}, policy)
    with_resolver = Policy(**{**policy.__dict__, "resolvers": (railway,)})
    assert resolve(with_resolver, "resource", "vol-77") == "production"
    assert resolve(with_resolver, "resource", "vol-78") is None


def test_remote_target_nobody_places_is_unknown(policy: Policy) -> None:
    scope = Scope(policy=policy, cwd="/home/dev/app", environment="staging")
    assert target_environment(scope, "host", "api.elsewhere.io") == UNKNOWN
    assert target_environment(scope, "host", None) == UNKNOWN
    assert target_environment(scope, "host", "x.staging.example.com") == "staging"


def _finding(environment: str | None, reversible: bool | None = False) -> Finding:
    return Finding(
        operation="db.drop_table",
        summary="drops the table users",
        verdict=Verdict.ASK,
        rule="sql.drop",
        environment=environment,
        reversible=reversible,
    )


def test_unknown_environment_is_treated_as_production(policy: Policy) -> None:
    reason = judge(_finding(UNKNOWN), SqlAction(sql="x", env="staging"), policy)
    assert reason.verdict is Verdict.DENY
    assert reason.rule == "default.protect-production"
    assert "cannot establish" in reason.message


def test_dev_target_stays_ask_and_reversible_unknown_stays_ask(policy: Policy) -> None:
    assert judge(_finding("development"), SqlAction(sql="x"), policy).verdict is Verdict.ASK
    reversible = judge(_finding(UNKNOWN, reversible=True), SqlAction(sql="x"), policy)
    assert reversible.verdict is Verdict.ASK


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (b"[inventory]\nproduction = 3\n", "must be a table"),
        (b"[inventory.production]\nplanets = ['x']\n", "is not one of"),
        (b"[inventory.production]\nhosts = 'db'\n", "must be a list"),
    ],
)
def test_bad_inventory_is_a_config_error(toml: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_policy(toml, project_root="/p")


@pytest.mark.parametrize(
    ("host", "loop"),
    [("localhost", True), ("127.0.0.2", True), ("[::1]", True), ("app.localhost", True),
     ("db.internal", False), (None, False), ("127.example.com", False)],
)  # fmt: skip
def test_loopback(host: str | None, loop: bool) -> None:
    assert is_loopback(host) is loop
