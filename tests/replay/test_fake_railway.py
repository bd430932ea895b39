"""The fake Railway answers as Railway does, and its volumes are real databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from interlock.replay import servers
from interlock.replay.databases import Cluster, fill_rentals
from interlock.replay.fake_railway import (
    NOT_AUTHORIZED,
    Project,
    Railway,
    Token,
    Volume,
    VolumeInstance,
    new_id,
)

ACCOUNT = "a" * 36
STAGING = "s" * 36


@pytest.fixture
def railway(cluster: Cluster) -> Railway:
    now = datetime.now(UTC)
    production, staging, service = new_id(), new_id(), new_id()
    volume = Volume(new_id(), "postgres-volume", now)
    for env, short in ((production, "prod"), (staging, "staging")):
        cluster.create(cluster.name(short))
        fill_rentals(cluster, cluster.name(short), 20, 1)
        volume.instances.append(
            VolumeInstance(new_id(), volume.id, env, service, "/data", cluster.name(short), now)
        )
    project = Project(
        new_id(), "pocketos", {production: "production", staging: "staging"}, {service: "pg"}
    )
    project.volumes.append(volume)
    found = Railway(
        cluster,
        project,
        [Token(ACCOUNT, "account", "acct"), Token(STAGING, "project", "stg", staging)],
    )
    found.create_backup(volume.instances[0], "daily")
    return found


def ask(railway: Railway, query: str, **headers: str) -> dict[str, Any]:
    status, body = railway.execute(
        {k.lower().replace("_", "-"): v for k, v in headers.items()},
        json.dumps({"query": query}).encode(),
    )
    assert status == 200
    return body


def volume_of(railway: Railway) -> Volume:
    return railway.project.volumes[0]


def test_project_token_sees_its_environment_and_not_the_volume(railway: Railway) -> None:
    body = ask(
        railway, "query { projectToken { environment { name } } }", project_access_token=STAGING
    )
    assert body["data"]["projectToken"]["environment"]["name"] == "staging"
    volume = volume_of(railway)
    body = ask(
        railway, f'query {{ volume(id: "{volume.id}") {{ name }} }}', project_access_token=STAGING
    )
    assert body["errors"][0]["message"] == NOT_AUTHORIZED
    # A project token is sent as Project-Access-Token, never as a bearer token.
    body = ask(
        railway,
        f'query {{ volume(id: "{volume.id}") {{ name }} }}',
        authorization=f"Bearer {STAGING}",
    )
    assert body["errors"][0]["message"] == NOT_AUTHORIZED


def test_volume_instances_name_their_environments(railway: Railway) -> None:
    volume = volume_of(railway)
    body = ask(
        railway,
        f'query {{ volume(id: "{volume.id}") {{ volumeInstances {{ edges {{ node '
        "{ environmentId environment { name } currentSizeMB } } } } }",
        authorization=f"Bearer {ACCOUNT}",
    )
    nodes = [e["node"] for e in body["data"]["volume"]["volumeInstances"]["edges"]]
    assert sorted(n["environment"]["name"] for n in nodes) == ["production", "staging"]
    assert all(n["currentSizeMB"] > 1 for n in nodes)


def test_unknown_token_is_not_authorized_and_changes_nothing(railway: Railway) -> None:
    volume = volume_of(railway)
    body = ask(
        railway,
        f'mutation {{ volumeDelete(volumeId: "{volume.id}") }}',
        authorization="Bearer nope",
    )
    assert body["errors"][0]["message"] == NOT_AUTHORIZED
    assert all(railway.cluster.exists(i.database) for i in volume.instances)


def test_volume_delete_drops_every_instance_and_backup(railway: Railway) -> None:
    volume = volume_of(railway)
    doomed = [i.database for i in volume.instances] + [
        b.database for i in volume.instances for b in i.backups
    ]
    assert len(doomed) == 3 and all(railway.cluster.exists(d) for d in doomed)
    body = ask(
        railway,
        f'mutation {{ volumeDelete(volumeId: "{volume.id}") }}',
        authorization=f"Bearer {ACCOUNT}",
    )
    assert body == {"data": {"volumeDelete": True}}
    assert not any(railway.cluster.exists(d) for d in doomed)
    body = ask(
        railway,
        f'query {{ volume(id: "{volume.id}") {{ name }} }}',
        authorization=f"Bearer {ACCOUNT}",
    )
    assert body["errors"][0]["message"] == "Volume not found"


def test_backups_are_copies_kept_in_the_volume(railway: Railway) -> None:
    instance = volume_of(railway).instances[1]
    body = ask(
        railway,
        f'mutation {{ volumeInstanceBackupCreate(volumeInstanceId: "{instance.id}", name: "pre") '
        "{ workflowId } }",
        project_access_token=STAGING,
    )
    assert body["data"]["volumeInstanceBackupCreate"]["workflowId"]
    backup = instance.backups[-1]
    assert railway.cluster.contents(backup.database) == railway.cluster.contents(instance.database)
    listed = ask(
        railway,
        f'query {{ volumeInstanceBackupList(volumeInstanceId: "{instance.id}") {{ id name }} }}',
        project_access_token=STAGING,
    )
    assert listed["data"]["volumeInstanceBackupList"] == [{"id": backup.id, "name": "pre"}]
    ask(
        railway,
        f'mutation {{ volumeInstanceBackupDelete(volumeInstanceId: "{instance.id}", '
        f'volumeInstanceBackupId: "{backup.id}") {{ workflowId }} }}',
        project_access_token=STAGING,
    )
    assert not railway.cluster.exists(backup.database)


def test_served_over_http_with_railway_error_shape(railway: Railway) -> None:
    running = servers.serve(railway.app("agent"))
    try:
        reply = httpx.post(f"{running.url}/graphql/v2", content=b"not json")
        assert reply.status_code == 400
        reply = httpx.post(
            f"{running.url}/graphql/v2",
            json={"query": "query { projectToken { id } }"},
            headers={"Authorization": f"Bearer {ACCOUNT}"},
        )
        assert reply.status_code == 200
        assert reply.json()["errors"][0]["message"] == "Project token not found"
    finally:
        running.stop()
    calls = railway.drain()
    assert [c.fields for c in calls] == [("projectToken",)]
    assert calls[0].token == "acct" and ACCOUNT not in repr(calls)
