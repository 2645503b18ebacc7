"""What the garbage-collector tuning buys (``WARMLINE_GC_FREEZE``, warmline/gc_pauses.py): a burst A/B.

``python -m benchmarks.gc_freeze [--rate R] [--burst-s S] [--rounds N]`` runs the morning-peak
benchmark's default mode (``peak.one_mode``: lookups first on, the lookup lane's own consumer; the
same lookups at the same rates, open loop) on a fresh stack per run, with the tuning on and off
taking turns N times so both see the same machine, at a fixed burst rate (the same for every run,
so the runs compare). It also measures each stack's warm capacity first (``peak.capacity``: 8,000
call-started events, no lookups). It writes ``benchmarks/results/gc-freeze.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from warmline.sources.demo import generate

from . import peak, warming
from .report import write
from .stack import BenchStack
from .stats import Result

CALLERS = 250_000
CAPACITY_EVENTS = 8_000


async def _stack(tmp: Path, demo_db: Path, name: str, freeze: bool, redis_url: str) -> BenchStack:
    return await peak.stage_stack(tmp, demo_db, CALLERS, redis_url, name, {"WARMLINE_GC_FREEZE": str(freeze).lower()})


async def one_run(
    tmp: Path, demo_db: Path, freeze: bool, round_no: int, rate: float, burst_s: float, redis_url: str
) -> list[Result]:
    """Capacity on one fresh stack, then the burst on another (the capacity run leaves its callers warm)."""
    label = f"gc tuning {'on' if freeze else 'off'}, round {round_no}"
    stack = await _stack(tmp, demo_db, f"cap-{label}", freeze, redis_url)
    try:
        cap, detail = await peak.capacity(stack, CAPACITY_EVENTS)
    finally:
        stack.stop()
    rows = [Result(f"{label}: warm capacity", round(cap), "events/s", "reported", None, detail=detail)]
    stack = await _stack(tmp, demo_db, f"burst-{label}", freeze, redis_url)
    try:
        run = await peak.one_mode(stack, label, rate, burst_s, 5.0)
    finally:
        stack.stop()
    return rows + peak.results_of(label, run)


async def main(rate: float, burst_s: float, rounds: int, redis_url: str) -> list[Result]:
    rows: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="warmline-gc-freeze-") as tmp:
        demo_db = Path(tmp) / "demo.sqlite3"
        generate(demo_db, count=CALLERS)
        for n in range(1, rounds + 1):
            for freeze in (True, False):
                rows += await one_run(Path(tmp), demo_db, freeze, n, rate, burst_s, redis_url)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gc_freeze")
    parser.add_argument("--rate", type=float, default=3_000.0, help="call-started a second during the burst")
    parser.add_argument("--burst-s", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    rows = asyncio.run(main(args.rate, args.burst_s, args.rounds, args.redis_url))
    for row in rows:
        print(f"{row.name}: {row.value:,} {row.unit}")
    meta = {"rate_events_s": args.rate, "burst_s": args.burst_s, "source": warming.FAST_SOURCE, **peak.meta()}
    print(f"wrote {write('gc-freeze', rows, meta)}")
