"""CacheStats: per-tier counters and latency samples for /v1/stats (and Prometheus, via hooks)."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from ..models import CacheTier


def percentile(samples: list[float], q: float) -> float | None:
    """The *q*-quantile (0..1) of *samples* by nearest rank, or None when empty."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class CacheStats:
    """Counts what the cache did; kept small (a bounded window of upstream latencies)."""

    hits: Counter[CacheTier] = field(default_factory=Counter)  # by member: `.value` is a slow property
    misses: int = 0
    stale: int = 0
    coalesced_calls: int = 0
    upstream_calls: int = 0
    l2_errors: int = 0
    upstream_latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=2048))

    def hit(self, tier: CacheTier) -> None:
        """Count a fresh answer from *tier*."""
        self.hits[tier] += 1

    def miss(self) -> None:
        """Count a lookup that found nothing fresh in L1 or L2."""
        self.misses += 1

    def stale_served(self) -> None:
        """Count a stale answer served."""
        self.stale += 1

    def coalesced(self) -> None:
        """Count a caller that joined another's upstream fetch."""
        self.coalesced_calls += 1

    def upstream(self, seconds: float) -> None:
        """Count an upstream call that answered after *seconds*."""
        self.upstream_calls += 1
        self.upstream_latency_s.append(seconds)

    def l2_error(self) -> None:
        """Count a skipped L2 call."""
        self.l2_errors += 1

    def counts(self) -> dict[str, float]:
        """The monotonic counts by event (for Prometheus)."""
        return {
            "hit_l1": self.hits[CacheTier.L1],
            "hit_l2": self.hits[CacheTier.L2],
            "miss": self.misses,
            "stale_served": self.stale,
            "coalesced": self.coalesced_calls,
            "upstream_call": self.upstream_calls,
            "l2_error": self.l2_errors,
        }

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready figures for /v1/stats."""
        total = sum(self.hits.values()) + self.misses
        latencies = list(self.upstream_latency_s)
        return {
            "hits": {tier.value: self.hits[tier] for tier in (CacheTier.L1, CacheTier.L2)},
            "misses": self.misses,
            "hit_ratio": round(sum(self.hits.values()) / total, 4) if total else None,
            "stale_served": self.stale,
            "coalesced": self.coalesced_calls,
            "upstream_calls": self.upstream_calls,
            "upstream_ms": {
                "p50": to_ms(percentile(latencies, 0.5)),
                "p99": to_ms(percentile(latencies, 0.99)),
            },
            "l2_errors": self.l2_errors,
        }


def to_ms(seconds: float | None) -> float | None:
    """Seconds → milliseconds rounded to µs; None stays None."""
    return None if seconds is None else round(seconds * 1000, 3)
