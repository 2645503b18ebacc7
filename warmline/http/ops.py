"""Operations routes: /healthz, /readyz, /v1/stats, /metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from faust.web import View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..ownership import owned_l1_partitions
from ..prewarm import VipRunner
from ..runtime import Runtime
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


def register(app: Any, runtime: Runtime, vip: VipRunner) -> None:
    """Attach the operations routes."""

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: web.Request) -> web.Response:
            return json_response({"status": "ok"})

    @app.page("/readyz")
    class Ready(View):
        async def get(self, request: web.Request) -> web.Response:
            state = readiness(app)
            return json_response(state, status=200 if state["ready"] else 503)

    @app.page("/v1/stats")
    class Stats(View):
        async def get(self, request: web.Request) -> web.Response:
            return json_response(
                {
                    "worker": str(app.conf.canonical_url),
                    "cache": runtime.cache.stats.snapshot(),
                    "l1": {"entries": len(runtime.l1), "evictions": runtime.l1.evictions},
                    "source": {
                        "name": runtime.source.name,
                        "calls": runtime.gate.calls,
                        "failures": runtime.gate.failures,
                        "waiting": runtime.gate.waiting,
                        "breaker": runtime.gate.breaker.state.value,
                    },
                    "warm_at_answer": runtime.warmth.snapshot(),
                    "briefs": runtime.briefs.snapshot() if runtime.briefs is not None else None,
                    "vip": {"runs": vip.runs, "last_job": vip.last_job, "lists": len(runtime.vip.book.lists)},
                    "l2": {
                        "enabled": runtime.l2 is not None,
                        "breaker": runtime.l2.breaker.state.value if runtime.l2 else None,
                    },
                }
            )

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: web.Request) -> web.Response:
            runtime.metrics.l1_entries.set(len(runtime.l1))
            body = generate_latest(runtime.metrics.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
