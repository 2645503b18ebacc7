"""What one worker setting buys during a burst: an A/B of its values on fresh stacks taking turns.

``python -m benchmarks.setting_ab NAME [--rate R] [--burst-s S] [--rounds N]`` runs the
morning-peak benchmark's default mode (``peak.one_mode``: lookups first on, the lookup lane's own
consumer; the same lookups at the same rates, open loop) on a fresh stack per run, each of the
setting's values in turn, N times, so every value sees the same machine, at a fixed burst rate (the
same for every run, so the runs compare). It also measures each stack's warm capacity first
(``peak.capacity``: 8,000 call-started events, no lookups). NAME is one of ``SETTINGS``; it writes
``benchmarks/results/NAME.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from warmline.sources.demo import generate

from . import peak, warming
from .report import write
from .stack import BenchStack
from .stats import Result

CALLERS = 250_000
CAPACITY_EVENTS = 8_000


@dataclass(frozen=True)
class Setting:
    """A worker setting to compare: its variable, and each value with the label its rows carry."""

    env: str
    values: tuple[tuple[str, str], ...]  # (label, value), in the order the runs take turns


SETTINGS = {
    # warmline/gc_pauses.py
    "gc-freeze": Setting("WARMLINE_GC_FREEZE", (("gc tuning on", "true"), ("gc tuning off", "false"))),
    "gc-gen0": Setting(
        "WARMLINE_GC_GEN0_THRESHOLD",
        (("gen0 threshold 50,000", "50000"), ("gen0 threshold 5,000", "5000"), ("gen0 threshold 700", "700")),
    ),
    # warmline/loop_turns.py
    "warming-turns": Setting(
        "WARMLINE_WARMING_TURN_MS", (("warming turns of 2 ms", "2"), ("warming turns unbounded", "0"))
    ),
    "warming-turn-budget": Setting(
        "WARMLINE_WARMING_TURN_MS", (("warming turns of 2 ms", "2"), ("warming turns of 0.5 ms", "0.5"))
    ),
    # warmline/stream/changelog.py
    "l1-changelog-writer": Setting(
        "WARMLINE_L1_CHANGELOG_WRITER",
        (("changelog writer", "true"), ("Faust's changelog buffer", "false")),
    ),
    # warmline/stream/changelog_rdkafka.py
    "l1-changelog-producer": Setting(
        "WARMLINE_L1_CHANGELOG_PRODUCER",
        (("changelog through librdkafka", "librdkafka"), ("changelog through Faust's producer", "faust")),
    ),
}


async def _stack(tmp: Path, demo_db: Path, name: str, env: dict[str, str], redis_url: str) -> BenchStack:
    return await peak.stage_stack(tmp, demo_db, CALLERS, redis_url, name, env)


async def one_run(
    tmp: Path, demo_db: Path, label: str, env: dict[str, str], rate: float, burst_s: float, redis_url: str
) -> list[Result]:
    """Capacity on one fresh stack, then the burst on another (the capacity run leaves its callers warm)."""
    stack = await _stack(tmp, demo_db, f"cap-{label}", env, redis_url)
    try:
        cap, detail = await peak.capacity(stack, CAPACITY_EVENTS)
    finally:
        stack.stop()
    rows = [Result(f"{label}: warm capacity", round(cap), "events/s", "reported", None, detail=detail)]
    stack = await _stack(tmp, demo_db, f"burst-{label}", env, redis_url)
    try:
        run = await peak.one_mode(stack, label, rate, burst_s, 5.0)
    finally:
        stack.stop()
    return rows + peak.results_of(label, run)


async def main(setting: Setting, rate: float, burst_s: float, rounds: int, redis_url: str) -> list[Result]:
    rows: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="warmline-ab-") as tmp:
        demo_db = Path(tmp) / "demo.sqlite3"
        generate(demo_db, count=CALLERS)
        for n in range(1, rounds + 1):
            for label, value in setting.values:
                env = {setting.env: value}
                rows += await one_run(Path(tmp), demo_db, f"{label}, round {n}", env, rate, burst_s, redis_url)
    return rows


def cli(name: str | None = None) -> None:
    """Parse the command line (NAME given by a preset's own module), run, print, write the JSON."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{'setting_ab' if name is None else name}")
    if name is None:
        parser.add_argument("name", choices=sorted(SETTINGS))
    parser.add_argument("--rate", type=float, default=3_000.0, help="call-started a second during the burst")
    parser.add_argument("--burst-s", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    name = name or args.name
    setting = SETTINGS[name]
    load_at_start = os.getloadavg()
    rows = asyncio.run(main(setting, args.rate, args.burst_s, args.rounds, args.redis_url))
    for row in rows:
        print(f"{row.name}: {row.value:,} {row.unit}")
    meta = {
        "setting": setting.env,
        "rate_events_s": args.rate,
        "burst_s": args.burst_s,
        "source": warming.FAST_SOURCE,
        **peak.meta(),
        "loadavg_start": load_at_start,  # peak.meta() reads it now, at the end
    }
    print(f"wrote {write(name, rows, meta)}")


if __name__ == "__main__":
    cli()
