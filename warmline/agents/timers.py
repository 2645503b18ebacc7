"""Periodic work: the L1 expiry sweep and the L1 size gauge."""

from __future__ import annotations

import logging
import time

from ..app import StreamApp
from ..runtime import Runtime

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 30.0


def register(sa: StreamApp, runtime: Runtime) -> None:
    """Attach the timers to the app."""

    @sa.app.timer(SWEEP_INTERVAL_S, name="warmline.l1_sweep")  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def l1_sweep() -> None:
        removed = runtime.l1.sweep(time.time(), runtime.cache.policy.max_stale_s)
        runtime.metrics.l1_entries.set(len(runtime.l1))
        if removed:
            logger.info("L1 sweep removed %d expired entries", removed)
