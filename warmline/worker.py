"""Assembles a worker: the App, the Runtime, agents, routes, and their start/stop hooks."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import mode

from . import agents, http
from .agents.kafka_io import HandlerPool
from .prewarm.scheduler import VipRunner
from .runtime import Runtime
from .settings import Settings
from .sources import Source
from .stream.app import L1_TABLE, StreamApp, build_app
from .stream.ownership import Ownership
from .stream.topics import TopicPlan

logger = logging.getLogger(__name__)

#: How often expired L1 entries are dropped (reads already skip them).
L1_SWEEP_INTERVAL_S = 30.0


class RuntimeLifecycle(mode.Service):
    """Opens what must be checked at start and closes the runtime when the worker stops."""

    def __init__(self, runtime: Runtime, pool: HandlerPool, vip: VipRunner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        self.pool = pool
        self.vip = vip

    async def on_start(self) -> None:
        """Report whether Redis answers (warmline runs without it)."""
        await self.runtime.check_redis()

    async def on_stop(self) -> None:
        """Close the runtime (the handlers were drained before the consumer stopped)."""
        await self.vip.aclose()
        await self.runtime.aclose()


@dataclass(frozen=True)
class Worker:
    """A fully wired worker app."""

    stream: StreamApp
    runtime: Runtime

    @property
    def app(self) -> Any:
        """The faust.App to run."""
        return self.stream.app


def build_worker(settings: Settings, source: Source | None = None) -> Worker:
    """Wire App + Runtime + agents + routes for *settings*."""
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    stream = build_app(settings)
    runtime = Runtime.build(settings, stream.l1_table, source)
    ownership = Ownership(stream.app)
    vip = VipRunner(runtime.cache, runtime.vip, ownership, concurrency=settings.prewarm_concurrency)
    pool = agents.register_all(
        stream,
        runtime.lookups,
        runtime.metrics,
        ownership,
        TopicPlan.of(settings, L1_TABLE),
        call_max_age_s=settings.call_max_age_s,
        vip=vip if settings.vip_file is not None else None,
        on_warm=runtime.briefs.schedule if runtime.briefs is not None else None,
    )
    http.register(stream.app, runtime, vip)
    stream.app.add_dependency(RuntimeLifecycle(runtime, pool, vip))

    async def drain_handlers() -> None:
        # SIGTERM: stop taking events; what is not done within the grace stays unacked for the next owner.
        await pool.drain(settings.shutdown_grace_s)

    stream.app.before_stop.append(drain_handlers)

    @stream.app.timer(L1_SWEEP_INTERVAL_S, name="warmline.l1_sweep")  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def l1_sweep() -> None:
        removed = runtime.l1.sweep(time.time(), runtime.cache.policy.max_stale_s)
        runtime.metrics.l1_entries.set(len(runtime.l1))
        if removed:
            logger.info("L1 sweep removed %d expired entries", removed)

    @stream.app.on_rebalance_complete.connect  # type: ignore[arg-type]  # mode's signature wants a keyword-only `signal`
    async def adopt_recovered(sender: Any, **kwargs: Any) -> None:
        mine = ownership.owned()
        dropped = runtime.l1.retain_owned(lambda key: ownership.partition_of(key) in mine)
        adopted = runtime.l1.adopt_recovered()
        if adopted or dropped:
            logger.info("L1 after rebalance: adopted %d recovered entries, dropped %d moved away", adopted, dropped)
        vip.on_rebalanced()

    return Worker(stream, runtime)
