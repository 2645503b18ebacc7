"""VipRunner: warms the VIP keys a worker owns, after rebalances, on file change and on schedule."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from ..cache import TieredCache
from ..models import LookupKey
from ..sources.base import Priority
from ..stream.ownership import Ownership
from .bulk import WarmJob, warm_keys
from .vip_lists import VipWatcher

logger = logging.getLogger(__name__)


class VipRunner:
    """Warms the VIP keys this worker owns: after each rebalance, when the file changes, on schedule.

    Every worker runs the same schedule but warms only keys of its own partitions, so each key is
    warmed once across the cluster. One job runs at a time; background priority throughout.
    """

    def __init__(self, cache: TieredCache, watcher: VipWatcher, ownership: Ownership, *, concurrency: int) -> None:
        self._cache = cache
        self.watcher = watcher
        self._ownership = ownership
        self._concurrency = concurrency
        self._task: asyncio.Task[WarmJob] | None = None
        self.last_job: dict[str, Any] | None = None
        self.runs = 0

    def owned(self, keys: Sequence[LookupKey]) -> list[LookupKey]:
        """The subset of *keys* whose partition this worker owns."""
        return [k for k in keys if self._ownership.owns(str(k))]

    async def warm(self, keys: Sequence[LookupKey], reason: str) -> WarmJob:
        """Warm *keys* (already filtered to owned ones) and remember the job's stats."""
        job = await warm_keys(self._cache, keys, concurrency=self._concurrency, priority=Priority.BACKGROUND)
        self.runs += 1
        self.last_job = {"reason": reason, **job.stats()}
        logger.info("VIP warm (%s): %s", reason, self.last_job)
        return job

    def _start(self, keys: Sequence[LookupKey], reason: str) -> None:
        if self._task is not None and not self._task.done():
            return  # one job at a time; the next tick catches up
        owned = self.owned(keys)
        if owned:
            self._task = asyncio.create_task(self.warm(owned, reason), name=f"vip warm ({reason})")

    def on_rebalanced(self) -> None:
        """Start-up and every rebalance: (re)load the file and warm all owned keys (fresh ones cost nothing)."""
        vip = self.watcher
        vip.refresh()
        vip.book.start(vip.now())
        self._start(vip.book.all_keys(), "start-up")

    def tick(self) -> None:
        """Reload a changed file (warming it whole) or warm the lists that are due."""
        vip = self.watcher
        if vip.refresh():
            vip.book.start(vip.now())
            self._start(vip.book.all_keys(), "file changed")
            return
        due = vip.book.due_lists(vip.now())
        if due:
            keys = list(dict.fromkeys(k for lst in due for k in lst.keys))
            self._start(keys, "schedule: " + ", ".join(lst.name for lst in due))

    async def aclose(self) -> None:
        """Cancel a running job."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
