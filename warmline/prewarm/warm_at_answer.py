"""Warm-at-answer: did the lookup after a call started find the caller already in L1?"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..cache.stats import percentile, to_ms
from ..metrics import Metrics
from ..models import CacheTier

#: Calls remembered per worker; the oldest are forgotten first (a call is answered in minutes).
MAX_TRACKED_CALLS = 100_000


@dataclass(slots=True)
class _Call:
    started: float
    warm_at: float | None = None


class WarmthTracker:
    """Correlates call-started events with the lookups that follow for the same key.

    Both land on the key's owning worker (same partition), so the correlation is local.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, horizon_s: float = 3600.0, metrics: Metrics | None = None
    ) -> None:
        self._clock = clock
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
        if call is not None and call.warm_at is None:
            call.warm_at = self._clock()
            self._time_to_warm_s.append(call.warm_at - call.started)
            if self._metrics is not None:
                self._metrics.time_to_warm.observe(call.warm_at - call.started)

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
        }
