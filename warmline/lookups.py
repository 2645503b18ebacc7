"""LookupService: the one use case behind Kafka, HTTP, the LLM tool and the CLI."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from .cache import CacheResult, TieredCache
from .metrics import Metrics
from .models import CacheTier, InvalidMessage, LookupKey, LookupReply, LookupStatus, normalize
from .sources.base import Priority, SourceError

logger = logging.getLogger("warmline.lookup")


class LookupService:
    """normalize → TieredCache → LookupReply, with deadlines, error mapping and one log line per lookup."""

    def __init__(
        self,
        cache: TieredCache,
        *,
        region: str = "US",
        default_timeout_ms: int = 5000,
        metrics: Metrics | None = None,
    ) -> None:
        self.cache = cache
        self.region = region
        self._default_timeout_ms = default_timeout_ms
        self._metrics = metrics or Metrics()
        # Resolved metric children per (tier, status): `.labels()` costs more than the L1 hit itself.
        self._observers: dict[tuple[str, str], tuple[Any, Any]] = {}

    def key_for(self, by: str, value: str) -> LookupKey:
        """Normalize a lookup; raises InvalidMessage."""
        return normalize(by, value, self.region)

    def peek(self, key: LookupKey, request_id: str | None = None, max_age_s: float | None = None) -> LookupReply | None:
        """Answer from a fresh L1 entry without awaiting (the hot path), or None."""
        started = time.perf_counter()
        hit = self.cache.peek_l1(key, max_age_s)
        if hit is None:
            return None
        return self._reply(key, hit, request_id, started)

    async def lookup(
        self,
        by: str,
        value: str,
        *,
        request_id: str | None = None,
        max_age_s: float | None = None,
        timeout_ms: int | None = None,
        priority: Priority = Priority.LIVE,
    ) -> LookupReply:
        """Look up (*by*, *value*); every failure becomes a reply with a status, never an exception."""
        try:
            key = self.key_for(by, value)
        except InvalidMessage as e:
            return self._failure(None, LookupStatus.INVALID, e.reason, request_id, time.perf_counter())
        return await self.lookup_key(
            key, request_id=request_id, max_age_s=max_age_s, timeout_ms=timeout_ms, priority=priority
        )

    async def lookup_key(
        self,
        key: LookupKey,
        *,
        request_id: str | None = None,
        max_age_s: float | None = None,
        timeout_ms: int | None = None,
        priority: Priority = Priority.LIVE,
    ) -> LookupReply:
        """Look up a normalized *key* within *timeout_ms*."""
        started = time.perf_counter()
        fast = self.peek(key, request_id, max_age_s)
        if fast is not None:
            return fast
        deadline_s = (timeout_ms or self._default_timeout_ms) / 1000
        try:
            async with asyncio.timeout(deadline_s):
                result = await self.cache.get(key, max_age_s, priority)
        except TimeoutError:
            # The shared fetch goes on (singleflight shields it) and will fill the cache.
            return self._failure(
                key, LookupStatus.TIMEOUT, f"no answer within {deadline_s * 1000:.0f} ms", request_id, started
            )
        except SourceError as e:
            return self._failure(key, e.status, str(e), request_id, started)
        return self._reply(key, result, request_id, started)

    async def lookup_many(
        self, lookups: Sequence[tuple[str, str]], concurrency: int = 10, timeout_ms: int | None = None
    ) -> list[LookupReply]:
        """Run lookups with at most *concurrency* in flight; replies in input order."""
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(by: str, value: str) -> LookupReply:
            async with gate:
                return await self.lookup(by, value, timeout_ms=timeout_ms)

        return list(await asyncio.gather(*(one(by, value) for by, value in lookups)))

    def _reply(self, key: LookupKey, hit: CacheResult, request_id: str | None, started: float) -> LookupReply:
        entry = hit.entry
        took_ms = (time.perf_counter() - started) * 1000
        status = LookupStatus.OK if entry.found else LookupStatus.NOT_FOUND
        reply = LookupReply(
            request_id=request_id,
            status=status,
            source=hit.tier,
            customer=entry.customer,
            matches=entry.matches if entry.found else 0,
            age_s=round(max(0.0, self.cache.now() - entry.fetched_at), 3),
            stale=hit.stale,
            took_ms=round(took_ms, 3),
        )
        self._record(key, hit.tier, status, took_ms)
        return reply

    def _failure(
        self, key: LookupKey | None, status: LookupStatus, reason: str, request_id: str | None, started: float
    ) -> LookupReply:
        took_ms = (time.perf_counter() - started) * 1000
        self._record(key, None, status, took_ms)
        return LookupReply(request_id=request_id, status=status, error=reason, took_ms=round(took_ms, 3))

    def _record(self, key: LookupKey | None, tier: CacheTier | None, status: LookupStatus, took_ms: float) -> None:
        tier_name = tier.value if tier else "none"
        observer = self._observers.get((tier_name, status.value))
        if observer is None:
            observer = (
                self._metrics.lookups.labels(tier_name, status.value),
                self._metrics.lookup_seconds.labels(tier_name),
            )
            self._observers[(tier_name, status.value)] = observer
        observer[0].inc()
        observer[1].observe(took_ms / 1000)
        # The canonical line: every lookup at DEBUG, failures also at INFO (hits run at 1000s/s).
        level = logging.DEBUG if status in (LookupStatus.OK, LookupStatus.NOT_FOUND) else logging.INFO
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "lookup key=%s tier=%s status=%s took_ms=%.3f",
                key.redacted if key else "-",
                tier_name,
                status.value,
                took_ms,
            )
