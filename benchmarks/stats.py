"""Latency samples → percentiles, and the result record every benchmark returns."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


def pct(samples: list[float], q: float) -> float:
    """The *q* quantile (0..1) by linear interpolation."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=1000, method="inclusive")[min(998, max(0, round(q * 1000) - 1))]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    """p50 / p90 / p99 / max in milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 0.5), 4),
        "p90_ms": round(pct(ms, 0.9), 4),
        "p99_ms": round(pct(ms, 0.99), 4),
        "max_ms": round(max(ms), 4),
    }


@dataclass
class Result:
    """One row of the report: a figure, its floor, the target and whether it was met."""

    name: str
    value: float
    unit: str
    target: str
    met: bool | None
    floor: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    samples_ms: list[float] = field(default_factory=list, repr=False)
