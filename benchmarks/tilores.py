"""Tilores client overhead (issue 5): our source against a local server that answers at once."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
from pydantic import SecretStr

from harness.tilores_server import TiloresServer
from warmline.models import normalize
from warmline.sources.tilores import MappingRules, TiloresConfig, TiloresSource, TokenProvider
from warmline.sources.tilores.queries import field_names, search_query

from .stats import Result, summary_ms

FIELDS = field_names("id,source,first_name,last_name,phone,email,customer_no,tier")


async def overhead(n: int = 2000) -> list[Result]:
    """Sequential lookups through TiloresSource vs a bare aiohttp POST of the same query (the floor)."""
    server = await TiloresServer().start()
    try:
        async with aiohttp.ClientSession() as session:
            tokens = TokenProvider(lambda: session, server.token_url, "warmline", SecretStr("s3cret"))
            config = TiloresConfig(server.api_url, MappingRules(FIELDS, "customer_no"), param_customer_id="customer_no")
            source = TiloresSource(lambda: session, tokens, config)
            key = normalize("phone", "+14155550123")
            token = await tokens.token()
            body = orjson.dumps({"query": search_query(FIELDS), "variables": {"params": {"phone": "4155550123"}}})
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            ours, floor = [], []
            for _ in range(n):  # interleaved: noise hits both alike
                t0 = time.perf_counter()
                async with session.post(server.api_url, data=body, headers=headers) as resp:
                    orjson.loads(await resp.read())
                t1 = time.perf_counter()
                assert (await source.lookup(key)).customer is not None
                floor.append(t1 - t0)
                ours.append(time.perf_counter() - t1)
            fresh = TokenProvider(lambda: session, server.token_url, "warmline", SecretStr("s3cret"))
            concurrent = TiloresSource(lambda: session, fresh, config)
            issued = server.state.tokens_issued
            peers = len(server.state.peers)
            await asyncio.gather(*(concurrent.lookup(normalize("customer_id", f"C-{i}")) for i in range(200)))
            new_tokens = server.state.tokens_issued - issued
            new_conns = len(server.state.peers) - peers
    finally:
        await server.stop()
    o, f = summary_ms(ours), summary_ms(floor)
    return [
        Result("bare aiohttp GraphQL POST (floor)", f["p50_ms"], "ms p50", "floor", None, detail=f),
        Result(
            "TiloresSource overhead over the bare POST (token, query build, mapping)",
            round(o["p50_ms"] - f["p50_ms"], 3),
            "ms p50",
            "< 2 ms",
            o["p50_ms"] - f["p50_ms"] < 2,
            floor=f["p50_ms"],
            detail={"lookup": o, "note": "the floor includes the in-process graphql-core server's own work"},
        ),
        Result(
            "200 concurrent lookups, fresh client",
            new_tokens,
            "token requests",
            "exactly 1",
            new_tokens == 1,
            detail={"new_connections": new_conns, "aiohttp_pool_limit": 100},
        ),
    ]
