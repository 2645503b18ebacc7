"""A local server that speaks Tilores: an OAuth2 token endpoint and a GraphQL API (graphql-core)."""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from graphql import build_schema, graphql

SCHEMA = build_schema(
    """
    scalar Hits
    type Record {
      id: ID!
      source: String
      first_name: String
      last_name: String
      phone: String
      email: String
      customer_no: String
      tier: String
      card_number: String
    }
    input SearchParams { phone: String email: String customer_no: String }
    input SearchInput { parameters: SearchParams! }
    input EntityInput { id: ID! }
    type Entity { id: ID! records: [Record!]! hits: Hits! }
    type SearchOutput { entities: [Entity!]! }
    type EntityOutput { entity: Entity }
    type Query {
      search(input: SearchInput!): SearchOutput!
      entity(input: EntityInput!): EntityOutput!
    }
    """
)

CARD = "4111111111111111"

# One person with three records from three systems (two share a phone), a second person, and a
# household phone shared by two entities.
ENTITIES: list[dict[str, Any]] = [
    {
        "id": "ent-ada",
        "records": [
            {
                "id": "r1",
                "source": "crm",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "phone": "4155550123",
                "email": "Ada@Example.com",
                "customer_no": "C-9001",
                "tier": "vip",
                "card_number": CARD,
            },
            {
                "id": "r2",
                "source": "web",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "phone": "+1 (415) 555-0123",
                "email": "ada@example.com",
                "card_number": CARD,
            },
            {
                "id": "r3",
                "source": "callcenter",
                "first_name": "Ada",
                "last_name": "King",
                "phone": "415 555 0199",
                "email": "ada.king@example.org",
            },
        ],
    },
    {
        "id": "ent-bob",
        "records": [
            {
                "id": "r4",
                "source": "crm",
                "first_name": "Bob",
                "last_name": "Byte",
                "phone": "2025550111",
                "email": "bob@example.com",
                "customer_no": "C-9002",
                "tier": "standard",
            },
        ],
    },
    {
        "id": "ent-home-1",
        "records": [
            {"id": "r5", "source": "crm", "first_name": "Cy", "last_name": "Home", "phone": "3125550100"},
            {"id": "r6", "source": "web", "first_name": "Cy", "last_name": "Home", "phone": "312-555-0100"},
        ],
    },
    {
        "id": "ent-home-2",
        "records": [
            {"id": "r7", "source": "crm", "first_name": "Di", "last_name": "Home", "phone": "3125550100"},
        ],
    },
]


def _digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")[-10:]


def _matches(record: dict[str, Any], params: dict[str, Any]) -> bool:
    if params.get("phone") and _digits(record.get("phone")) == _digits(params["phone"]):
        return True
    if params.get("email") and (record.get("email") or "").lower() == params["email"].lower():
        return True
    return bool(params.get("customer_no")) and record.get("customer_no") == params["customer_no"]


def _search(_info: Any, input: dict[str, Any]) -> dict[str, Any]:  # the GraphQL argument's name
    out = []
    for entity in ENTITIES:
        hits = {r["id"]: ["R1"] for r in entity["records"] if _matches(r, input["parameters"])}
        if hits:
            out.append({**entity, "hits": hits})
    return {"entities": out}


def _entity(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
    found = next((e for e in ENTITIES if e["id"] == input["id"]), None)
    return {"entity": {**found, "hits": {}} if found else None}


@dataclass
class TiloresState:
    """What the fake remembers and what the tests make it do."""

    client_id: str = "warmline"
    client_secret: str = "s3cret"
    expires_in: int = 3600
    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    queries: list[str] = field(default_factory=list)
    variables: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    graphql_errors_next: int = 0
    delay_s: float = 0.0
    peers: set[tuple[str, int]] = field(default_factory=set)


def build_app(state: TiloresState) -> web.Application:
    """The aiohttp app: POST /token and POST /graphql."""

    async def token(request: web.Request) -> web.Response:
        expected = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
        form = await request.post()
        if (
            request.headers.get("Authorization") != f"Basic {expected}"
            or form.get("grant_type") != "client_credentials"
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        state.tokens_issued += 1
        value = f"tok-{state.tokens_issued}"
        state.valid_tokens.add(value)
        return web.json_response({"access_token": value, "token_type": "Bearer", "expires_in": state.expires_in})

    async def api(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            state.peers.add(tuple(peer[:2]))
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in state.valid_tokens:
            return web.json_response({"message": "Unauthorized"}, status=401)
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        if state.fail_next:
            status, headers = state.fail_next.pop(0)
            return web.json_response({"message": "injected"}, status=status, headers=headers)
        body = await request.json()
        state.queries.append(body["query"])
        state.variables.append(body.get("variables") or {})
        if state.graphql_errors_next:
            state.graphql_errors_next -= 1
            return web.json_response({"data": None, "errors": [{"message": "resolver exploded"}]})
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

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_post("/graphql", api)
    return app


class TiloresServer:
    """The fake on 127.0.0.1 and a free port (started and stopped by the tests)."""

    def __init__(self) -> None:
        self.state = TiloresState()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> TiloresServer:
        self._runner = web.AppRunner(build_app(self.state))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp keeps it private
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"
