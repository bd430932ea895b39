"""HTTP and GraphQL analysis, with the request shapes agents really send."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from interlock.actions import HttpAction
from interlock.analyzers import Scope
from interlock.analyzers.http import analyze, provider_of
from interlock.config import Policy
from interlock.decisions import Verdict
from interlock.engine import decide

POLICY = Policy(project_root="/srv/app")
SCOPE = Scope(policy=POLICY, cwd="/srv/app", environment="staging")
RAILWAY = "https://backboard.railway.app/graphql/v2"
JSON = {"Content-Type": "application/json", "Authorization": "Bearer redacted"}


def ops(method: str, url: str, body: str = "", headers: dict[str, str] | None = None) -> list[str]:
    return [f.operation for f in analyze(method, url, headers or {}, body, SCOPE)]


def gql(query: str, **extra: object) -> str:
    return json.dumps({"query": query, **extra})


def verdict(
    method: str,
    url: str,
    body: str = "",
    headers: dict[str, str] | None = None,
    policy: Policy = POLICY,
    env: str | None = None,
) -> Verdict:
    action = HttpAction(method=method, url=url, headers=headers or {}, body=body, env=env)
    return decide(action, policy).verdict


# -- PocketOS: one volumeDelete, and where the volume lives ------------------------------------

POCKETOS = gql('mutation { volumeDelete(volumeId: "3d1f5c2e") }')


def inventory(env: str) -> Policy:
    return Policy(project_root="/srv/app", inventory={env: {"resource": ("3d1f5c2e",)}})


def test_pocketos_volume_delete() -> None:
    # The request from the PocketOS incident (April 2026), as curl sent it.
    (f,) = analyze("POST", RAILWAY, JSON, POCKETOS, SCOPE)
    assert f.operation == "cloud.delete_volume" and f.rule == "http.provider.railway.volume_delete"
    assert "Railway's volumeDelete" in f.summary and "backups" in f.summary
    assert f.targets == ("3d1f5c2e",) and f.reversible is False
    assert f.environment == "unknown"  # the request names no environment, the inventory none


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (POLICY, Verdict.DENY),  # not listed: unknown, treated as production
        (inventory("production"), Verdict.DENY),
        (inventory("staging"), Verdict.ASK),
    ],
)
def test_pocketos_decision_follows_the_volume(policy: Policy, expected: Verdict) -> None:
    # The agent said it worked in staging; the volume's own environment decides.
    assert verdict("POST", RAILWAY, POCKETOS, JSON, policy, env="staging") is expected


@pytest.mark.parametrize(
    "body",
    [
        # hidden under an alias
        gql('mutation { keep: volumeDelete(volumeId: "3d1f5c2e") { id } }'),
        # under a misleading operationName
        gql(
            'mutation Harmless { volumeDelete(volumeId: "3d1f5c2e") }', operationName="Harmless"
        ),
        # as a second operation: operationName picks the first, both are judged
        gql(
            'query A { me { id } } mutation B { volumeDelete(volumeId: "3d1f5c2e") }',
            operationName="A",
        ),
        gql(
            'mutation A { serviceCreate(input: {}) { id } } mutation B { volumeDelete(volumeId: "3d1f5c2e") }',
            operationName="A",
        ),
        # in a batched array
        json.dumps(
            [{"query": "query { me { id } }"}, {"query": 'mutation { volumeDelete(volumeId: "3d1f5c2e") }'}]
        ),
        # through variables
        gql("mutation M($id: String!) { volumeDelete(volumeId: $id) }", variables={"id": "3d1f5c2e"}),
        # variables sent as a JSON string
        gql("mutation M($id: String!) { volumeDelete(volumeId: $id) }", variables='{"id": "3d1f5c2e"}'),
        # named fragment spread and inline fragment
        gql('mutation { ...Kill } fragment Kill on Mutation { volumeDelete(volumeId: "3d1f5c2e") }'),
        gql('mutation { ... on Mutation { volumeDelete(volumeId: "3d1f5c2e") } }'),
        # commas and comments GraphQL ignores before the operation
        gql(',,# note\nmutation { volumeDelete(volumeId: "3d1f5c2e") }'),
    ],
    ids=["alias", "operation-name", "second-operation", "second-mutation", "batched",
         "variables", "variables-string", "fragment", "inline-fragment", "ignored-prefix"],
)  # fmt: skip
def test_volume_delete_cannot_hide(body: str) -> None:
    found = analyze("POST", RAILWAY, JSON, body, SCOPE)
    deletes = [f for f in found if f.rule == "http.provider.railway.volume_delete"]
    assert deletes and deletes[0].targets == ("3d1f5c2e",)
    assert verdict("POST", RAILWAY, body, JSON, inventory("staging")) is Verdict.ASK
    assert verdict("POST", RAILWAY, body, JSON, inventory("production")) is Verdict.DENY


@pytest.mark.parametrize(
    ("method", "url", "body", "headers"),
    [
        ("POST", RAILWAY, "query=" + quote('mutation { volumeDelete(volumeId: "3d1f5c2e") }'),
         {"Content-Type": "application/x-www-form-urlencoded"}),
        ("GET", RAILWAY + "?query=" + quote('mutation { volumeDelete(volumeId: "3d1f5c2e") }'), "", {}),
        ("GET", RAILWAY + "?query=" + quote("mutation($v: String!) { volumeDelete(volumeId: $v) }")
         + "&variables=" + quote('{"v": "3d1f5c2e"}'), "", {}),
        ("POST", RAILWAY, 'mutation { volumeDelete(volumeId: "3d1f5c2e") }', {"Content-Type": "application/graphql"}),
        ("POST", RAILWAY, '{ volumeDelete(volumeId: "x") }\nmutation { volumeDelete(volumeId: "3d1f5c2e") }', {}),
    ],
    ids=["form", "get-query", "get-variables", "application-graphql", "raw-body"],
)  # fmt: skip
def test_graphql_carriers(method: str, url: str, body: str, headers: dict[str, str]) -> None:
    found = analyze(method, url, headers, body, SCOPE)
    assert any(f.targets == ("3d1f5c2e",) and f.operation == "cloud.delete_volume" for f in found)


def test_every_mutation_field_is_judged() -> None:
    body = gql(
        'mutation { a: serviceDelete(id: "s") b: environmentDelete(id: "e") c: serviceCreate(input: {}) { id } }'
    )
    rules = [f.rule for f in analyze("POST", RAILWAY, JSON, body, SCOPE)]
    assert rules == [
        "http.provider.railway.service_delete",
        "http.provider.railway.environment_delete",
    ]


def test_environment_from_an_input_argument() -> None:
    body = gql(
        'mutation { variableDelete(input: {projectId: "p", environmentId: "env-9", name: "KEY"}) }'
    )
    policy = Policy(
        project_root="/srv/app", inventory={"production": {"railway_environment": ("env-9",)}}
    )
    (f,) = analyze("POST", RAILWAY, JSON, body, Scope(policy=policy, cwd=None, environment=None))
    assert f.environment == "production" and f.targets == ("KEY",)


@pytest.mark.parametrize(
    "body",
    [
        gql('query deleteThing { volume(id: "x") { name } }'),
        gql("query { deleteRequests { id } }"),
        gql('mutation { volumeCreate(input: {projectId: "p"}) { id } }'),
        gql('mutation { variableUpsert(input: {name: "note", value: "volumeDelete later"}) }'),
        gql('mutation {\n  # volumeDelete(volumeId: "x")\n  serviceUpdate(id: "s") { id }\n}'),
        gql(
            'mutation { variableCollectionUpsert(input: {serviceId: "s", replace: false, variables: {}}) }'
        ),
        gql('{ project(id: "p") { volumes { edges { node { id } } } } }'),
        gql('subscription { deploymentLogs(deploymentId: "d") { message } }'),
        '{"name": "deleteme", "size": 3}',
        '{"query": "find users named volumeDelete"}',
    ],
)
def test_lookalikes_allowed(body: str) -> None:
    assert ops("POST", RAILWAY, body, JSON) == []


def test_mutation_the_catalog_does_not_know_is_ask() -> None:
    body = gql('mutation { volumeInstanceWipe(volumeInstanceId: "vi") }')
    (f,) = analyze("POST", RAILWAY, JSON, body, SCOPE)
    assert f.rule == "http.provider_unknown" and "catalog does not know" in f.summary
    assert f.environment == "staging"  # not known to lose anything: the action's environment
    assert verdict("POST", RAILWAY, body, JSON) is Verdict.ASK


def test_destructive_mutation_elsewhere_is_ask() -> None:
    url = "https://api.example.com/graphql?query=mutation%7BdropDatabase%28name%3A%22x%22%29%7D"
    assert ops("POST", url) == ["http.graphql_mutation"]
    assert ops("POST", "http://localhost:4000/graphql", gql("mutation { deleteTodo(id: 1) }")) == []


@pytest.mark.parametrize(
    "body",
    [
        gql('mutation { volumeDelete(volumeId: "x) }'),
        '{"query": "mutation { volumeDelete',
        gql("mutation { ...Missing }"),
        gql("mutation { ...A } fragment A on Mutation { ...A }"),
        '{"query": "q", "v": ' + "[" * 100_000 + "]" * 100_000 + "}",
        gql("mutation { " + "... on M { " * 3000 + "volumeDelete(volumeId: 1)" + " }" * 3000 + " }"),
        json.dumps({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}}),
    ],
    ids=["unterminated", "bad-json", "undefined-fragment", "cycle", "deep-json", "deep-document",
         "persisted"],
)  # fmt: skip
def test_unreadable_graphql_is_ask(body: str) -> None:
    found = analyze("POST", RAILWAY, JSON, body, SCOPE)
    assert found and all(f.floor is Verdict.ASK or f.verdict is Verdict.ASK for f in found)
    assert any(f.operation == "http.unparsed" for f in found)


def test_deep_variables_do_not_crash() -> None:
    deep = json.loads('{"a": ' * 900 + "1" + "}" * 900)
    body = gql("mutation($v: I) { volumeDelete(volumeId: $v) }", variables={"v": deep})
    (f,) = analyze("POST", RAILWAY, JSON, body, SCOPE)
    assert f.rule == "http.provider.railway.volume_delete" and f.environment == "unknown"


def test_parser_message_is_in_the_reason() -> None:
    (f,) = analyze("POST", RAILWAY, JSON, gql('mutation { volumeDelete(volumeId: "x) }'), SCOPE)
    assert "Unterminated string" in f.summary and f.floor is Verdict.ASK


# -- methods ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "get"])
def test_reads_are_silent(method: str) -> None:
    assert ops(method, "https://api.github.com/repos/acme/app") == []
    assert ops(method, "https://api.example.com/items/delete") == []


def test_delete_elsewhere_is_ask_and_placed_by_host() -> None:
    (f,) = analyze("DELETE", "https://api.example.com/items/1", {}, "", SCOPE)
    assert f.operation == "http.delete" and f.targets == ("/items/1",)
    assert f.environment == "unknown"
    policy = Policy(
        project_root="/srv/app", inventory={"development": {"host": ("api.example.com",)}}
    )
    assert verdict("DELETE", "https://api.example.com/items/1", policy=policy) is Verdict.ASK


@pytest.mark.parametrize(
    "url", ["http://localhost:3000/api/todos/1", "http://127.0.0.1:8000/x", "http://[::1]:9/y"]
)
def test_loopback_delete_is_the_developers_own(url: str) -> None:
    assert ops("DELETE", url) == []


@pytest.mark.parametrize(
    ("headers", "body", "url"),
    [
        ({"X-HTTP-Method-Override": "DELETE"}, "", "https://api.github.com/repos/acme/app"),
        ({"X-HTTP-Method": "delete"}, "", "https://api.github.com/repos/acme/app"),
        ({"X-Method-Override": "DELETE"}, "", "https://api.github.com/repos/acme/app"),
        ({}, "_method=DELETE", "https://api.github.com/repos/acme/app"),
        ({}, "", "https://api.github.com/repos/acme/app?_method=DELETE"),
    ],
)
def test_method_override_counts(headers: dict[str, str], body: str, url: str) -> None:
    found = analyze("POST", url, headers, body, SCOPE)
    assert [f.rule for f in found] == ["http.provider.github.delete_repository"]


def test_override_to_a_read_does_not_hide_a_write() -> None:
    body = gql('mutation { volumeDelete(volumeId: "v") }')
    assert ops("POST", RAILWAY, body, {"X-HTTP-Method-Override": "GET"}) == ["cloud.delete_volume"]


# -- providers ----------------------------------------------------------------------------------


def test_rds_delete_says_backups_go_and_denies_without_final_snapshot() -> None:
    body = "Action=DeleteDBInstance&DBInstanceIdentifier=db-1&SkipFinalSnapshot=true"
    (f,) = analyze("POST", "https://rds.us-east-1.amazonaws.com/", {}, body, SCOPE)
    assert "no final snapshot" in f.summary and "automated backups" in f.summary
    assert f.verdict is Verdict.DENY
    kept = "Action=DeleteDBInstance&DBInstanceIdentifier=db-1&FinalDBSnapshotIdentifier=last&DeleteAutomatedBackups=false"
    (f,) = analyze("POST", "https://rds.us-east-1.amazonaws.com/", {}, kept, SCOPE)
    assert f.verdict is Verdict.ASK and "automated backups" not in f.summary


def test_aws_account_from_an_arn() -> None:
    policy = Policy(
        project_root="/srv/app", inventory={"staging": {"aws_account": ("111122223333",)}}
    )
    body = json.dumps({"BackupArn": "arn:aws:dynamodb:us-east-1:111122223333:table/t/backup/b"})
    headers = {"X-Amz-Target": "DynamoDB_20120810.DeleteBackup"}
    url = "https://dynamodb.us-east-1.amazonaws.com/"
    (f,) = analyze("POST", url, headers, body, Scope(policy=policy, cwd=None, environment=None))
    assert f.environment == "staging"


def test_kubernetes_namespace_from_the_path() -> None:
    policy = Policy(
        project_root="/srv/app", inventory={"production": {"kube_namespace": ("shop",)}}
    )
    url = "https://10.0.0.1:6443/api/v1/namespaces/shop/persistentvolumeclaims/data"
    (f,) = analyze("DELETE", url, {}, "", Scope(policy=policy, cwd=None, environment="dev"))
    assert f.environment == "production" and f.targets == ("shop",)
    # kubectl proxy on this machine reaches a real cluster: still judged, the action's environment
    (f,) = analyze("DELETE", "http://127.0.0.1:8001/api/v1/namespaces/shop", {}, "", SCOPE)
    assert f.rule == "http.provider.kubernetes.delete_namespace" and f.environment == "staging"


@pytest.mark.parametrize(
    ("method", "url", "body", "headers"),
    [
        ("POST", "https://rds.us-east-1.amazonaws.com/", "Action=DescribeDBInstances&Version=2014-10-31", {}),
        ("POST", "https://rds.us-east-1.amazonaws.com/", "Action=ModifyDBInstance&DBInstanceIdentifier=d&DeletionProtection=true", {}),
        ("POST", "https://ec2.amazonaws.com/", "Action=TerminateInstances&InstanceId.1=i-1&DryRun=true", {}),
        ("POST", "https://api.github.com/repos/acme/app/issues", '{"title": "Delete old branches"}', {}),
        ("PATCH", "https://api.github.com/repos/acme/app/git/refs/heads/main", '{"sha": "abc", "force": false}', {}),
        ("POST", "https://example.com/api/DeleteUser", "x=1", {}),
        ("POST", "https://api.vercel.com/v13/deployments", '{"name": "site"}', {}),
        ("PUT", "https://assets.s3.amazonaws.com/img/a.png", "bytes", {}),
        ("POST", "https://10.0.0.1:6443/api/v1/namespaces/shop/configmaps", "{}", {}),
        ("DELETE", "https://10.0.0.1:6443/api/v1/namespaces/shop?dryRun=All", "", {}),
        ("GET", "https://ec2.amazonaws.com/?Action=DescribeInstances", "", {}),
        ("POST", "https://dynamodb.us-east-1.amazonaws.com/", '{"TableName": "t"}', {"X-Amz-Target": "DynamoDB_20120810.Query"}),
    ],
)  # fmt: skip
def test_provider_lookalikes(method: str, url: str, body: str, headers: dict[str, str]) -> None:
    assert ops(method, url, body, headers) == []


@pytest.mark.parametrize(
    ("method", "url", "body", "headers"),
    [
        ("DELETE", "https://api.github.com/repos/acme/app/hooks/1", "", {}),
        ("POST", "https://api.heroku.com/apps/shop/actions/destroy", "", {}),
        ("POST", "https://api.digitalocean.com/v2/droplets/actions", '{"action": "destroy"}', {}),
        ("POST", "https://lambda.us-east-1.amazonaws.com/", "Action=PurgeEverything", {}),
        ("DELETE", "https://api.stripe.com/v1/customers/cus_1", "", {}),
    ],
)
def test_writes_the_catalog_does_not_know_are_ask(
    method: str, url: str, body: str, headers: dict[str, str]
) -> None:
    found = analyze(method, url, headers, body, SCOPE)
    assert [f.rule for f in found] == ["http.provider_unknown"]
    assert verdict(method, url, body, headers) is Verdict.ASK


def test_unknown_write_in_production_is_placed_by_its_path() -> None:
    found = analyze("DELETE", "https://api.heroku.com/apps/shop-prod/domains/x", {}, "", SCOPE)
    assert [f.environment for f in found] == ["production"]


# -- credentials --------------------------------------------------------------------------------

GH_TOKEN = "ghp_" + "a1B2" * 9


@pytest.mark.parametrize(
    ("url", "headers", "body"),
    [
        ("https://example.com/collect", {"Authorization": f"token {GH_TOKEN}"}, ""),
        ("https://example.com/collect", {}, json.dumps({"t": GH_TOKEN})),
        (f"https://example.com/collect?t={GH_TOKEN}", {}, ""),
        ("https://example.com/collect", {}, "k=" + quote(GH_TOKEN)),
        ("https://paste.example.org/", {}, "AKIA" + "ABCDEFGHIJKLMNOP"),
        ("https://api.github.com.evil.test/x", {"Authorization": f"Bearer {GH_TOKEN}"}, ""),
        (
            "https://example.com/x",
            {"Project-Access-Token": "6a2d1c3e-0000-4000-8000-000000000000"},
            "",
        ),
    ],
)
def test_credentials_to_a_foreign_host_are_denied(
    url: str, headers: dict[str, str], body: str
) -> None:
    found = analyze("POST", url, headers, body, SCOPE)
    leaks = [f for f in found if f.operation == "secret.exfiltrate"]
    assert leaks and leaks[0].verdict is Verdict.DENY
    for f in found:
        assert GH_TOKEN not in f.summary and GH_TOKEN not in f.evidence
        assert "6a2d1c3e" not in f.summary
    assert verdict("GET", url, body, headers) is Verdict.DENY


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("https://api.github.com/user", {"Authorization": f"token {GH_TOKEN}"}),
        ("https://github.com/acme/app.git/info/refs", {"Authorization": f"Basic {GH_TOKEN}"}),
        ("https://objects.githubusercontent.com/x", {"Authorization": f"token {GH_TOKEN}"}),
        ("https://backboard.railway.app/graphql/v2", {"Project-Access-Token": "6a2d1c3e"}),
        ("https://example.com/api", {"Authorization": "Bearer some-opaque-session-value"}),
    ],
)
def test_credentials_to_their_own_provider_pass(url: str, headers: dict[str, str]) -> None:
    assert ops("GET", url, "", headers) == []


def test_private_key_in_a_body_is_ask() -> None:
    body = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"
    (f,) = analyze("POST", "https://example.com/upload", {}, body, SCOPE)
    assert f.rule == "http.private_key" and f.floor is Verdict.ASK and "abc" not in f.summary


# -- misc ---------------------------------------------------------------------------------------


def test_environment_from_configured_host() -> None:
    policy = Policy(project_root="/srv/app", hosts={"production": ("api.example.com",)})
    scope = Scope(policy=policy, cwd="/srv/app", environment="staging")
    (f,) = analyze("DELETE", "https://api.example.com/items/1", {}, "", scope)
    assert f.environment == "production"


def test_unreadable_url_is_ask() -> None:
    (f,) = analyze("POST", "not a url", {}, "", SCOPE)
    assert f.operation == "http.unparsed" and f.floor is Verdict.ASK


def test_provider_of() -> None:
    assert provider_of("backboard.railway.com") == "Railway"
    assert provider_of("s3.us-east-1.amazonaws.com") == "AWS"
    assert provider_of("abc.gr7.us-west-2.eks.amazonaws.com") == "Kubernetes"
    assert provider_of("k8s.internal", 6443) == "Kubernetes"
    assert provider_of("example.com") is None


def test_graphql_core_is_not_imported_without_graphql() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from interlock.analyzers import Scope; from interlock.config import Policy;"
        "from interlock.analyzers.http import analyze;"
        "s = Scope(policy=Policy(project_root='/srv'), cwd=None, environment=None);"
        "analyze('DELETE', 'https://api.github.com/repos/a/b', {}, '', s);"
        "analyze('POST', 'https://api.example.com/x', {}, '{\"a\": 1}', s);"
        "print('graphql' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
