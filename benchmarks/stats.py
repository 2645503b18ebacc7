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


def p99_against_floor(
    floor_name: str, name: str, floor_s: list[float], ours_s: list[float], bound: float
) -> list[Result]:
    """Two rows: the floor's p99, and ours with its ratio to the floor (met when ≤ *bound*)."""
    f, o = summary_ms(floor_s), summary_ms(ours_s)
    ratio = o["p99_ms"] / f["p99_ms"]
    return [
        Result(floor_name, f["p99_ms"], "ms p99", "floor", None, detail=f, samples_ms=[x * 1000 for x in floor_s]),
        Result(
            name,
            o["p99_ms"],
            "ms p99",
            f"≤ {bound}× floor p99",
            ratio <= bound,
            floor=f["p99_ms"],
            detail={**o, "ratio_to_floor_p99": round(ratio, 2)},
            samples_ms=[x * 1000 for x in ours_s],
        ),
    ]
