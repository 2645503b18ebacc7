"""Assembles a worker: the App, the Runtime, agents, routes, and their start/stop hooks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import mode

from . import agents, http
from .agents.kafka_io import HandlerPool
from .app import L1_TABLE, StreamApp, build_app
from .ownership import Ownership
from .prewarm import VipRunner
from .runtime import Runtime
from .settings import Settings
from .sources import Source
from .stream.topics import TopicPlan

logger = logging.getLogger(__name__)


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
    pool, vip = agents.register_all(stream, runtime, ownership, TopicPlan.of(settings, L1_TABLE))
    http.register(stream.app, runtime, vip)
    stream.app.add_dependency(RuntimeLifecycle(runtime, pool, vip))

    async def drain_handlers() -> None:
        # SIGTERM: stop taking events; what is not done within the grace stays unacked for the next owner.
        await pool.drain(settings.shutdown_grace_s)

    stream.app.before_stop.append(drain_handlers)

    @stream.app.on_rebalance_complete.connect  # type: ignore[arg-type]  # mode's signature wants a keyword-only `signal`
    async def adopt_recovered(sender: Any, **kwargs: Any) -> None:
        mine = ownership.owned()
        dropped = runtime.l1.retain_owned(lambda key: ownership.partition_of(key) in mine)
        adopted = runtime.l1.adopt_recovered()
        if adopted or dropped:
            logger.info("L1 after rebalance: adopted %d recovered entries, dropped %d moved away", adopted, dropped)
        vip.on_rebalanced()

    return Worker(stream, runtime)
