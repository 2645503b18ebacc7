"""Short garbage-collection pauses: the cache's long-lived records are not walked again and again.

CPython's full (generation 2) collection walks every object the collector tracks. A worker holding
a few hundred thousand L1 entries paused 140-210 ms in each one, every 2-3 s of a call-started
burst, and found almost nothing to collect (a ``gc.callbacks`` probe, 7 Dec): every lookup in
flight waited, and the HTTP p99 during the burst was those pauses (docs/operations.md). So, while
``GcPauses`` runs:

- generation 0 is collected every GEN0_THRESHOLD allocations (``gen0_threshold``; CPython's own
  700 by default: a larger threshold kept request objects out of the old generations, but each
  of its collections paused the loop longer, and with the cache frozen 700 did better);
- what survives a full collection is frozen (``gc.freeze``): the next full collection walks only
  what came after, not the cache again;
- every SWEEP_INTERVAL_S, or sooner once the worker's resident memory has doubled since the last
  sweep, they are thawed and one full collection runs, at a moment no lookup waits (or after
  MAX_SWEEP_DELAY_S regardless), so reference cycles that died among them are reclaimed: frozen
  garbage lasts at most about SWEEP_INTERVAL_S + MAX_SWEEP_DELAY_S, and grows to about the
  worker's size at the last sweep at most.

Objects freed by reference counting (nearly all: a cache entry dropped from L1) are freed at once,
frozen or not; only garbage cycles wait for the sweep.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import mode

logger = logging.getLogger(__name__)

#: Allocations between generation-0 collections: CPython's own. 50,000 until 7 Dec kept objects of
#: requests in flight out of the old generations, but each collection of that many young objects
#: paused the loop for up to tens of ms; with the cache frozen, 700 gave lower lookup p99s during
#: a burst in five of five A/B rounds (docs/operations.md, "Pauses of the garbage collector").
GEN0_THRESHOLD = 700
#: How often frozen objects are thawed and swept for garbage cycles.
SWEEP_INTERVAL_S = 600.0
#: The longest a sweep waits for a quiet moment before it runs anyway.
MAX_SWEEP_DELAY_S = 60.0
#: How often a due sweep looks for that quiet moment.
QUIET_CHECK_S = 0.5
#: How often the resident memory is read (a sweep is due early once it has doubled). Not the count of
#: frozen objects: ``gc.get_freeze_count`` walks every one of them (17.8 ms for 808,826 on the
#: development machine), a pause every time it was asked.
GROWTH_CHECK_S = 10.0


def resident_bytes() -> int:
    """The process's resident memory (Linux: /proc/self/statm, a read of a few µs; elsewhere its peak)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


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
        size: Callable[[], int] = resident_bytes,
        gen0_threshold: int = GEN0_THRESHOLD,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._quiet = quiet
        self._sweep_interval_s = sweep_interval_s
        self._max_sweep_delay_s = max_sweep_delay_s
        self._quiet_check_s = quiet_check_s
        self._thresholds: tuple[int, int, int] | None = None
        self._size = size
        self._gen0_threshold = gen0_threshold
        self._size_after_sweep = 0  # resident bytes after the install or the last sweep
        #: Sweeps run, and how many of them found no quiet moment in time.
        self.sweeps = 0
        self.forced = 0

    def install(self) -> None:
        """Raise the generation-0 threshold, freeze what exists, and freeze after each full collection."""
        if self._thresholds is not None:
            return
        self._thresholds = gc.get_threshold()
        _, gen1, gen2 = self._thresholds
        gc.set_threshold(self._gen0_threshold, gen1, gen2)
        gc.freeze()  # modules, classes, the app: nothing a full collection needs to walk again
        self._size_after_sweep = self._size()
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
        self._size_after_sweep = self._size()
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
        """Whether the resident memory has doubled since the install or the last sweep."""
        return self._size() >= 2 * max(1, self._size_after_sweep)

    async def _due(self) -> None:
        """Return after sweep_interval_s, or sooner once the resident memory has doubled."""
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
            logger.info("gc sweep: %.0f ms, %.0f MB resident after it", pause_s * 1000, self._size_after_sweep / 1e6)
