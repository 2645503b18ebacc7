"""LookupService: the one use case behind Kafka, HTTP, the LLM tool and the CLI."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .cache import CacheResult, TieredCache
from .errors import InvalidMessage, SourceError
from .metrics import Metrics
from .models import Answer, CacheTier, KeyKind, LookupKey, LookupStatus, normalize
from .prewarm.bulk import WarmItem, WarmJob, WarmLedger, WarmOrigin, WarmOutcome, WarmPolicy, retriable, retried
from .prewarm.warm_at_answer import WarmthTracker
from .sources.base import Priority

logger = logging.getLogger("warmline.lookup")

#: Records one finished item of a warm job: (index in the input, its key or None if invalid, the item).
_Finish = Callable[[int, LookupKey | None, WarmItem], None]


class LookupTracer(Protocol):
    """Records finished lookups as trace runs (``warmline.llm.tracing``); never raises, never blocks."""

    def lookup_done(
        self,
        key: LookupKey | None,
        answer: Answer,
        started: float,
        fetch: tuple[float, float] | None = None,
        parent: object = None,
    ) -> None:
        """*started* and *fetch* (the source call of a miss) are ``time.perf_counter()`` values."""


class LookupService:
    """normalize → TieredCache → Answer, with deadlines, error mapping and one log line per lookup."""

    def __init__(
        self,
        cache: TieredCache,
        *,
        region: str = "US",
        default_timeout_ms: int = 5000,
        metrics: Metrics | None = None,
        warmth: WarmthTracker | None = None,
        source_stats: Callable[[], dict[str, Any]] | None = None,
        tracer: LookupTracer | None = None,
        warm_policy: WarmPolicy | None = None,
    ) -> None:
        self.cache = cache
        # The bulk warms' policy (VIP lists, admin, replay): the worker sets WARMLINE_PREWARM_CONCURRENCY.
        self.warm_policy = warm_policy or WarmPolicy()
        self._source_stats = source_stats or dict
        self.tracer = tracer
        self.warmth = warmth or WarmthTracker()
        self.region = region
        self._default_timeout_ms = default_timeout_ms
        self._metrics = metrics or Metrics()
        self.warm_jobs = WarmLedger(self._metrics)
        # Resolved metric children per (tier, status): `.labels()` costs more than the L1 hit itself.
        self._observers: dict[tuple[CacheTier | None, LookupStatus], tuple[Any, Any]] = {}

    def key_for(self, by: str, value: str) -> LookupKey:
        """Normalize a lookup; raises InvalidMessage."""
        return normalize(by, value, self.region)

    def peek(
        self, key: LookupKey, request_id: str | None = None, max_age_s: float | None = None, parent: object = None
    ) -> Answer | None:
        """Answer from a fresh L1 entry without awaiting (the hot path), or None.

        *parent*: where the lookup came from for tracing: a TraceParent, or the request's headers.
        """
        started = time.perf_counter()
        hit = self.cache.peek_l1(key, max_age_s)
        if hit is None:
            return None
        return self._reply(key, hit, request_id, started, parent=parent)

    async def lookup(
        self,
        by: str,
        value: str,
        *,
        request_id: str | None = None,
        max_age_s: float | None = None,
        timeout_ms: int | None = None,
        priority: Priority = Priority.LIVE,
        parent: object = None,
    ) -> Answer:
        """Look up (*by*, *value*); every failure becomes a reply with a status, never an exception."""
        try:
            key = self.key_for(by, value)
        except InvalidMessage as e:
            return self._failure(None, LookupStatus.INVALID, e.reason, request_id, time.perf_counter(), parent)
        return await self.lookup_key(
            key, request_id=request_id, max_age_s=max_age_s, timeout_ms=timeout_ms, priority=priority, parent=parent
        )

    async def lookup_key(
        self,
        key: LookupKey,
        *,
        request_id: str | None = None,
        max_age_s: float | None = None,
        timeout_ms: int | None = None,
        priority: Priority = Priority.LIVE,
        parent: object = None,
    ) -> Answer:
        """Look up a normalized *key* within *timeout_ms*.

        *parent*: for tracing, a ``warmline.llm.TraceParent`` or the request's raw headers (a Kafka
        message's header pairs or an HTTP mapping); a ``langsmith-trace`` header parents the run.
        """
        started = time.perf_counter()
        fast = self.peek(key, request_id, max_age_s, parent)
        if fast is not None:
            return fast
        deadline_s = (timeout_ms or self._default_timeout_ms) / 1000
        try:
            async with asyncio.timeout(deadline_s):
                result = await self.cache.get(key, max_age_s, priority)
        except TimeoutError:
            # The shared fetch goes on (singleflight shields it) and will fill the cache.
            return self._failure(
                key, LookupStatus.TIMEOUT, f"no answer within {deadline_s * 1000:.0f} ms", request_id, started, parent
            )
        except SourceError as e:
            return self._failure(key, LookupStatus(e.status), str(e), request_id, started, parent)
        fetch = (started, time.perf_counter()) if result.tier is CacheTier.UPSTREAM else None
        return self._reply(key, result, request_id, started, fetch, parent)

    async def lookup_keys(
        self, keys: Sequence[LookupKey], concurrency: int = 10, timeout_ms: int | None = None
    ) -> list[Answer]:
        """Batch lookup of normalized keys, replies in input order: L1 first, then one MGET for
        the rest, then the source for what is still missing (at most *concurrency* at once)."""
        started = time.perf_counter()
        replies: list[Answer | None] = [self.peek(key) for key in keys]
        missing = list(dict.fromkeys(k for k, r in zip(keys, replies, strict=True) if r is None))
        from_l2 = await self.cache.get_many_l2(missing)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(key: LookupKey) -> Answer:
            hit = from_l2.get(key)
            if hit is not None:
                return self._reply(key, hit, None, started)
            async with gate:
                return await self.lookup_key(key, timeout_ms=timeout_ms)

        pending = {
            i: asyncio.ensure_future(one(k)) for i, (k, r) in enumerate(zip(keys, replies, strict=True)) if r is None
        }
        for i, future in pending.items():
            replies[i] = await future
        return [r for r in replies if r is not None]

    async def lookup_many(
        self, lookups: Sequence[tuple[str, str]], concurrency: int = 10, timeout_ms: int | None = None
    ) -> list[Answer]:
        """Batch lookup of raw (by, value) pairs; invalid ones answer `invalid` in place."""
        started = time.perf_counter()
        keys: list[LookupKey | None] = []
        errors: dict[int, str] = {}
        for i, (by, value) in enumerate(lookups):
            try:
                keys.append(self.key_for(by, value))
            except InvalidMessage as e:
                keys.append(None)
                errors[i] = e.reason
        valid = [k for k in keys if k is not None]
        answered = iter(await self.lookup_keys(valid, concurrency, timeout_ms))
        return [
            next(answered) if k is not None else self._failure(None, LookupStatus.INVALID, errors[i], None, started)
            for i, k in enumerate(keys)
        ]

    def _reply(
        self,
        key: LookupKey,
        hit: CacheResult,
        request_id: str | None,
        started: float,
        fetch: tuple[float, float] | None = None,
        parent: object = None,
    ) -> Answer:
        entry = hit.entry
        took_ms = (time.perf_counter() - started) * 1000
        status = LookupStatus.OK if entry.found else LookupStatus.NOT_FOUND
        reply = Answer(
            request_id=request_id,
            status=status,
            source=hit.tier,
            customer_json=entry.customer_json,
            matches=entry.matches if entry.found else 0,
            age_s=round(max(0.0, self.cache.now() - entry.fetched_at), 3),
            stale=hit.stale,
            took_ms=round(took_ms, 3),
        )
        self._record(key, hit.tier, status, took_ms, request_id)
        self.warmth.looked_up(str(key), hit.tier, hit.stale)
        if self.tracer is not None:
            self.tracer.lookup_done(key, reply, started, fetch, parent)
        return reply

    def _failure(
        self,
        key: LookupKey | None,
        status: LookupStatus,
        reason: str,
        request_id: str | None,
        started: float,
        parent: object = None,
    ) -> Answer:
        took_ms = (time.perf_counter() - started) * 1000
        self._record(key, None, status, took_ms, request_id)
        if key is not None:
            self.warmth.looked_up(str(key), None, False)
        reply = Answer(request_id=request_id, status=status, error=reason, took_ms=round(took_ms, 3))
        if self.tracer is not None:
            self.tracer.lookup_done(key, reply, started, None, parent)
        return reply

    def _record(
        self,
        key: LookupKey | None,
        tier: CacheTier | None,
        status: LookupStatus,
        took_ms: float,
        request_id: str | None,
    ) -> None:
        observer = self._observers.get((tier, status))  # the members themselves: `.value` is a slow property
        if observer is None:
            tier_name = tier.value if tier else "none"
            observer = (
                self._metrics.lookups.labels(tier_name, status.value),
                self._metrics.lookup_seconds.labels(tier_name),
            )
            self._observers[(tier, status)] = observer
        observer[0].inc()
        observer[1].observe(took_ms / 1000)
        # The canonical line: every lookup at DEBUG, failures also at INFO (hits run at 1000s/s).
        level = logging.DEBUG if status in (LookupStatus.OK, LookupStatus.NOT_FOUND) else logging.INFO
        if logger.isEnabledFor(level):
            tier_name = tier.value if tier else "none"
            logger.log(
                level,
                "lookup key=%s tier=%s status=%s took_ms=%.3f request_id=%s",
                key.redacted if key else "-",
                tier_name,
                status.value,
                took_ms,
                request_id or "-",
                extra={"request_id": request_id, "key": key.redacted if key else None},
            )

    # Warming and invalidation: the agents, admin routes, VIP schedule and briefs reach the cache only through these.

    def begin_prewarm(self, key: LookupKey) -> bool:
        """A call for *key* entered a queue: record it; True when L1 already holds the caller fresh."""
        self.warmth.call_started(str(key))
        if self.cache.peek_l1(key) is None:
            return False
        self.warmth.warmed(str(key))
        return True

    async def warm_many(
        self,
        keys: Sequence[LookupKey | InvalidMessage],
        priority: Priority = Priority.BACKGROUND,
        *,
        origin: WarmOrigin,
        reason: str | None = None,
        policy: WarmPolicy | None = None,
        progress: Callable[[WarmItem], None] | None = None,
    ) -> WarmJob:
        """The one warm path (call-started, VIP lists, admin and replay bulk warms, briefs).

        Makes *keys* fresh in L1 (and L2): one WarmItem per key in input order, *progress* called
        with each as it is done, the job counted under *origin*. Keys that fit the policy's
        concurrency go as one batch (one L1 pass, one MGET, the misses side by side, one L2
        pipeline); more are warmed one by one, at most *concurrency* at once. A key whose attempt
        failed with a retriable source error is tried again, jittered, up to the policy's attempts.
        """
        policy = policy or self.warm_policy
        job = WarmJob([None] * len(keys))
        live = origin is WarmOrigin.CALL_STARTED

        def finish(index: int, key: LookupKey | None, item: WarmItem) -> None:
            job.items[index] = item
            if key is not None and item.outcome is WarmOutcome.FAILED:
                logger.log(logging.INFO if live else logging.DEBUG, "warm of %s failed: %s", key.redacted, item.error)
            elif live and key is not None:
                self.warmth.warmed(item.key)  # the queued caller is warm now (warm-at-answer)
            if progress is not None:
                progress(item)

        valid: list[tuple[int, LookupKey]] = []
        for index, key in enumerate(keys):
            if isinstance(key, InvalidMessage):
                finish(index, None, WarmItem("?", WarmOutcome.INVALID, 0.0, key.reason))
            else:
                valid.append((index, key))
        if policy.concurrency is None or len(valid) <= policy.concurrency:
            await self._warm_batch(valid, priority, policy, finish)
        else:
            await self._warm_window(valid, priority, policy, finish)
        job.finished = time.perf_counter()
        self.warm_jobs.record(origin, job, reason)
        return job

    async def _warm_batch(
        self, valid: Sequence[tuple[int, LookupKey]], priority: Priority, policy: WarmPolicy, finish: _Finish
    ) -> None:
        """First attempt for all keys at once (TieredCache.warm_many), then retries side by side."""
        started = time.perf_counter()
        unique = list(dict.fromkeys(key for _, key in valid))  # a caller who called twice is fetched once
        first = await self.cache.warm_many(unique, priority, policy.item_timeout_s)
        took_ms = _ms_since(started)  # the batch's time is each of its items' time
        again: list[tuple[int, LookupKey]] = []
        for index, key in valid:
            result = first[key]
            if isinstance(result, CacheResult) or policy.attempts < 2 or not retriable(result):
                finish(index, key, _warm_item(key, result, took_ms))
            else:
                again.append((index, key))
        if not again:
            return
        gate = asyncio.Semaphore(policy.concurrency or len(again))

        async def retry(index: int, key: LookupKey) -> None:
            async with gate:
                result = await self._retry_warm(key, priority, policy)
            finish(index, key, _warm_item(key, result, _ms_since(started)))

        await asyncio.gather(*(retry(i, k) for i, k in again))

    async def _warm_window(
        self, valid: Sequence[tuple[int, LookupKey]], priority: Priority, policy: WarmPolicy, finish: _Finish
    ) -> None:
        """Key by key, at most *concurrency* at once; a key's retries keep its slot."""
        gate = asyncio.Semaphore(max(1, policy.concurrency or 1))

        async def one(index: int, key: LookupKey) -> None:
            started = time.perf_counter()  # an item's time includes its wait for a slot
            async with gate:
                try:
                    result: CacheResult | Exception = await self._warm_once(key, priority, policy.item_timeout_s)
                except (SourceError, TimeoutError) as e:
                    result = e
                if not isinstance(result, CacheResult) and policy.attempts > 1 and retriable(result):
                    result = await self._retry_warm(key, priority, policy)
            finish(index, key, _warm_item(key, result, _ms_since(started)))

        await asyncio.gather(*(one(i, k) for i, k in valid))

    async def _warm_once(self, key: LookupKey, priority: Priority, timeout_s: float | None) -> CacheResult:
        async with asyncio.timeout(timeout_s):
            result, _ = await self.cache.warm(key, priority)
        return result

    async def _retry_warm(self, key: LookupKey, priority: Priority, policy: WarmPolicy) -> CacheResult | Exception:
        """The attempts after a first one that failed retriably; the last error if none succeeds."""
        try:
            return await retried(lambda: self._warm_once(key, priority, policy.item_timeout_s), policy.attempts - 1)
        except (SourceError, TimeoutError) as e:
            return e

    async def invalidate(self, key: LookupKey) -> bool:
        """Drop *key* from L1 and L2; True when L1 held it."""
        return await self.cache.invalidate(key) is not None

    async def invalidate_customer(self, key: LookupKey, customer_id: str) -> list[LookupKey]:
        """A customer changed: drop *key* (owned here) and the shared record.

        Returns the customer's other keys (its phones and e-mails, as the cached record lists
        them), whose owners must drop their L1 entries too.
        """
        held = await self.cache.cached(key)
        await self.cache.invalidate(key)
        await self.cache.invalidate_customer(customer_id)
        customer = held.customer if held is not None else None
        if customer is None:
            return []
        related = [normalize(KeyKind.PHONE, p, self.region) for p in customer.phones]
        return related + [normalize(KeyKind.EMAIL, e, self.region) for e in customer.emails]

    def forget_local(self, key: LookupKey, customer_id: str) -> None:
        """Drop *key* from this worker's L1 unless it now belongs to another customer."""
        held = self.cache.l1.get(str(key))
        if held is None or held.customer_id in (None, customer_id):
            self.cache.l1.delete(str(key))

    def stats(self) -> dict[str, Any]:
        """Cache, source and warm-at-answer figures for /v1/stats."""
        l1, l2 = self.cache.l1, self.cache.l2
        return {
            "cache": self.cache.stats.snapshot(),
            "l1": {"entries": len(l1), "evictions": getattr(l1, "evictions", 0)},
            "source": self._source_stats(),
            "warm_at_answer": self.warmth.snapshot(),
            "l2": {"enabled": l2 is not None, "breaker": _breaker_state(l2)},
            "warm_jobs": {o.value: self.warm_jobs.job(o) for o in (WarmOrigin.ADMIN, WarmOrigin.REPLAY)},
        }


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _warm_item(key: LookupKey, result: CacheResult | BaseException, took_ms: float) -> WarmItem:
    """What warming *key* came to; found records keep their cached bytes (for briefs)."""
    if not isinstance(result, CacheResult):
        return WarmItem(str(key), WarmOutcome.FAILED, took_ms, str(result) or type(result).__name__)
    entry = result.entry
    if not entry.found:
        return WarmItem(str(key), WarmOutcome.NOT_FOUND, took_ms)
    outcome = WarmOutcome.FRESH if result.tier is CacheTier.L1 else WarmOutcome.WARMED
    return WarmItem(str(key), outcome, took_ms, record=entry.customer_json)


def _breaker_state(l2: object) -> str | None:
    breaker = getattr(l2, "breaker", None)
    return None if breaker is None else str(breaker.state.value)
