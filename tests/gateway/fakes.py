"""Local stand-ins for the providers behind the gateway, each a real server on 127.0.0.1.

- :func:`railway_app`: Railway's public GraphQL API (``POST /graphql/v2``), the subset the
  gateway and the PocketOS incident use, executed by graphql-core against the schema's own
  shapes (``volume(id) { volumeInstances { edges { node { environmentId } } } }``, …). A query
  that does not fit the schema fails as it would at Railway. It wants the broker's credential
  (``Authorization: Bearer …``) and records every request.
- :func:`upstream_app`: a generic HTTP API: ``/echo`` (answers with what it received),
  ``/reflect`` (echoes the Authorization header in a header and the body, as careless debug
  endpoints do), ``/stream`` (a reply in timed chunks).

:class:`Running` serves either with uvicorn in a thread on an already-bound socket.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from graphql import build_schema, graphql_sync
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

RAILWAY_SDL = """
type Query {
  volume(id: String!): Volume
  volumeInstance(id: String!): VolumeInstance
  service(id: String!): Service
  deployment(id: String!): Deployment
  environment(id: String!): Environment
  project(id: String!): Project
  variables(projectId: String!, environmentId: String!, serviceId: String): String
}
type Mutation {
  volumeDelete(volumeId: String!): Boolean!
  serviceDelete(id: String!): Boolean!
  variableUpsert(input: VariableUpsertInput!): Boolean!
}
input VariableUpsertInput {
  projectId: String!
  environmentId: String!
  serviceId: String
  name: String!
  value: String!
}
type Volume { id: String! name: String! projectId: String!
  volumeInstances: VolumeVolumeInstancesConnection! }
type VolumeVolumeInstancesConnection { edges: [VolumeVolumeInstancesConnectionEdge!]! }
type VolumeVolumeInstancesConnectionEdge { node: VolumeInstance! }
type VolumeInstance { id: String! environmentId: String! volumeId: String! mountPath: String! }
type Service { id: String! name: String! projectId: String!
  serviceInstances: ServiceServiceInstancesConnection! }
type ServiceServiceInstancesConnection { edges: [ServiceServiceInstancesConnectionEdge!]! }
type ServiceServiceInstancesConnectionEdge { node: ServiceInstance! }
type ServiceInstance { id: String! environmentId: String! serviceId: String! }
type Deployment { id: String! environmentId: String! serviceId: String! status: String! }
type Environment { id: String! name: String! projectId: String! }
type Project { id: String! name: String! environments: ProjectEnvironmentsConnection! }
type ProjectEnvironmentsConnection { edges: [ProjectEnvironmentsConnectionEdge!]! }
type ProjectEnvironmentsConnectionEdge { node: Environment! }
"""


@dataclass
class RailwayWorld:
    """One Railway project: production ``env-5f10`` and staging ``env-8a33``; volume
    ``vol-7d41`` is production's and ``vol-2c9e`` staging's; service ``svc-4b20`` has an
    instance in both; deployment ``dep-61aa`` is staging's. As at Railway, no id says which
    environment it is in (a name with "prod" in it would be placed by its name alone)."""

    project: str = "prj-0c77"
    environments: dict[str, str] = field(
        default_factory=lambda: {"env-5f10": "production", "env-8a33": "staging"}
    )
    volumes: dict[str, list[str]] = field(
        default_factory=lambda: {
            "vol-7d41": ["env-5f10"],
            "vol-2c9e": ["env-8a33"],
        }
    )
    services: dict[str, list[str]] = field(
        default_factory=lambda: {"svc-4b20": ["env-5f10", "env-8a33"]}
    )
    deployments: dict[str, str] = field(default_factory=lambda: {"dep-61aa": "env-8a33"})
    credential: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every GraphQL request: its raw body and the Authorization it came with."""
    deleted: list[str] = field(default_factory=list)
    """Volumes ``volumeDelete`` removed, in order."""

    def mutations(self) -> list[bytes]:
        return [r["body"] for r in self.requests if b"mutation" in r["body"]]


class _Root:
    """graphql-core's default resolver calls these with (info, **arguments)."""

    def __init__(self, world: RailwayWorld) -> None:
        self.world = world

    def _environment(self, env_id: str) -> dict[str, Any]:
        return {
            "id": env_id,
            "name": self.world.environments[env_id],
            "projectId": self.world.project,
        }

    def volume(self, info: Any, id: str) -> dict[str, Any] | None:
        if id not in self.world.volumes or id in self.world.deleted:
            return None
        edges = [
            {"node": {"id": f"vi-{id}-{e}", "environmentId": e, "volumeId": id, "mountPath": "/d"}}
            for e in self.world.volumes[id]
        ]
        return {
            "id": id,
            "name": id,
            "projectId": self.world.project,
            "volumeInstances": {"edges": edges},
        }

    def volumeInstance(self, info: Any, id: str) -> dict[str, Any] | None:
        for volume, envs in self.world.volumes.items():
            for env in envs:
                if id == f"vi-{volume}-{env}":
                    return {"id": id, "environmentId": env, "volumeId": volume, "mountPath": "/d"}
        return None

    def service(self, info: Any, id: str) -> dict[str, Any] | None:
        if id not in self.world.services:
            return None
        edges = [
            {"node": {"id": f"si-{id}-{e}", "environmentId": e, "serviceId": id}}
            for e in self.world.services[id]
        ]
        return {
            "id": id,
            "name": id,
            "projectId": self.world.project,
            "serviceInstances": {"edges": edges},
        }

    def deployment(self, info: Any, id: str) -> dict[str, Any] | None:
        env = self.world.deployments.get(id)
        if env is None:
            return None
        return {"id": id, "environmentId": env, "serviceId": "svc-4b20", "status": "SUCCESS"}

    def environment(self, info: Any, id: str) -> dict[str, Any] | None:
        return self._environment(id) if id in self.world.environments else None

    def project(self, info: Any, id: str) -> dict[str, Any] | None:
        if id != self.world.project:
            return None
        edges = [{"node": self._environment(e)} for e in self.world.environments]
        return {"id": id, "name": "shop", "environments": {"edges": edges}}

    def variables(self, info: Any, **arguments: Any) -> str:
        return json.dumps({"DATABASE_URL": "postgres://app@db/shop"})

    def volumeDelete(self, info: Any, volumeId: str) -> bool:
        if volumeId not in self.world.volumes or volumeId in self.world.deleted:
            raise ValueError("Volume not found")
        self.world.deleted.append(volumeId)
        return True

    def serviceDelete(self, info: Any, id: str) -> bool:
        return self.world.services.pop(id, None) is not None

    def variableUpsert(self, info: Any, input: dict[str, Any]) -> bool:
        return True


def railway_app(world: RailwayWorld) -> Starlette:
    schema = build_schema(RAILWAY_SDL)
    root = _Root(world)

    async def graphql_v2(request: Request) -> Response:
        body = await request.body()
        auth = request.headers.get("authorization", "")
        world.requests.append({"body": body, "authorization": auth})
        if auth != f"Bearer {world.credential}":
            return JSONResponse({"errors": [{"message": "Not Authorized"}]}, status_code=200)
        payload = json.loads(body)
        result = graphql_sync(
            schema,
            payload["query"],
            root_value=root,
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [{"message": e.message} for e in result.errors]
        return JSONResponse(out)

    return Starlette(routes=[Route("/graphql/v2", graphql_v2, methods=["POST"])])


@dataclass
class UpstreamRecord:
    requests: list[dict[str, Any]] = field(default_factory=list)
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    """What /stream produced, and when (monotonic)."""


STREAM_CHUNKS = [f"event: tick\ndata: {i} {'x' * 40}\n\n".encode() for i in range(6)]
STREAM_GAP = 0.15


def upstream_app(record: UpstreamRecord) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        seen = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": body.decode(),
        }
        record.requests.append(seen)
        return JSONResponse(seen, status_code=201 if request.method == "POST" else 200)

    async def reflect(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        record.requests.append({"method": request.method, "path": request.url.path})
        text = f"you sent: {auth}\n" * 3
        return Response(text, headers={"X-Echo": auth, "Content-Type": "text/plain"})

    async def stream(request: Request) -> Response:
        record.requests.append({"method": request.method, "path": request.url.path})

        async def produce() -> AsyncIterator[bytes]:
            for chunk in STREAM_CHUNKS:
                record.chunks.append((time.monotonic(), chunk))
                yield chunk
                await asyncio.sleep(STREAM_GAP)

        return StreamingResponse(
            produce(),
            status_code=206,
            media_type="text/event-stream",
            headers={"X-Upstream": "kept", "Cache-Control": "no-store"},
        )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/echo", echo, methods=methods),
            Route("/echo/{rest:path}", echo, methods=methods),
            Route("/reflect", reflect, methods=methods),
            Route("/stream", stream),
        ]
    )


class Running:
    """uvicorn serving ``app`` on 127.0.0.1 in a background thread."""

    def __init__(self, app: Starlette) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise AssertionError("the fake server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
