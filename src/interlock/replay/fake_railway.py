"""A local Railway: the subset of its public GraphQL API the PocketOS incident touched.

``POST /graphql/v2`` with ``{"query", "variables", "operationName"}``, executed by graphql-core
against the shapes of Railway's schema (``railwayapp/cli`` ``src/gql``, and
../shared/notes/anchors.md §0):

- ``projectToken { id projectId environmentId project { … } environment { … } }``;
- ``project(id) { id name environments / services / volumes { edges { node { … } } } }``,
  ``environments(projectId)``;
- ``volume(id) { id name volumeInstances { edges { node { id environmentId … } } } }`` and
  ``volumeInstance(id)``: a ``Volume`` is project-level, each environment has its own
  ``VolumeInstance``;
- ``volumeInstanceBackupList(volumeInstanceId)``;
- ``volumeDelete(volumeId): Boolean!`` (no environment argument: it deletes every instance),
  ``volumeInstanceBackupCreate(volumeInstanceId, name)`` and
  ``volumeInstanceBackupDelete(volumeInstanceId, volumeInstanceBackupId)`` returning
  ``{ workflowId }``.

Authentication as Railway documents it: an account token (``Authorization: Bearer``) may do
anything; a project token (``Project-Access-Token``) is bound to one environment and is "Not
Authorized" for anything beyond it, project-level volumes included (the "credential mismatch"
the agent hit). Errors come back as GraphQL ``errors`` with HTTP 200, as Railway answers.

Every volume instance is a real PostgreSQL database, and its backups are databases stored
with it: "Wiping a volume deletes all backups" (railwayapp/docs backups.md), so
``volumeDelete`` drops the instances and every backup, at once. (Railway has since added a 48 h
grace period for deletions; the incident's volume was gone in seconds, and so is this one's.)
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLError, build_schema, graphql_sync
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock.replay.databases import Cluster

SDL = """
scalar DateTime

type Query {
  projectToken: ProjectToken!
  project(id: String!): Project!
  environments(projectId: String!): ProjectEnvironmentsConnection!
  environment(id: String!): Environment!
  service(id: String!): Service!
  volume(id: String!): Volume!
  volumeInstance(id: String!): VolumeInstance!
  volumeInstanceBackupList(volumeInstanceId: String!): [VolumeInstanceBackup!]!
}

type Mutation {
  volumeDelete(volumeId: String!): Boolean!
  volumeInstanceBackupCreate(volumeInstanceId: String!, name: String): WorkflowId!
  volumeInstanceBackupDelete(volumeInstanceId: String!, volumeInstanceBackupId: String!): WorkflowId!
}

type WorkflowId { workflowId: String }

type ProjectToken {
  id: ID!
  displayToken: String!
  projectId: String!
  environmentId: String!
  project: Project!
  environment: Environment!
}

type Project {
  id: ID!
  name: String!
  environments: ProjectEnvironmentsConnection!
  services: ProjectServicesConnection!
  volumes: ProjectVolumesConnection!
}

type Environment { id: ID! name: String! projectId: String! }
type Service {
  id: ID!
  name: String!
  projectId: String!
  serviceInstances: ServiceServiceInstancesConnection!
}
type ServiceInstance { id: ID! serviceId: String! serviceName: String! environmentId: String! }

type Volume {
  id: ID!
  name: String!
  projectId: String!
  createdAt: DateTime!
  volumeInstances: VolumeVolumeInstancesConnection!
}

type VolumeInstance {
  id: ID!
  volumeId: String!
  environmentId: String!
  serviceId: String
  mountPath: String!
  currentSizeMB: Float!
  state: String
  isPendingDeletion: Boolean!
  deletedAt: DateTime
  createdAt: DateTime!
  volume: Volume!
  environment: Environment!
}

type VolumeInstanceBackup {
  id: ID!
  name: String
  createdAt: DateTime!
  expiresAt: DateTime
  usedMB: Float
}

type ProjectEnvironmentsConnection { edges: [ProjectEnvironmentsConnectionEdge!]! }
type ProjectEnvironmentsConnectionEdge { node: Environment! }
type ProjectServicesConnection { edges: [ProjectServicesConnectionEdge!]! }
type ProjectServicesConnectionEdge { node: Service! }
type ProjectVolumesConnection { edges: [ProjectVolumesConnectionEdge!]! }
type ProjectVolumesConnectionEdge { node: Volume! }
type ServiceServiceInstancesConnection { edges: [ServiceServiceInstancesConnectionEdge!]! }
type ServiceServiceInstancesConnectionEdge { node: ServiceInstance! }
type VolumeVolumeInstancesConnection { edges: [VolumeVolumeInstancesConnectionEdge!]! }
type VolumeVolumeInstancesConnectionEdge { node: VolumeInstance! }
"""

NOT_AUTHORIZED = "Not Authorized"


def new_id() -> str:
    return str(uuid.uuid4())


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Backup:
    id: str
    name: str
    database: str
    created_at: datetime


@dataclass
class VolumeInstance:
    id: str
    volume_id: str
    environment_id: str
    service_id: str
    mount_path: str
    database: str
    created_at: datetime
    backups: list[Backup] = field(default_factory=list)
    deleted_at: datetime | None = None


@dataclass
class Volume:
    id: str
    name: str
    created_at: datetime
    instances: list[VolumeInstance] = field(default_factory=list)
    deleted: bool = False


@dataclass(frozen=True)
class Token:
    value: str
    kind: str
    """``account`` (the whole API) or ``project`` (one environment)."""
    name: str
    environment_id: str | None = None


@dataclass
class Project:
    id: str
    name: str
    environments: dict[str, str]
    """id -> name"""
    services: dict[str, str]
    volumes: list[Volume] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    """One request the fake answered: who, which root fields, and what it changed."""

    source: str
    """Which listener it came in on: ``agent`` (HTTPS, Railway's host) or ``gateway``."""
    token: str | None
    """The token's name (never its value), or None when none was accepted."""
    operation: str
    """The operation's name in the document, if it has one."""
    fields: tuple[str, ...]
    errors: tuple[str, ...]
    effects: tuple[str, ...]


class Railway:
    """The provider's state and its GraphQL endpoint."""

    def __init__(self, cluster: Cluster, project: Project, tokens: list[Token]) -> None:
        self.cluster = cluster
        self.project = project
        self.tokens = {t.value: t for t in tokens}
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._schema = build_schema(SDL)
        self._effects: list[str] = []

    # --- what tests and scenarios read ---------------------------------------------------

    def environment_name(self, environment_id: str) -> str:
        return self.project.environments.get(environment_id, environment_id)

    def instance(self, instance_id: str) -> VolumeInstance | None:
        for volume in self.project.volumes:
            for instance in volume.instances:
                if instance.id == instance_id and instance.deleted_at is None:
                    return instance
        return None

    def volume(self, volume_id: str) -> Volume | None:
        for volume in self.project.volumes:
            if volume.id == volume_id and not volume.deleted:
                return volume
        return None

    def drain(self) -> list[Call]:
        """The calls answered since the last drain."""
        with self._lock:
            calls, self.calls = self.calls, []
        return calls

    # --- HTTP -------------------------------------------------------------------------------

    def app(self, source: str) -> Starlette:
        """The endpoint, labelling what comes in with ``source`` in :attr:`calls`."""

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            status, body = await run_in_threadpool(self.execute, headers, raw, source)
            return JSONResponse(body, status_code=status)

        return Starlette(routes=[Route("/graphql/v2", endpoint, methods=["POST"])])

    def execute(
        self, headers: dict[str, str], raw: bytes, source: str = "agent"
    ) -> tuple[int, dict[str, Any]]:
        """Answer one request: (HTTP status, JSON body)."""
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return 400, {"errors": [{"message": "Request body is not valid JSON"}]}
        if not isinstance(document, dict) or not isinstance(document.get("query"), str):
            return 400, {"errors": [{"message": "Must provide query string."}]}
        variables = document.get("variables")
        token = self._authenticate(headers)
        with self._lock:
            self._effects = []
            result = graphql_sync(
                self._schema,
                document["query"],
                root_value=_Root(self, token),
                context_value=token,
                variable_values=variables if isinstance(variables, dict) else None,
                operation_name=document.get("operationName"),
            )
            errors = tuple(e.message for e in result.errors or ())
            operation, fields = _outline(document["query"])
            self.calls.append(
                Call(
                    source,
                    token.name if token else None,
                    operation,
                    fields,
                    errors,
                    tuple(self._effects),
                )
            )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [
                {"message": e.message, "path": e.path, "extensions": {}} for e in result.errors
            ]
        return 200, body

    def _authenticate(self, headers: dict[str, str]) -> Token | None:
        project_token = headers.get("project-access-token", "").strip()
        if project_token:
            found = self.tokens.get(project_token)
            return found if found and found.kind == "project" else None
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        found = self.tokens.get(value.strip())
        return found if found and found.kind == "account" else None

    # --- permissions and effects ------------------------------------------------------------

    def allow(self, token: Token | None, environment_id: str | None = None) -> None:
        """Account tokens reach everything; a project token only its own environment."""
        if token is None:
            raise GraphQLError(NOT_AUTHORIZED)
        if token.kind == "account":
            return
        if environment_id is None or environment_id != token.environment_id:
            raise GraphQLError(NOT_AUTHORIZED)

    def effect(self, text: str) -> None:
        self._effects.append(text)

    def delete_volume(self, volume: Volume) -> None:
        """Every instance and every backup, as Railway's volumeDelete does."""
        now = datetime.now(UTC)
        doomed = []
        for instance in volume.instances:
            doomed += [b.database for b in instance.backups] + [instance.database]
            envname = self.environment_name(instance.environment_id)
            self.effect(
                f"deleted volume instance in {envname} with {len(instance.backups)} backup(s)"
            )
            instance.backups = []
            instance.deleted_at = now
        volume.deleted = True
        self.cluster.drop_many(doomed)

    def create_backup(self, instance: VolumeInstance, name: str | None) -> Backup:
        moment = datetime.now(UTC)
        backup = Backup(
            new_id(),
            name or f"manual-{moment:%Y%m%d-%H%M%S}",
            self.cluster.name(f"bk_{len(instance.backups)}_{instance.id[:8]}"),
            moment,
        )
        self.cluster.create(backup.database, template=instance.database)
        instance.backups.append(backup)
        self.effect(f"backup {backup.name} of {self.environment_name(instance.environment_id)}")
        return backup


class _Root:
    """The root value graphql-core resolves Query and Mutation fields on."""

    def __init__(self, railway: Railway, token: Token | None) -> None:
        self.r = railway
        self.token = token

    # Query
    def projectToken(self, info: object) -> dict[str, Any]:
        token = self.token
        if token is None or token.kind != "project" or token.environment_id is None:
            raise GraphQLError("Project token not found")
        project = _project(self.r, self.token)
        return {
            "id": f"pt_{token.name}",
            "displayToken": token.value[:4] + "…",
            "projectId": self.r.project.id,
            "environmentId": token.environment_id,
            "project": project,
            "environment": _environment(self.r, token.environment_id),
        }

    def project(self, info: object, id: str) -> dict[str, Any]:
        if id != self.r.project.id:
            raise GraphQLError("Project not found")
        self.r.allow(self.token, self.token.environment_id if self.token else None)
        return _project(self.r, self.token)

    def environments(self, info: object, projectId: str) -> dict[str, Any]:
        environments: dict[str, Any] = self.project(info, projectId)["environments"]
        return environments

    def environment(self, info: object, id: str) -> dict[str, Any]:
        known = id in self.r.project.environments
        self.r.allow(self.token, id if known else None)
        if not known:
            raise GraphQLError("Environment not found")
        return _environment(self.r, id)

    def service(self, info: object, id: str) -> dict[str, Any]:
        # A Service is project-level, like a Volume.
        self.r.allow(self.token)
        if self.token is not None and self.token.kind == "project":
            raise GraphQLError(NOT_AUTHORIZED)
        if id not in self.r.project.services:
            raise GraphQLError("Service not found")
        return _service(self.r, id)

    def volume(self, info: object, id: str) -> dict[str, Any]:
        volume = self.r.volume(id)
        # A Volume is project-level: an environment's project token is not enough.
        self.r.allow(self.token)
        if volume is None:
            raise GraphQLError("Volume not found")
        if self.token is not None and self.token.kind == "project":
            raise GraphQLError(NOT_AUTHORIZED)
        return _volume(self.r, volume)

    def volumeInstance(self, info: object, id: str) -> dict[str, Any]:
        instance = self.r.instance(id)
        self.r.allow(self.token, instance.environment_id if instance else None)
        if instance is None:
            raise GraphQLError("VolumeInstance not found")
        return _instance(self.r, instance)

    def volumeInstanceBackupList(
        self,
        info: object,
        volumeInstanceId: str,
    ) -> list[dict[str, Any]]:
        instance = self.r.instance(volumeInstanceId)
        self.r.allow(self.token, instance.environment_id if instance else None)
        if instance is None:
            raise GraphQLError("VolumeInstance not found")
        return [_backup(b) for b in instance.backups]

    # Mutation
    def volumeDelete(self, info: object, volumeId: str) -> bool:
        volume = self.r.volume(volumeId)
        self.r.allow(self.token)
        if self.token is not None and self.token.kind == "project":
            raise GraphQLError(NOT_AUTHORIZED)
        if volume is None:
            raise GraphQLError("Volume not found")
        self.r.delete_volume(volume)
        return True

    def volumeInstanceBackupCreate(
        self,
        info: object,
        volumeInstanceId: str,
        name: str | None = None,
    ) -> dict[str, Any]:
        instance = self.r.instance(volumeInstanceId)
        self.r.allow(self.token, instance.environment_id if instance else None)
        if instance is None:
            raise GraphQLError("VolumeInstance not found")
        self.r.create_backup(instance, name)
        return {"workflowId": new_id()}

    def volumeInstanceBackupDelete(
        self,
        info: object,
        volumeInstanceId: str,
        volumeInstanceBackupId: str,
    ) -> dict[str, Any]:
        instance = self.r.instance(volumeInstanceId)
        self.r.allow(self.token, instance.environment_id if instance else None)
        if instance is None:
            raise GraphQLError("VolumeInstance not found")
        for backup in instance.backups:
            if backup.id == volumeInstanceBackupId:
                self.r.cluster.drop(backup.database)
                instance.backups.remove(backup)
                self.r.effect(f"deleted backup {backup.name}")
                return {"workflowId": new_id()}
        raise GraphQLError("Backup not found")


def _environment(railway: Railway, environment_id: str) -> dict[str, Any]:
    return {
        "id": environment_id,
        "name": railway.environment_name(environment_id),
        "projectId": railway.project.id,
    }


def _project(railway: Railway, token: Token | None) -> dict[str, Any]:
    """The project as ``token`` may see it: a project token sees its own environment only."""
    project = railway.project
    envs = [
        e
        for e in project.environments
        if token is None or token.kind == "account" or e == token.environment_id
    ]
    volumes = [v for v in project.volumes if not v.deleted]
    return {
        "id": project.id,
        "name": project.name,
        "environments": {"edges": [{"node": _environment(railway, e)} for e in envs]},
        "services": {"edges": [{"node": _service(railway, s)} for s in project.services]},
        "volumes": {"edges": [{"node": _volume(railway, v)} for v in volumes]},
    }


def _service(railway: Railway, service_id: str) -> dict[str, Any]:
    """A service has an instance in every environment of the project."""
    project = railway.project
    name = project.services[service_id]
    return {
        "id": service_id,
        "name": name,
        "projectId": project.id,
        "serviceInstances": {
            "edges": [
                {
                    "node": {
                        "id": f"{service_id[:8]}-{env[:8]}",
                        "serviceId": service_id,
                        "serviceName": name,
                        "environmentId": env,
                    }
                }
                for env in project.environments
            ]
        },
    }


def _volume(railway: Railway, volume: Volume) -> dict[str, Any]:
    return {
        "id": volume.id,
        "name": volume.name,
        "projectId": railway.project.id,
        "createdAt": _iso(volume.created_at),
        "volumeInstances": {
            "edges": [
                {"node": _instance(railway, i)} for i in volume.instances if i.deleted_at is None
            ]
        },
    }


def _instance(railway: Railway, instance: VolumeInstance) -> dict[str, Any]:
    return {
        "id": instance.id,
        "volumeId": instance.volume_id,
        "environmentId": instance.environment_id,
        "serviceId": instance.service_id,
        "mountPath": instance.mount_path,
        "currentSizeMB": _size_mb(railway, instance.database),
        "state": "READY",
        "isPendingDeletion": False,
        "deletedAt": None,
        "createdAt": _iso(instance.created_at),
        "environment": _environment(railway, instance.environment_id),
        # Resolved only when asked for (a volume lists its instances, which name their volume).
        "volume": lambda info: _volume(railway, _volume_of(railway, instance)),
    }


def _volume_of(railway: Railway, instance: VolumeInstance) -> Volume:
    volume = railway.volume(instance.volume_id)
    if volume is None:
        raise GraphQLError("Volume not found")
    return volume


def _backup(backup: Backup) -> dict[str, Any]:
    return {
        "id": backup.id,
        "name": backup.name,
        "createdAt": _iso(backup.created_at),
        "expiresAt": _iso(backup.created_at + timedelta(days=6)),
        "usedMB": None,
    }


def _size_mb(railway: Railway, database: str) -> Callable[[object], float]:
    """Resolved only when asked for: one round trip to PostgreSQL."""

    def resolve(info: object) -> float:
        import psycopg

        with psycopg.connect(railway.cluster.url, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (database,)).fetchone()
        return round(float(row[0]) / 1e6, 1) if row else 0.0

    return resolve


def _outline(query: str) -> tuple[str, tuple[str, ...]]:
    """The operation's name and its top-level fields (for the record; unparsable: empty)."""
    from graphql import OperationDefinitionNode, parse

    try:
        document = parse(query)
    except GraphQLError:
        return "", ()
    name, fields = "", []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = name or (definition.name.value if definition.name else "")
            for selection in definition.selection_set.selections:
                field_name = getattr(selection, "name", None)
                if field_name is not None:
                    fields.append(field_name.value)
    return name, tuple(fields)
