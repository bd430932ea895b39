"""The upstream behind the gateway bench: a small REST API and a Railway-shaped GraphQL API.

Run as its own process (``python bench/gateway_upstream.py PORT``) so that the bench's direct
calls and the gateway's forwarded calls meet the same server:

- ``GET /items``: a small fixed JSON answer (what most allowed requests look like);
- ``POST /graphql/v2``: GraphQL executed by graphql-core against the subset of Railway's schema
  the gateway's resolver asks (``volume(id) { volumeInstances { … environmentId } }``,
  ``environment(id) { name }``); the agent's own read ``volume(id) { name }`` is answered from
  a table (the same answer graphql-core would give). Every volume ``vol-…`` has one
  instance, in staging;
- ``GET /stats``: how many GraphQL requests came from the gateway's resolver
  (``InterlockEnvironments``) and how many objects they asked about, so the bench can work
  out the resolver's cache hit rate from what reached the upstream.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import uvicorn
from graphql import build_schema, graphql_sync
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

STAGING = "env-8a33"
SDL = """
type Query { volume(id: String!): Volume  environment(id: String!): Environment }
type Volume { id: String! name: String! volumeInstances: VolumeInstances! }
type VolumeInstances { edges: [VolumeInstanceEdge!]! }
type VolumeInstanceEdge { node: VolumeInstance! }
type VolumeInstance { id: String! environmentId: String! }
type Environment { id: String! name: String! }
"""
ITEMS = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(5)]}).encode()

counts = {"graphql": 0, "lookups": 0, "looked_up": 0}


class Root:
    def volume(self, info: Any, id: str) -> dict[str, Any] | None:
        if not id.startswith("vol-"):
            return None
        node = {"id": f"vi-{id}", "environmentId": STAGING}
        return {"id": id, "name": id, "volumeInstances": {"edges": [{"node": node}]}}

    def environment(self, info: Any, id: str) -> dict[str, Any] | None:
        return {"id": id, "name": "staging"} if id == STAGING else None


SCHEMA = build_schema(SDL)
ROOT = Root()


async def items(request: Request) -> Response:
    return Response(ITEMS, media_type="application/json")


READ = "query V($id: String!) { volume(id: $id) { name } }"
"""The bench's read: answered from a table, so the upstream's own CPU (graphql-core executes
a query in about 1 ms) does not crowd the gateway off the machine's two cores."""


async def graphql_v2(request: Request) -> Response:
    payload = json.loads(await request.body())
    query = payload["query"]
    counts["graphql"] += 1
    if query == READ:
        volume = (payload.get("variables") or {}).get("id", "")
        return JSONResponse({"data": {"volume": {"name": volume}}})
    if "InterlockEnvironments" in query:
        counts["lookups"] += 1
        counts["looked_up"] += len(payload.get("variables") or {})
    result = graphql_sync(SCHEMA, query, root_value=ROOT, variable_values=payload.get("variables"))
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [{"message": e.message} for e in result.errors]
    return JSONResponse(out)


async def stats(request: Request) -> Response:
    return JSONResponse(counts)


app = Starlette(
    routes=[
        Route("/items", items),
        Route("/graphql/v2", graphql_v2, methods=["POST"]),
        Route("/stats", stats),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
