"""Short garbage-collection pauses: the cache's long-lived records are not walked again and again.

CPython's full (generation 2) collection walks every object the collector tracks. A worker holding
a few hundred thousand L1 entries paused 140-210 ms in each one, every 2-3 s of a call-started
burst, and found almost nothing to collect (a ``gc.callbacks`` probe, 7 Dec): every lookup in
flight waited, and the HTTP p99 during the burst was those pauses (docs/operations.md). So, while
``GcPauses`` runs:

- generation 0 is collected every GEN0_THRESHOLD allocations instead of CPython's 700, so the
  objects of requests in flight die young instead of being promoted to the old generations;
- what survives a full collection is frozen (``gc.freeze``): the next full collection walks only
  what came after, not the cache again;
- every SWEEP_INTERVAL_S, or sooner once the frozen objects have doubled since the last sweep,
  they are thawed and one full collection runs, at a moment no lookup waits (or after
  MAX_SWEEP_DELAY_S regardless), so reference cycles that died among them are reclaimed: frozen
  garbage lasts at most about SWEEP_INTERVAL_S + MAX_SWEEP_DELAY_S, and never outgrows what was
  alive at the last sweep.

Objects freed by reference counting (nearly all: a cache entry dropped from L1) are freed at once,
frozen or not; only garbage cycles wait for the sweep.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from typing import Any

import mode

logger = logging.getLogger(__name__)

#: Allocations between generation-0 collections (CPython's default is 700). A collection of this
#: many young objects takes a few ms, and far fewer objects of requests in flight reach generation 2.
GEN0_THRESHOLD = 50_000
#: How often frozen objects are thawed and swept for garbage cycles.
SWEEP_INTERVAL_S = 600.0
#: The longest a sweep waits for a quiet moment before it runs anyway.
MAX_SWEEP_DELAY_S = 60.0
#: How often a due sweep looks for that quiet moment.
QUIET_CHECK_S = 0.5
#: How often the frozen objects are counted (a sweep is due early once they have doubled).
GROWTH_CHECK_S = 10.0


def _freeze_after_full(phase: str, info: dict[str, Any]) -> None:
    """A gc callback: after a full collection, freeze what survived it."""
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


class GcPauses(mode.Service):
    """Tunes the collector while it runs (see the module docstring); restores it when stopped.

    *quiet* says whether a long pause would delay nobody now (the worker passes: no lookup
    waiting).
    """

    def __init__(
        self,
        quiet: Callable[[], bool] = lambda: True,
        *,
        sweep_interval_s: float = SWEEP_INTERVAL_S,
        max_sweep_delay_s: float = MAX_SWEEP_DELAY_S,
        quiet_check_s: float = QUIET_CHECK_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._quiet = quiet
        self._sweep_interval_s = sweep_interval_s
        self._max_sweep_delay_s = max_sweep_delay_s
        self._quiet_check_s = quiet_check_s
        self._thresholds: tuple[int, int, int] | None = None
        self._frozen_after_sweep = 0  # objects frozen after the install or the last sweep
        #: Sweeps run, and how many of them found no quiet moment in time.
        self.sweeps = 0
        self.forced = 0

    def install(self) -> None:
        """Raise the generation-0 threshold, freeze what exists, and freeze after each full collection."""
        if self._thresholds is not None:
            return
        self._thresholds = gc.get_threshold()
        _, gen1, gen2 = self._thresholds
        gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
        gc.freeze()  # modules, classes, the app: nothing a full collection needs to walk again
        self._frozen_after_sweep = gc.get_freeze_count()
        gc.callbacks.append(_freeze_after_full)

    def uninstall(self) -> None:
        """Put the collector back as it was, frozen objects thawed."""
        if self._thresholds is None:
            return
        while _freeze_after_full in gc.callbacks:
            gc.callbacks.remove(_freeze_after_full)
        gc.set_threshold(*self._thresholds)
        gc.unfreeze()
        self._thresholds = None

    def sweep(self) -> float:
        """Thaw, collect everything, freeze again; returns the pause in seconds."""
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()  # the callback freezes the survivors
        self._frozen_after_sweep = gc.get_freeze_count()
        self.sweeps += 1
        return time.perf_counter() - started

    async def on_start(self) -> None:
        """Tune the collector."""
        self.install()

    async def on_stop(self) -> None:
        """Restore the collector."""
        self.uninstall()

    async def _quiet_moment(self) -> None:
        """Return once nobody waits (or after max_sweep_delay_s, counted in ``forced``)."""
        for _ in range(max(1, round(self._max_sweep_delay_s / self._quiet_check_s))):
            if self._quiet():
                return
            await asyncio.sleep(self._quiet_check_s)
        self.forced += 1

    def grown(self) -> bool:
        """Whether the frozen objects have doubled since the install or the last sweep."""
        return gc.get_freeze_count() >= 2 * max(1, self._frozen_after_sweep)

    async def _due(self) -> None:
        """Return after sweep_interval_s, or sooner once the frozen objects have doubled."""
        waited = 0.0
        while waited < self._sweep_interval_s and not self.grown():
            step = min(GROWTH_CHECK_S, self._sweep_interval_s - waited)
            await asyncio.sleep(step)
            waited += step

    @mode.Service.task
    async def _sweeps(self) -> None:
        while not self.should_stop:
            await self._due()
            await self._quiet_moment()
            pause_s = self.sweep()
            logger.info("gc sweep: %.0f ms, %d objects frozen after it", pause_s * 1000, gc.get_freeze_count())
