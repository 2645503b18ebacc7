"""A fake Tilores for fault runs: any customer id or phone exists; POST /_fault makes it fail or hang.

Run as ``python -m harness.tilores_upstream --port P`` (``Upstream``, for a fault stack); it speaks the token
endpoint and GraphQL (graphql-core, the schema of harness/tilores_server.py, so the worker's introspection ping passes).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from graphql import graphql

from .procs import Service
from .tilores_server import SCHEMA

# Credentials distinctive enough that the run's leak scan (harness/leaks.py) finds any copy.
CLIENT_ID, CLIENT_SECRET = "warmline", "faults-tilores-secret-Zr5pQ"
ACCESS_TOKEN = "faults-tilores-access-Jm2xW"  # a test credential


@dataclass
class Mode:
    """What the upstream does now: answer after *latency_ms*, answer 503, or hang for *hang_s*."""

    kind: str = "ok"  # ok | 5xx | hang
    latency_ms: tuple[float, float] = (20.0, 60.0)
    hang_s: float = 30.0
    calls: int = 0
    failed: int = 0
    hung: int = 0


def _record(ident: str) -> dict[str, Any]:
    digits = "".join(c for c in ident if c.isdigit()) or "0"
    n = int(digits[-7:])
    return {
        "id": f"r-{ident}",
        "source": "crm",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "phone": f"415{n:07d}",
        "email": f"c{n}@example.com",
        "customer_no": ident,
        "tier": "standard",
    }


def _entity(_info: Any, input: dict[str, Any]) -> dict[str, Any]:  # the GraphQL argument's name
    return {"entity": {"id": input["id"], "records": [_record(input["id"])], "hits": {}}}


def _search(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
    params = input["parameters"]
    ident = params.get("customer_no") or params.get("phone") or params.get("email") or "0"
    entity = {"id": f"ent-{ident}", "records": [_record(ident)], "hits": {f"r-{ident}": ["R1"]}}
    return {"entities": [entity]}


def build_app(mode: Mode) -> web.Application:
    """POST /token, POST /graphql, POST /_fault, GET /_fault."""

    async def token(request: web.Request) -> web.Response:
        await request.post()
        return web.json_response({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600})

    async def api(request: web.Request) -> web.Response:
        body = await request.json()
        introspection = "__type" in body["query"]
        if not introspection:
            mode.calls += 1
            if mode.kind == "5xx":
                mode.failed += 1
                return web.json_response({"message": "injected"}, status=503)
            if mode.kind == "hang":
                mode.hung += 1
                await asyncio.sleep(mode.hang_s)
            else:
                await asyncio.sleep(random.uniform(*mode.latency_ms) / 1000)
        result = await graphql(
            SCHEMA,
            body["query"],
            root_value={"search": _search, "entity": _entity},
            variable_values=body.get("variables"),
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [{"message": e.message} for e in result.errors]
        return web.json_response(payload)

    async def fault(request: web.Request) -> web.Response:
        if request.method == "POST":
            change = await request.json()
            mode.kind = change.get("kind", mode.kind)
            mode.hang_s = float(change.get("hang_s", mode.hang_s))
        return web.json_response({"kind": mode.kind, "calls": mode.calls, "failed": mode.failed, "hung": mode.hung})

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_post("/graphql", api)
    app.router.add_route("*", "/_fault", fault)
    return app


@dataclass
class Upstream(Service):
    """This fake in its own process, with its /_fault control route."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "harness.tilores_upstream", "--port", str(self.port)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.tilores_upstream")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build_app(Mode()), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
