"""Assembles a worker: the App, the Runtime, agents, routes, and their start/stop hooks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import mode

from . import agents, http
from .agents.kafka_io import HandlerPool
from .app import StreamApp, build_app
from .ownership import owned_l1_partitions, owner_partition
from .prewarm import VipRunner
from .runtime import Runtime
from .settings import Settings
from .sources import Source

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
        """Finish in-flight handlers, then close the runtime."""
        await self.vip.aclose()
        await self.pool.aclose()
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
    pool, vip = agents.register_all(stream, runtime)
    http.register(stream.app, runtime, vip)
    stream.app.add_dependency(RuntimeLifecycle(runtime, pool, vip))

    @stream.app.on_rebalance_complete.connect  # type: ignore[arg-type]  # mode's signature wants a keyword-only `signal`
    async def adopt_recovered(sender: Any, **kwargs: Any) -> None:
        mine = owned_l1_partitions(stream.app)
        n = settings.topic_partitions
        dropped = runtime.l1.retain_owned(lambda key: owner_partition(key, n) in mine)
        adopted = runtime.l1.adopt_recovered()
        if adopted or dropped:
            logger.info("L1 after rebalance: adopted %d recovered entries, dropped %d moved away", adopted, dropped)
        vip.on_rebalanced()

    return Worker(stream, runtime)
