"""The warming benchmark stops its clock on a worker's own count of finished events, read from /metrics."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry, Counter, generate_latest

from benchmarks.warming import _event_outcomes


async def test_final_outcomes_count_over_every_topic_and_a_rekey_does_not() -> None:
    registry = CollectorRegistry()
    messages = Counter("warmline_messages", "messages", ["topic", "outcome"], registry=registry)
    messages.labels("call-started", "warmed").inc(7)
    messages.labels("app-call-started-repartition", "warmed").inc(5)
    messages.labels("call-started", "rekeyed").inc(100)  # re-keyed, then warmed on the repartition topic
    messages.labels("call-started", "already_fresh").inc(3)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        outcomes = await _event_outcomes(session, str(server.make_url("")).rstrip("/"))
    assert outcomes == {"warmed": 12, "failed": 0, "already_fresh": 3, "too_old": 0, "dead_letter": 0}
