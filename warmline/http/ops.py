"""Operations routes: /healthz, /readyz, /v1/stats, /metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from faust.web import View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..models.protocol import STATS_PATH
from ..prewarm.bulk import WarmOrigin
from ..stream.ownership import owned_l1_partitions
from .context import WebContext
from .responses import json_response


def readiness(app: Any) -> dict[str, Any]:
    """Ready = the consumer has its assignment and the tables are recovered (not mid-rebalance)."""
    recovered = app.tables.recovery.completed.is_set()
    rebalancing = bool(getattr(app, "rebalancing", False))
    assigned = sorted(owned_l1_partitions(app))
    return {
        "ready": recovered and not rebalancing,
        "recovered": recovered,
        "rebalancing": rebalancing,
        "l1_partitions": assigned,
    }


def register(app: Any, ctx: WebContext) -> None:
    """Attach the operations routes."""
    vip = ctx.vip

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: web.Request) -> web.Response:
            return json_response({"status": "ok"})

    @app.page("/readyz")
    class Ready(View):
        async def get(self, request: web.Request) -> web.Response:
            state = readiness(app)
            return json_response(state, status=200 if state["ready"] else 503)

    @app.page(STATS_PATH)
    class Stats(View):
        async def get(self, request: web.Request) -> web.Response:
            vip_stats = {**ctx.lookups.warm_jobs.job(WarmOrigin.VIP), "lists": len(vip.watcher.book.lists)}
            briefs = ctx.briefs.snapshot() if ctx.briefs is not None else None
            stats = {"worker": str(app.conf.canonical_url), **ctx.lookups.stats(), "briefs": briefs, "vip": vip_stats}
            return json_response(stats)

    @app.page("/metrics")
    class MetricsPage(View):
        async def get(self, request: web.Request) -> web.Response:
            ctx.metrics.l1_entries.set(ctx.lookups.stats()["l1"]["entries"])
            body = generate_latest(ctx.metrics.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
