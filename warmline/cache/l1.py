"""L1: the local Faust table (or any mapping) with a TTL sweep and an in-memory LRU bound."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, MutableMapping
from typing import Protocol

from cachetools import LRUCache

from ..models import CacheEntry

logger = logging.getLogger(__name__)

#: Entries a sweep looks at before the loop gets a turn.
SWEEP_SLICE = 5_000
#: What one deletion counts for in a slice: it writes a changelog tombstone, many times a look's cost.
SWEEP_DELETE_WEIGHT = 20


class L1(Protocol):
    """The local tier."""

    def get(self, key: str) -> CacheEntry | None:
        """The entry for *key*, or None."""
        ...

    def put(self, key: str, entry: CacheEntry) -> None:
        """Store *entry* under *key*."""
        ...

    def delete(self, key: str) -> bool:
        """Drop *key*; True if it was there."""
        ...

    def __len__(self) -> int: ...


class _Recency(LRUCache[str, None]):
    """Key recency only; evicting a key here deletes it from the backing table."""

    def __init__(self, maxsize: int, table: MutableMapping[str, CacheEntry | None]) -> None:
        super().__init__(maxsize)
        self._table = table
        self.evictions = 0

    def popitem(self) -> tuple[str, None]:
        key, value = super().popitem()
        self.evictions += 1
        self._table.pop(key, None)  # a tombstone in the changelog
        return key, value


class TableL1:
    """L1 over a changelog-backed mapping (the Faust table).

    Reads never write the changelog: recency lives in memory only. Writes and evictions go
    through the mapping, so a Faust table turns them into changelog records and tombstones.
    """

    def __init__(
        self,
        table: MutableMapping[str, CacheEntry | None],
        max_entries: int,
        local: MutableMapping[str, CacheEntry | None] | None = None,
    ) -> None:
        self._table = table
        # The same entries without changelog side effects (a Faust table's store): for dropping
        # what this worker no longer owns without writing tombstones into the new owner's partition.
        self._local = local if local is not None else table
        self._recency = _Recency(max_entries, table)
        # Reads go to the store's own dict when it has one (Faust's memory store does): the table's
        # read path adds a sensor call and three mapping layers, a third of an L1 hit's table read.
        raw = getattr(self._local, "data", None)
        self._entries: Mapping[str, CacheEntry | None] = raw if isinstance(raw, dict) else self._table
        self._read = self._entries.get

    def __len__(self) -> int:
        return len(self._table)

    @property
    def evictions(self) -> int:
        """Entries dropped for the size bound since start."""
        return self._recency.evictions

    def get(self, key: str) -> CacheEntry | None:
        """The entry for *key* (marking it recently used), or None."""
        entry = self._read(key)
        if entry is not None:
            self._recency[key] = None
        return entry

    def put(self, key: str, entry: CacheEntry) -> None:
        """Store *entry*, evicting the least recently used key past the bound."""
        self._table[key] = entry
        self._recency[key] = None

    def delete(self, key: str) -> bool:
        """Drop *key*; True if it was there."""
        self._recency.pop(key, None)
        return self._table.pop(key, None) is not None

    def retain_owned(self, owned: Callable[[str], bool]) -> int:
        """After a rebalance: forget (locally only) the keys whose partition moved away. Returns the count."""
        gone = [key for key in list(self._local.keys()) if not owned(key)]
        for key in gone:
            self._forget(key)
        return len(gone)

    def adopt_recovered(self) -> int:
        """Track keys that arrived by changelog recovery; evict beyond the bound. Returns the count."""
        adopted = 0
        for key in list(self._table.keys()):
            if key not in self._recency:
                self._recency[key] = None
                adopted += 1
        return adopted

    async def sweep(
        self, now: float, grace_s: float, slice_size: int = SWEEP_SLICE, owned: Callable[[str], bool] | None = None
    ) -> int:
        """Delete entries past expiry + *grace_s* (negative entries: past expiry); returns the count.

        A slice at a time (*slice_size* entries looked at, a deletion counting SWEEP_DELETE_WEIGHT),
        the loop free in between: one pass over a few hundred thousand entries held it for tens of
        ms, and every lookup in flight with it. An entry is read when its turn comes, so one
        replaced or deleted meanwhile is judged as it is then.

        An expired key *owned* says is not this worker's (a Faust standby copy of another worker's
        partition, with WARMLINE_L1_STANDBY_REPLICAS > 0, or a key whose partition has just moved
        away) is only forgotten here: a tombstone from this lagging copy could delete, in the
        owner's changelog, an entry the owner has renewed since.
        """
        entries = self._entries
        removed = work = 0
        for key in list(entries.keys()):
            if work >= slice_size:
                await asyncio.sleep(0)
                work = 0
            work += 1
            if key not in entries:  # deleted since the pass began
                continue
            entry = entries[key]
            limit = 0.0 if entry is None else entry.expires_at + (grace_s if entry.found else 0.0)
            if now >= limit:
                if owned is None or owned(key):
                    self.delete(key)
                    work += SWEEP_DELETE_WEIGHT
                else:
                    self._forget(key)
                removed += 1
        return removed

    def _forget(self, key: str) -> None:
        """Drop *key* here only (the store, not the table): no tombstone in the changelog."""
        self._local.pop(key, None)
        self._recency.pop(key, None)
