"""VipRunner: schedules warms of the VIP keys a worker owns, after rebalances, on file change and on schedule."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ..lookups import LookupService
from ..models import LookupKey
from ..sources.base import Priority
from ..stream.ownership import Ownership
from .bulk import WarmJob, WarmOrigin
from .vip_lists import VipWatcher


class VipRunner:
    """Decides when the VIP keys this worker owns are warmed; LookupService.warm_many warms them.

    Every worker runs the same schedule but warms only keys of its own partitions, so each key is
    warmed once across the cluster. One job runs at a time; background priority throughout; the
    jobs are counted under origin ``vip`` (``LookupService.warm_jobs``).
    """

    def __init__(self, lookups: LookupService, watcher: VipWatcher, ownership: Ownership) -> None:
        self._lookups = lookups
        self.watcher = watcher
        self._ownership = ownership
        self._task: asyncio.Task[WarmJob] | None = None

    def owned(self, keys: Sequence[LookupKey]) -> list[LookupKey]:
        """The subset of *keys* whose partition this worker owns."""
        return [k for k in keys if self._ownership.owns(str(k))]

    def _start(self, keys: Sequence[LookupKey], reason: str) -> None:
        if self._task is not None and not self._task.done():
            return  # one job at a time; the next tick catches up
        owned = self.owned(keys)
        if owned:
            job = self._lookups.warm_many(owned, Priority.BACKGROUND, origin=WarmOrigin.VIP, reason=reason)
            self._task = asyncio.create_task(job, name=f"vip warm ({reason})")

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
