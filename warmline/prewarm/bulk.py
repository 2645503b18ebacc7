"""Warm jobs: who asked (origin), what each key came to, job statistics, the retry policy, counts by origin."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from ..cache.stats import percentile
from ..errors import InvalidMessage
from ..metrics import Metrics
from ..models import Customer, LookupKey, parse_key

logger = logging.getLogger("warmline.warm")

T = TypeVar("T")


class WarmOrigin(StrEnum):
    """Who asked for a warm; each is counted under its own label."""

    CALL_STARTED = "call_started"  # a caller entered a queue (one job per batch of ≤ 100)
    VIP = "vip"  # the VIP schedule: start-up, rebalance, file change, due lists
    ADMIN = "admin"  # POST /v1/prewarm (and `warmline warm --http`)
    REPLAY = "replay"  # POST /v1/prewarm from `warmline replay --topic … --http`
    BRIEF = "brief"  # the caller's record for a brief


#: Origins whose jobs /v1/stats reports one by one (runs, last job); the others run per call.
BULK_ORIGINS = (WarmOrigin.VIP, WarmOrigin.ADMIN, WarmOrigin.REPLAY)


class WarmOutcome(StrEnum):
    """What warming one key did."""

    WARMED = "warmed"  # fetched from the source (or promoted from L2) into L1
    FRESH = "already_fresh"  # already fresh in L1: no work
    NOT_FOUND = "not_found"
    FAILED = "failed"
    INVALID = "invalid"


@dataclass(slots=True)  # not frozen: a frozen init costs ~1 µs more, and call-started makes one per caller
class WarmItem:
    """The result for one input key, in input order."""

    key: str
    outcome: WarmOutcome
    took_ms: float
    error: str | None = None
    record: bytes | None = field(default=None, repr=False, compare=False)
    """The customer's JSON as cached (the bytes L1 holds, not a copy); None unless found."""

    @property
    def customer(self) -> Customer | None:
        """The customer, decoded (briefs need fields)."""
        return None if self.record is None else Customer.model_validate_json(self.record)


@dataclass
class WarmJob:
    """A finished (or running) warm job."""

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


@dataclass(frozen=True, slots=True)
class WarmPolicy:
    """How a job warms: how many keys at once, how many attempts, how long one attempt may take."""

    concurrency: int | None = 32
    """At most this many keys in flight; None: the whole job as one batch (call-started's ≤ 100)."""
    attempts: int = 3
    """Attempts per key; only retriable source errors are tried again."""
    item_timeout_s: float | None = 10.0
    """Per attempt; None: the source gate's own deadline only."""


#: A queued caller: one batch, one attempt (an unwarmed caller is looked up at answer, and a retry
#: would hold the batch's acks while the next callers wait), no deadline but the source gate's.
LIVE_POLICY = WarmPolicy(concurrency=None, attempts=1, item_timeout_s=None)

#: The scale of the jittered pause before each retry of a key.
RETRY_JITTER_S = 0.05


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def retriable(error: BaseException) -> bool:
    """Worth another attempt: a source error that says so (an item timeout is not: it already waited)."""
    return bool(getattr(error, "retriable", False))


async def retried(attempt: Callable[[], Awaitable[T]], attempts: int) -> T:
    """Call *attempt* up to *attempts* times after a jittered pause, again only on retriable errors.

    Called once a first, plain attempt failed: most keys need one, and tenacity costs ~100 µs.
    """
    await asyncio.sleep(random.uniform(0, RETRY_JITTER_S))  # jittered: no retry stampede
    async for trial in AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=RETRY_JITTER_S, max=2.0),
        retry=retry_if_exception(retriable),
        reraise=True,
    ):
        with trial:
            result = await attempt()
    return result


def parse_keys(texts: Sequence[str], region: str) -> list[LookupKey | InvalidMessage]:
    """Normalize ``kind:value`` strings; bad ones stay in place as their error."""
    out: list[LookupKey | InvalidMessage] = []
    for text in texts:
        try:
            out.append(parse_key(text, region))
        except InvalidMessage as e:
            out.append(e)
    return out


class WarmLedger:
    """Warm jobs counted by origin: Prometheus counters for all, runs and the last job for bulk origins."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._runs: Counter[WarmOrigin] = Counter()
        self._last: dict[WarmOrigin, dict[str, Any]] = {}
        # `.labels()` hashes and locks on every call, and call-started records a job per batch: keep the children.
        self._jobs: dict[WarmOrigin, Any] = {}
        self._keys: dict[tuple[WarmOrigin, str], Any] = {}

    def record(self, origin: WarmOrigin, job: WarmJob, reason: str | None = None) -> None:
        """Count a finished job under *origin*."""
        jobs = self._jobs.get(origin)
        if jobs is None:
            jobs = self._jobs[origin] = self._metrics.warm_jobs.labels(origin.value)
        jobs.inc()
        for outcome, n in Counter(i.outcome.value for i in job.items if i is not None).items():
            keys = self._keys.get((origin, outcome))
            if keys is None:
                keys = self._keys[(origin, outcome)] = self._metrics.warm_keys.labels(origin.value, outcome)
            keys.inc(n)
        if origin in BULK_ORIGINS:
            self._runs[origin] += 1
            self._last[origin] = {"reason": reason, **job.stats()}
            logger.info("%s warm (%s): %s", origin.value, reason, self._last[origin])

    def job(self, origin: WarmOrigin) -> dict[str, Any]:
        """``{"runs": n, "last_job": {...} | None}`` of a bulk origin."""
        return {"runs": self._runs[origin], "last_job": self._last.get(origin)}
