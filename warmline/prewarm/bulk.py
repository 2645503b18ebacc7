"""Bulk warming: bounded-concurrency warm of many keys, per-item timeout and retries, job statistics."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from ..cache import CacheResult, TieredCache
from ..cache.stats import percentile
from ..errors import InvalidMessage, SourceError
from ..models import CacheTier, LookupKey, parse_key
from ..sources.base import Priority


class WarmOutcome(StrEnum):
    """What warming one key did."""

    WARMED = "warmed"  # fetched from the source (or promoted from L2) into L1
    FRESH = "already_fresh"  # already fresh in L1: no work
    NOT_FOUND = "not_found"
    FAILED = "failed"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class WarmItem:
    """The result for one input key, in input order."""

    key: str
    outcome: WarmOutcome
    took_ms: float
    error: str | None = None


@dataclass
class WarmJob:
    """A finished (or running) bulk warm."""

    items: list[WarmItem | None]
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def stats(self) -> dict[str, Any]:
        """total, warmed, already fresh, not found, failed, duration, p50/p99 (ms) of the items."""
        done = [i for i in self.items if i is not None]
        counts = Counter(i.outcome.value for i in done)
        took = [i.took_ms for i in done]
        end = self.finished or time.perf_counter()
        return {
            "total": len(self.items),
            "done": len(done),
            **{o.value: counts.get(o.value, 0) for o in WarmOutcome},
            "duration_s": round(end - self.started, 3),
            "p50_ms": _round(percentile(took, 0.5)),
            "p99_ms": _round(percentile(took, 0.99)),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


#: The scale of the jittered pause before each retry of a key.
RETRY_JITTER_S = 0.05


def _retriable(error: BaseException) -> bool:
    return bool(getattr(error, "retriable", False))


def parse_keys(texts: Sequence[str], region: str) -> list[LookupKey | InvalidMessage]:
    """Normalize ``kind:value`` strings; bad ones stay in place as their error."""
    out: list[LookupKey | InvalidMessage] = []
    for text in texts:
        try:
            out.append(parse_key(text, region))
        except InvalidMessage as e:
            out.append(e)
    return out


async def warm_keys(
    cache: TieredCache,
    keys: Sequence[LookupKey | InvalidMessage],
    *,
    concurrency: int = 32,
    item_timeout_s: float = 10.0,
    attempts: int = 3,
    priority: Priority = Priority.BACKGROUND,
    progress: Callable[[WarmItem], None] | None = None,
    job: WarmJob | None = None,
) -> WarmJob:
    """Warm every key into L1 with at most *concurrency* at once; one key's failure is its own."""
    job = job or WarmJob([None] * len(keys))
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(index: int, key: LookupKey | InvalidMessage) -> None:
        started = time.perf_counter()
        if isinstance(key, InvalidMessage):
            item = WarmItem("?", WarmOutcome.INVALID, 0.0, key.reason)
        else:
            async with gate:
                item = await _warm_one(cache, key, item_timeout_s, attempts, priority)
            item = WarmItem(item.key, item.outcome, round((time.perf_counter() - started) * 1000, 3), item.error)
        job.items[index] = item
        if progress is not None:
            progress(item)

    await asyncio.gather(*(one(i, k) for i, k in enumerate(keys)))
    job.finished = time.perf_counter()
    return job


async def _warm_one(
    cache: TieredCache, key: LookupKey, timeout_s: float, attempts: int, priority: Priority
) -> WarmItem:
    async def warm() -> tuple[CacheResult, bool]:
        async with asyncio.timeout(timeout_s):
            return await cache.warm(key, priority)

    try:
        try:  # the first attempt without the retry machinery: most keys need one (tenacity costs ~100 µs)
            result, fetched = await warm()
        except (SourceError, TimeoutError) as e:
            if attempts < 2 or not _retriable(e):
                raise
            await asyncio.sleep(random.uniform(0, RETRY_JITTER_S))  # jittered: no retry stampede
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(attempts - 1),
                wait=wait_random_exponential(multiplier=RETRY_JITTER_S, max=2.0),
                retry=retry_if_exception(_retriable),
                reraise=True,
            ):
                with attempt:
                    result, fetched = await warm()
    except (SourceError, TimeoutError) as e:
        return WarmItem(str(key), WarmOutcome.FAILED, 0.0, str(e) or type(e).__name__)
    if not result.entry.found:
        return WarmItem(str(key), WarmOutcome.NOT_FOUND, 0.0)
    fresh = result.tier is CacheTier.L1 and not fetched
    return WarmItem(str(key), WarmOutcome.FRESH if fresh else WarmOutcome.WARMED, 0.0)
