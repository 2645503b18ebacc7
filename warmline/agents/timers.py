"""Periodic work: VIP warming (start-up, schedule, file changes), the L1 expiry sweep, the L1 gauge."""

from __future__ import annotations

import logging
import time

from ..app import StreamApp
from ..prewarm import VipRunner
from ..runtime import Runtime

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 30.0
VIP_TICK_S = 5.0


def register(sa: StreamApp, runtime: Runtime) -> VipRunner:
    """Attach the timers to the app; returns the VIP runner (used by POST /v1/prewarm and on rebalance)."""
    runner = VipRunner(runtime, sa.app)

    @sa.app.timer(SWEEP_INTERVAL_S, name="warmline.l1_sweep")  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def l1_sweep() -> None:
        removed = runtime.l1.sweep(time.time(), runtime.cache.policy.max_stale_s)
        runtime.metrics.l1_entries.set(len(runtime.l1))
        if removed:
            logger.info("L1 sweep removed %d expired entries", removed)

    @sa.app.timer(VIP_TICK_S, name="warmline.vip")  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def vip_tick() -> None:
        if runtime.settings.vip_file is not None and not sa.app.rebalancing:
            runner.tick()

    return runner
