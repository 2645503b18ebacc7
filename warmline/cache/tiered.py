"""TieredCache: L1 → L2 (promote) → source, with singleflight, stale-while-revalidate and negative caching."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from ..errors import L2Unavailable, SourceError
from ..loop_turns import LoopTurns
from ..models import CacheEntry, CacheTier, LookupKey
from ..sources.base import Priority, SourceResult
from .l1 import L1
from .l2 import L2
from .policy import CachePolicy, Freshness
from .singleflight import SingleFlight
from .stats import CacheStats

logger = logging.getLogger(__name__)

#: Calls the source for a key (the runtime wraps the Source with scheduling and timeouts).
Fetch = Callable[[LookupKey, Priority], Awaitable[SourceResult]]


@dataclass(frozen=True, slots=True)
class CacheResult:
    """An answer from the cache: the entry, the tier it came from, and whether it is stale."""

    entry: CacheEntry
    tier: CacheTier
    stale: bool = False
    shared: bool = False
    """True when this caller joined another caller's upstream fetch."""


class TieredCache:
    """The read path (docs/architecture.md, "A Kafka lookup"), shared by every entry point."""

    def __init__(
        self,
        l1: L1,
        l2: L2 | None,
        fetch: Fetch,
        policy: CachePolicy,
        *,
        stats: CacheStats | None = None,
        clock: Callable[[], float] = time.time,
        turns: LoopTurns | None = None,
    ) -> None:
        self.l1 = l1
        self.l2 = l2
        self._fetch = fetch
        self.policy = policy
        self.stats = stats or CacheStats()
        self._clock = clock
        #: Warm work's turns on the loop (warmline/loop_turns.py); lookups never wait for one.
        self._turns = turns
        #: Keys whose call in flight lookups have joined, with how many: a warm's call among them takes no turn.
        self._joined: Counter[str] = Counter()
        self._flights: SingleFlight[CacheResult] = SingleFlight()
        self._background: set[asyncio.Task[None]] = set()

    def now(self) -> float:
        """The cache's clock (epoch seconds)."""
        return self._clock()

    def peek_l1(self, key: LookupKey, max_age_s: float | None = None) -> CacheResult | None:
        """A fresh L1 answer without awaiting anything (the hot path), or None."""
        entry = self.l1.get(str(key))
        if entry is not None and self.policy.freshness(entry, self._clock(), max_age_s) is Freshness.FRESH:
            self.stats.hit(CacheTier.L1)
            return CacheResult(entry, CacheTier.L1)
        return None

    async def get(
        self, key: LookupKey, max_age_s: float | None = None, priority: Priority = Priority.LIVE
    ) -> CacheResult:
        """Answer *key* from the nearest tier that has it fresh; raise SourceError if nothing can."""
        hit = self.peek_l1(key, max_age_s)
        if hit is not None:
            return hit
        now = self._clock()
        stale = self._usable(self.l1.get(str(key)), now, max_age_s)
        l2_entry = await self._l2_get(key)
        if l2_entry is not None:
            fresh = self.policy.freshness(l2_entry, now, max_age_s)
            if fresh is Freshness.FRESH:
                return self._promote(key, l2_entry, now)
            if fresh is Freshness.STALE and (stale is None or l2_entry.fetched_at > stale.entry.fetched_at):
                stale = CacheResult(l2_entry, CacheTier.L2, stale=True)
        self.stats.miss()
        if stale is not None and max_age_s is None:
            self._refresh_in_background(key)
            self.stats.stale_served()
            return stale
        try:
            return await self._fetch_shared(key, priority)
        except SourceError:
            if stale is None:
                raise
            self.stats.stale_served()
            return stale  # the upstream is down: an old answer beats no answer

    async def warm(self, key: LookupKey, priority: Priority = Priority.LIVE) -> tuple[CacheResult, bool]:
        """Make *key* fresh in L1 (a stale entry does not count). Returns (result, fetched_from_source)."""
        hit = self.peek_l1(key)
        if hit is not None:
            return hit, False
        now = self._clock()
        entry = await self._l2_get(key)
        if entry is not None and self.policy.freshness(entry, now) is Freshness.FRESH:
            return self._promote(key, entry, now), False
        self.stats.miss()
        return await self._fetch_shared(key, priority, warm=True), True

    async def warm_many(
        self, keys: Sequence[LookupKey], priority: Priority = Priority.LIVE, timeout_s: float | None = None
    ) -> dict[LookupKey, CacheResult | SourceError | TimeoutError]:
        """warm() for a batch: one L1 pass, one MGET, the misses fetched side by side, one L2 pipeline.

        A key the source could not answer (or not within *timeout_s*) maps to its error; the others
        are fresh in L1. A timed-out fetch goes on (singleflight shields it) and lands in L1.
        """
        out: dict[LookupKey, CacheResult | SourceError | TimeoutError] = {}
        rest: list[LookupKey] = []
        for key in keys:
            hit = self.peek_l1(key)
            if hit is not None:
                out[key] = hit
            else:
                rest.append(key)
        promoted = await self.get_many_l2(rest)
        out.update(promoted)
        misses = [key for key in rest if key not in promoted]
        if not misses:
            return out
        for _ in misses:
            self.stats.miss()
        fetched = await self._fetch_all(misses, priority, timeout_s)
        if self._turns is not None:  # a batch's L2 pipeline is one step of its own
            await self._turns.turn()
        writes: list[tuple[LookupKey, CacheEntry, float]] = []
        now = self._clock()
        for key, done in zip(misses, fetched, strict=True):
            if isinstance(done, (SourceError, TimeoutError)):
                out[key] = done
            elif isinstance(done, BaseException):
                raise done
            else:
                result, shared = done
                if shared:  # another caller's fetch: that caller writes L2
                    self.stats.coalesced()
                    out[key] = CacheResult(result.entry, result.tier, result.stale, shared=True)
                else:
                    out[key] = result
                    writes.append((key, result.entry, self.policy.retain_until(result.entry) - now))
        await self._l2_put_many(writes)
        return out

    async def get_many_l2(self, keys: Sequence[LookupKey]) -> dict[LookupKey, CacheResult]:
        """Fresh L2 answers for *keys* with one MGET round trip, promoted to L1 (batches use this)."""
        if self.l2 is None or not keys:
            return {}
        try:
            entries = await self.l2.mget(keys)
        except L2Unavailable as e:
            self.stats.l2_error()
            logger.debug("L2 batch skipped: %s", e)
            return {}
        now = self._clock()
        found = {}
        for key, entry in zip(keys, entries, strict=True):
            if entry is not None and self.policy.freshness(entry, now) is Freshness.FRESH:
                found[key] = self._promote(key, entry, now)
        return found

    async def cached(self, key: LookupKey) -> CacheEntry | None:
        """Whatever L1 or L2 holds for *key*, fresh or not, without calling the source."""
        return self.l1.get(str(key)) or await self._l2_get(key)

    async def invalidate(self, key: LookupKey) -> CacheEntry | None:
        """Drop *key* from L1 and L2; returns the L1 entry it held (to find related keys)."""
        entry = self.l1.get(str(key))
        self.l1.delete(str(key))
        if self.l2 is not None:
            try:
                await self.l2.delete(key)
            except L2Unavailable as e:
                logger.warning("L2 invalidation of %s skipped: %s", key.redacted, e)
        return entry

    async def invalidate_customer(self, customer_id: str) -> None:
        """Drop a customer's shared record in L2 (L1 keys are dropped by their owners)."""
        if self.l2 is not None:
            try:
                await self.l2.delete_customer(customer_id)
            except L2Unavailable as e:
                logger.warning("L2 invalidation of a customer skipped: %s", e)

    async def aclose(self) -> None:
        """Cancel background refreshes and wait for them."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._flights.aclose()

    def _promote(self, key: LookupKey, entry: CacheEntry, now: float) -> CacheResult:
        """A fresh L2 entry: copy it into L1 and count the L2 hit."""
        self.l1.put(str(key), self.policy.for_l1(entry, now))
        self.stats.hit(CacheTier.L2)
        return CacheResult(entry, CacheTier.L2)

    def _usable(self, entry: CacheEntry | None, now: float, max_age_s: float | None) -> CacheResult | None:
        if entry is not None and self.policy.freshness(entry, now, max_age_s) is not Freshness.EXPIRED:
            return CacheResult(entry, CacheTier.L1, stale=True)
        return None

    async def _l2_get(self, key: LookupKey) -> CacheEntry | None:
        if self.l2 is None:
            return None
        try:
            return await self.l2.get(key)
        except L2Unavailable as e:
            self.stats.l2_error()
            logger.debug("L2 skipped: %s", e)
            return None

    async def _fetch_shared(self, key: LookupKey, priority: Priority, *, warm: bool = False) -> CacheResult:
        """The source's answer for *key*, in L1 and L2, shared with any call for it in flight; a lookup
        (not *warm*) joining a warm's call lets it skip its turn on the loop."""
        name = str(key)
        # Marked before joining, whoever's call it is: a warm's call task may not have run yet.
        joining = False
        if not warm and self._turns is not None and self._flights.in_flight(name):
            joining = True
            self._joined[name] += 1
            self._turns.expedite(name)
        try:
            result, shared = await self._flights.do(name, lambda: self._fetch_and_store(key, priority, warm))
        finally:
            if joining:
                self._joined[name] -= 1
                if not self._joined[name]:
                    del self._joined[name]
        if shared:
            self.stats.coalesced()
            return CacheResult(result.entry, result.tier, result.stale, shared=True)
        return result

    async def _fetch_and_store(self, key: LookupKey, priority: Priority, warm: bool = False) -> CacheResult:
        result = await self._fetch_into_l1(key, priority, warm)
        if self.l2 is not None:
            entry = result.entry
            try:
                await self.l2.put(key, entry, self.policy.retain_until(entry) - entry.fetched_at)
            except L2Unavailable as e:
                self.stats.l2_error()
                logger.debug("L2 write skipped: %s", e)
        return result

    async def _fetch_all(
        self, keys: Sequence[LookupKey], priority: Priority, timeout_s: float | None = None
    ) -> list[tuple[CacheResult, bool] | BaseException]:
        """Fetch *keys* side by side (singleflight per key); errors are returned, not raised."""
        if timeout_s is not None:
            return await asyncio.gather(
                *(self._fetch_within(key, priority, timeout_s) for key in keys), return_exceptions=True
            )
        if len(keys) == 1:  # a lone live key: no gather task in its way
            key = keys[0]
            try:
                return [await self._flights.do(str(key), partial(self._fetch_into_l1, key, priority, warm=True))]
            except SourceError as e:
                return [e]
        return await asyncio.gather(
            *(self._flights.do(str(key), partial(self._fetch_into_l1, key, priority, warm=True)) for key in keys),
            return_exceptions=True,
        )

    async def _fetch_within(self, key: LookupKey, priority: Priority, timeout_s: float) -> tuple[CacheResult, bool]:
        async with asyncio.timeout(timeout_s):
            return await self._flights.do(str(key), partial(self._fetch_into_l1, key, priority, warm=True))

    async def _fetch_into_l1(self, key: LookupKey, priority: Priority, warm: bool = False) -> CacheResult:
        """The source's answer, stored in L1 only: warm_many writes L2 for the whole batch at once.
        For a *warm*, storing it waits for warming's turn (a batch's answers arrive together) unless
        a lookup joined the call meanwhile (``_fetch_shared``)."""
        started = time.perf_counter()
        result = await (self._fetched_in_turn(key, priority) if warm else self._fetch(key, priority))
        self.stats.upstream(time.perf_counter() - started)
        now = self._clock()
        entry = self.policy.entry_for(result.customer, result.matches, now)
        self.l1.put(str(key), self.policy.for_l1(entry, now))
        return CacheResult(entry, CacheTier.UPSTREAM)

    async def _fetched_in_turn(self, key: LookupKey, priority: Priority) -> SourceResult:
        """The source's answer for a warm, returned in warming's turn (``LoopTurns``)."""
        result = await self._fetch(key, priority)
        name = str(key)
        if self._turns is not None and name not in self._joined:  # a lookup joining later expedites the turn
            await self._turns.turn(name)
        return result

    async def _l2_put_many(self, writes: Sequence[tuple[LookupKey, CacheEntry, float]]) -> None:
        if self.l2 is None or not writes:
            return
        try:
            await self.l2.put_many(writes)
        except L2Unavailable as e:
            self.stats.l2_error()
            logger.debug("L2 batch write skipped: %s", e)

    def _refresh_in_background(self, key: LookupKey) -> None:
        if self._flights.in_flight(str(key)):
            return  # a refresh (or a waiting caller's fetch) is already running

        async def refresh() -> None:
            try:
                # The caller already has its (stale) answer: the refresh may wait behind live calls.
                await self._fetch_shared(key, Priority.BACKGROUND)
            except SourceError as e:
                logger.info("background refresh of %s failed: %s", key.redacted, e)

        task = asyncio.create_task(refresh(), name=f"refresh {key.redacted}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
