"""Periodic work of the edges: the VIP schedule (start-up warming and rebalances are the worker's)."""

from __future__ import annotations

from ..prewarm.scheduler import VipRunner
from ..stream.app import StreamApp

VIP_TICK_S = 5.0


def register(sa: StreamApp, vip: VipRunner) -> None:
    """Attach the VIP timer: warm due VIP lists (and reload a changed file) every few seconds."""

    @sa.app.timer(VIP_TICK_S, name="warmline.vip")  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def vip_tick() -> None:
        if not sa.app.rebalancing:
            vip.tick()
