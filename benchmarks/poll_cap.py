"""What bounding a fetch costs warming: pre-warm throughput at several ``WARMLINE_CONSUMER_MAX_POLL_RECORDS``.

``python -m benchmarks.poll_cap [--events N] [--rounds R]`` runs the pre-warm throughput benchmark
(``warming.prewarm_throughput``: 50 ms source, 1,000 source slots, N call-started events at once, no
lookups) on a fresh stack per run, the bounds taking turns R times so each sees the same machine.
It writes ``benchmarks/results/poll-cap.json``: events/s and worker CPU per event per run.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from . import warming
from .report import write
from .stack import start_stack
from .stats import Result

#: The bounds compared: the default, Kafka's own default (max.poll.records), and none to speak of.
BOUNDS = (100, 500, 100_000)


async def one_run(bound: int, events: int, round_no: int) -> Result:
    """One pre-warm of *events* on a fresh stack whose worker hands on at most *bound* records a fetch."""
    with tempfile.TemporaryDirectory(prefix="warmline-poll-cap-") as tmp:
        stack = await start_stack(
            Path(tmp), demo_count=events, **warming.FAST_SOURCE, WARMLINE_CONSUMER_MAX_POLL_RECORDS=str(bound)
        )
        try:
            result = await warming.prewarm_throughput(stack, events)
        finally:
            stack.stop()
    result.name = f"pre-warm throughput, one worker, at most {bound:,} records a fetch, round {round_no}"
    result.target, result.met = "reported", None
    return result


async def main(events: int, rounds: int) -> list[Result]:
    return [await one_run(bound, events, n) for n in range(1, rounds + 1) for bound in BOUNDS]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.poll_cap")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rows = asyncio.run(main(args.events, args.rounds))
    for row in rows:
        print(f"{row.name}: {row.value:,} events/s, {row.detail['cpu_us_per_event']} µs per event")
    print(f"wrote {write('poll-cap', rows, {'events': args.events, 'source': warming.FAST_SOURCE})}")
