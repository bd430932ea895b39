"""HTTP and GraphQL analysis, with the request shapes agents really send."""

from __future__ import annotations

import json

import pytest

from interlock.analyzers import Scope
from interlock.analyzers.http import analyze, provider_of
from interlock.config import Policy
from interlock.decisions import Verdict

SCOPE = Scope(policy=Policy(project_root="/srv/app"), cwd="/srv/app", environment="staging")
RAILWAY = "https://backboard.railway.app/graphql/v2"
JSON = {"Content-Type": "application/json", "Authorization": "Bearer redacted"}


def ops(method: str, url: str, body: str = "", headers: dict[str, str] | None = None) -> list[str]:
    return [f.operation for f in analyze(method, url, headers or {}, body, SCOPE)]


def gql(query: str, **extra: object) -> str:
    return json.dumps({"query": query, **extra})


def test_pocketos_volume_delete() -> None:
    # The request from the PocketOS incident (April 2026), as curl sent it.
    body = gql('mutation { volumeDelete(volumeId: "3d1f5c2e-prod") }')
    (f,) = analyze("POST", RAILWAY, JSON, body, SCOPE)
    assert f.operation == "http.graphql_mutation" and f.verdict is Verdict.ASK
    assert "Railway's volumeDelete" in f.summary and "backups" in f.summary
    assert f.targets == ("3d1f5c2e-prod",) and f.reversible is False


@pytest.mark.parametrize(
    "body",
    [
        gql('mutation Harmless { keep: volumeDelete(volumeId: "v") }', operationName="Harmless"),
        gql("mutation M($id: String!) { volumeDelete(volumeId: $id) }", variables={"id": "v"}),
        json.dumps(
            [{"query": "query { me { id } }"}, {"query": 'mutation { projectDelete(id: "p") }'}]
        ),
        gql('query A { me { id } } mutation B { serviceDelete(id: "s") }', operationName="A"),
        gql('mutation { ...Kill } fragment Kill on Mutation { volumeDelete(volumeId: "v") }'),
        gql('mutation { ... on Mutation { environmentDelete(id: "e") } }'),
        gql('mutation { volumeInstanceBackupRestore(volumeInstanceBackupId: "b") }'),
        gql('mutation { projectScheduleDeleteForce(id: "p") }'),
        'mutation { deleteRepository(input: {repositoryId: "R_1"}) { clientMutationId } }',
        gql('mutation {\n  # a comment\n  user: purgeCache(zone: "z") { ok }\n}'),
    ],
)
def test_destructive_mutations(body: str) -> None:
    assert "http.graphql_mutation" in ops("POST", RAILWAY, body, JSON)


def test_variables_resolve_targets() -> None:
    body = gql(
        "mutation M($id: String!) { volumeDelete(volumeId: $id) }", variables={"id": "vol-9"}
    )
    (f,) = analyze("POST", RAILWAY, JSON, body, SCOPE)
    assert f.targets == ("vol-9",)


@pytest.mark.parametrize(
    "body",
    [
        gql('query deleteThing { volume(id: "x") { name } }'),
        gql("query { deleteRequests { id } }"),
        gql('mutation { volumeCreate(input: {projectId: "p"}) { id } }'),
        gql('mutation { variableUpsert(input: {name: "note", value: "volumeDelete later"}) }'),
        gql('mutation {\n  # volumeDelete(volumeId: "x")\n  serviceUpdate(id: "s") { id }\n}'),
        gql('{ project(id: "p") { volumes { edges { node { id } } } } }'),
        '{"name": "deleteme", "size": 3}',
    ],
)
def test_lookalikes_allowed(body: str) -> None:
    assert ops("POST", RAILWAY, body, JSON) == []


def test_graphql_in_query_string() -> None:
    url = "https://api.example.com/graphql?query=mutation%7BdropDatabase%28name%3A%22x%22%29%7D"
    assert ops("POST", url) == ["http.graphql_mutation"]


def test_broken_graphql_is_ask() -> None:
    found = analyze("POST", RAILWAY, JSON, gql('mutation { volumeDelete(volumeId: "x) }'), SCOPE)
    assert [f.operation for f in found] == ["http.unparsed"] and found[0].floor is Verdict.ASK
    found = analyze("POST", RAILWAY, JSON, '{"query": "mutation { volumeDelete', SCOPE)
    assert [f.floor for f in found] == [Verdict.ASK]


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "get"])
def test_reads_are_silent(method: str) -> None:
    assert ops(method, "https://api.github.com/repos/acme/app") == []


def test_delete_is_ask_with_path_target() -> None:
    (f,) = analyze("DELETE", "https://api.github.com/repos/acme/app", {}, "", SCOPE)
    assert f.operation == "http.delete" and f.targets == ("/repos/acme/app",)
    assert "GitHub" in f.summary


def test_kubernetes_delete() -> None:
    url = "https://10.0.0.1:6443/api/v1/namespaces/prod/persistentvolumeclaims/data"
    assert ops("DELETE", url) == ["http.delete"]


@pytest.mark.parametrize(
    ("url", "body", "headers"),
    [
        (
            "https://rds.us-east-1.amazonaws.com/",
            "Action=DeleteDBInstance&DBInstanceIdentifier=prod-db&SkipFinalSnapshot=true&Version=2014-10-31",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        ("https://ec2.amazonaws.com/?Action=TerminateInstances&InstanceId.1=i-0abc", "", {}),
        (
            "https://dynamodb.eu-west-1.amazonaws.com/",
            '{"TableName": "orders"}',
            {"X-Amz-Target": "DynamoDB_20120810.DeleteTable"},
        ),
        ("https://api.heroku.com/apps/shop/actions/destroy", "", {}),
        ("https://api.digitalocean.com/v2/droplets/actions", '{"action": "destroy"}', {}),
    ],
)
def test_provider_actions(url: str, body: str, headers: dict[str, str]) -> None:
    found = analyze("POST", url, headers, body, SCOPE)
    assert found and found[0].rule == "http.provider_action" and found[0].verdict is Verdict.ASK


def test_rds_delete_says_backups_go() -> None:
    body = "Action=DeleteDBInstance&DBInstanceIdentifier=prod-db&SkipFinalSnapshot=true"
    (f,) = analyze("POST", "https://rds.us-east-1.amazonaws.com/", {}, body, SCOPE)
    assert "no final snapshot" in f.summary and "automated backups" in f.summary


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("https://rds.us-east-1.amazonaws.com/", "Action=DescribeDBInstances&Version=2014-10-31"),
        ("https://api.github.com/repos/acme/app/issues", '{"title": "Delete old branches"}'),
        ("https://example.com/api/DeleteUser", "x=1"),  # not a known provider: issue 3 widens this
        ("https://api.vercel.com/v13/deployments", '{"name": "site"}'),
    ],
)
def test_provider_lookalikes(url: str, body: str) -> None:
    assert ops("POST", url, body) == []


def test_environment_from_configured_host() -> None:
    policy = Policy(project_root="/srv/app", hosts={"production": ("backboard.railway.app",)})
    scope = Scope(policy=policy, cwd="/srv/app", environment="staging")
    (f,) = analyze("POST", RAILWAY, JSON, gql('mutation { volumeDelete(volumeId: "v") }'), scope)
    assert f.environment == "production"


def test_environment_defaults_to_scope() -> None:
    (f,) = analyze("DELETE", "https://api.example.com/items/1", {}, "", SCOPE)
    assert f.environment == "staging"


def test_unreadable_url_is_ask() -> None:
    (f,) = analyze("POST", "not a url", {}, "", SCOPE)
    assert f.operation == "http.unparsed" and f.floor is Verdict.ASK


def test_provider_of() -> None:
    assert provider_of("backboard.railway.com") == "Railway"
    assert provider_of("s3.us-east-1.amazonaws.com") == "AWS"
    assert provider_of("k8s.internal", 6443) == "Kubernetes"
    assert provider_of("example.com") is None
