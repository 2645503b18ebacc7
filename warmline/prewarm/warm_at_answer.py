"""Warm-at-answer, two ways: did the first lookup after a call started find the caller in L1
(WarmthTracker, any traffic), and was the caller's record in L1 when the platform said an agent
picked up (AnswerStats, fed by the platforms' own answered events)?"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..cache import TieredCache
from ..cache.policy import Freshness
from ..cache.stats import percentile, to_ms
from ..errors import L2Unavailable
from ..metrics import Metrics
from ..models import CacheTier, LookupKey

#: Calls remembered per worker; the oldest are forgotten first (a call is answered in minutes).
MAX_TRACKED_CALLS = 100_000
#: Queues reported one by one in /v1/stats per platform; the rest are summed under "other".
MAX_QUEUES_REPORTED = 50
#: Samples kept per platform for the percentiles in /v1/stats.
SAMPLES_KEPT = 4096


@dataclass(slots=True)
class _Call:
    started: float
    warm_at: float | None = None


class WarmthTracker:
    """Correlates call-started events with the lookups that follow for the same key.

    Both land on the key's owning worker (same partition), so the correlation is local.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        horizon_s: float = 3600.0,
        metrics: Metrics | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._warmed_at: OrderedDict[str, float] = OrderedDict()  # key → epoch seconds it was warm for a call
        self.answers = AnswerStats(metrics)
        self._metrics = metrics
        self._horizon_s = horizon_s
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self.answered = 0
        self.answered_warm = 0
        self.missed = 0  # answer-time lookups that a pre-warm should have served from L1
        self._time_to_warm_s: deque[float] = deque(maxlen=4096)

    def call_started(self, key: str) -> None:
        """A call for *key* entered a queue."""
        self._calls[key] = _Call(self._clock())
        self._calls.move_to_end(key)
        while len(self._calls) > MAX_TRACKED_CALLS:
            self._calls.popitem(last=False)

    def warmed(self, key: str) -> None:
        """*key* is now fresh in L1 (or already was)."""
        call = self._calls.get(key)
        if call is not None:
            self._warmed_at[key] = self._wall()
            self._warmed_at.move_to_end(key)
            while len(self._warmed_at) > MAX_TRACKED_CALLS:
                self._warmed_at.popitem(last=False)
        if call is not None and call.warm_at is None:
            call.warm_at = self._clock()
            self._time_to_warm_s.append(call.warm_at - call.started)
            if self._metrics is not None:
                self._metrics.time_to_warm.observe(call.warm_at - call.started)

    def warmed_at(self, key: str) -> float | None:
        """When (epoch seconds) *key* was last found or made warm for a call, if it was."""
        return self._warmed_at.get(key)

    def looked_up(self, key: str, tier: CacheTier | None, stale: bool) -> None:
        """A lookup for *key* was answered from *tier*: the first after a call start counts."""
        call = self._calls.pop(key, None)
        if call is None or self._clock() - call.started > self._horizon_s:
            return
        self.answered += 1
        warm = tier is CacheTier.L1 and not stale
        if warm:
            self.answered_warm += 1
        else:
            self.missed += 1
        if self._metrics is not None:
            self._metrics.answer_lookups.labels("true" if warm else "false").inc()

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready figures for /v1/stats."""
        ttw = list(self._time_to_warm_s)
        return {
            "answered": self.answered,
            "answered_warm": self.answered_warm,
            "warm_at_answer_ratio": round(self.answered_warm / self.answered, 4) if self.answered else None,
            "missed_prewarm": self.missed,
            "calls_waiting": len(self._calls),
            "time_to_warm_ms": {"p50": to_ms(percentile(ttw, 0.5)), "p99": to_ms(percentile(ttw, 0.99))},
            "platforms": self.answers.snapshot(),
        }


async def tier_at_answer(cache: TieredCache, key: LookupKey) -> CacheTier | None:
    """Where the caller's record is now: fresh in L1, else in L2, else nowhere (cold).

    Reads without side effects: no promotion, no cache statistics, no source call.
    """
    entry = cache.l1.get(str(key))
    if entry is not None and cache.policy.freshness(entry, cache.now()) is Freshness.FRESH:
        return CacheTier.L1
    if cache.l2 is None:
        return None
    try:
        held = await cache.l2.get(key)
    except L2Unavailable:
        return None
    return CacheTier.L2 if held is not None else None


@dataclass(slots=True)
class _PlatformAnswers:
    answered: int = 0
    tiers: dict[str, int] = field(default_factory=lambda: {"l1": 0, "l2": 0, "cold": 0})
    before_queued: int = 0
    repeats: int = 0
    briefs_checked: int = 0
    briefs_ready: int = 0
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    queue_wait_s: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES_KEPT))
    queued_to_warm_s: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES_KEPT))


class AnswerStats:
    """The platforms' answered calls on this worker (each counted once, on the caller's owner).

    A call whose answered event arrives before its queued one counts when the answer arrives, in
    the tier the record was in at that moment (usually cold: warmline had not been told of the
    call), and in ``answered_before_queued``; it has no queue wait or queued→warm time.
    """

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics
        self._platforms: dict[str, _PlatformAnswers] = {}

    def answered(
        self,
        platform: str,
        queue: str | None,
        tier: CacheTier | None,
        *,
        answered_at: float,
        queued_at: float | None,
        warmed_at: float | None,
        brief_ready: bool | None = None,
    ) -> None:
        """Count one call's first answer (epoch seconds; *queued_at* None: its queued event had not
        arrived; *warmed_at*: when the caller was last found or made warm for a call; *brief_ready*:
        whether the found caller's brief was prepared, None when briefs are off or no one was found)."""
        queue_wait_s = answered_at - queued_at if queued_at is not None else None
        queued_to_warm_s = None
        if tier is CacheTier.L1 and queued_at is not None and warmed_at is not None:
            queued_to_warm_s = warmed_at - queued_at  # negative: warm before the call queued (counted as 0)
        warm = "l1" if tier is CacheTier.L1 else "l2" if tier is CacheTier.L2 else "cold"
        stats = self._platforms.setdefault(platform, _PlatformAnswers())
        stats.answered += 1
        stats.tiers[warm] += 1
        name = queue or "-"
        if name not in stats.queues and len(stats.queues) >= MAX_QUEUES_REPORTED:
            name = "other"
        per_queue = stats.queues.setdefault(name, {"answered": 0, "l1": 0})
        per_queue["answered"] += 1
        per_queue["l1"] += warm == "l1"
        if brief_ready is not None:
            stats.briefs_checked += 1
            stats.briefs_ready += brief_ready
        if queue_wait_s is None:
            stats.before_queued += 1
        else:
            stats.queue_wait_s.append(max(0.0, queue_wait_s))
        if queued_to_warm_s is not None:
            stats.queued_to_warm_s.append(max(0.0, queued_to_warm_s))
        if self._metrics is not None:
            self._metrics.calls_answered.labels(platform, warm).inc()
            if queue_wait_s is not None:
                self._metrics.queue_wait.labels(platform).observe(max(0.0, queue_wait_s))
            if queued_to_warm_s is not None:
                self._metrics.queued_to_warm.labels(platform).observe(max(0.0, queued_to_warm_s))

    def repeated(self, platform: str) -> None:
        """An answered event for a call already counted (a redelivery, or a pick-up after a transfer)."""
        self._platforms.setdefault(platform, _PlatformAnswers()).repeats += 1

    def snapshot(self) -> dict[str, Any]:
        """Per platform: answered, by tier, the warm share, queue wait and queued→warm percentiles, per queue."""
        out: dict[str, Any] = {}
        for platform, s in self._platforms.items():
            waits, q2w = list(s.queue_wait_s), list(s.queued_to_warm_s)
            out[platform] = {
                "answered": s.answered,
                "warm": dict(s.tiers),
                "warm_at_answer_ratio": round(s.tiers["l1"] / s.answered, 4) if s.answered else None,
                "answered_before_queued": s.before_queued,
                "brief_ready_at_answer_ratio": round(s.briefs_ready / s.briefs_checked, 4)
                if s.briefs_checked
                else None,
                "repeated_answers": s.repeats,
                "queue_wait_ms": {"p50": to_ms(percentile(waits, 0.5)), "p99": to_ms(percentile(waits, 0.99))},
                "queued_to_warm_ms": {"p50": to_ms(percentile(q2w, 0.5)), "p99": to_ms(percentile(q2w, 0.99))},
                "queues": {q: dict(v) for q, v in s.queues.items()},
            }
        return out
