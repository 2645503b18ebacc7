"""Pre-warming figures (issue 4): warm-at-answer, pre-warm throughput, batch speedup, bulk vs live."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from harness.procs import cpu_seconds
from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.commands.remote import HttpLookups, Lookups
from warmline.commands.simulator import Callers, SimConfig, SimReport, simulate
from warmline.lookups import LookupService
from warmline.models import LookupKey, normalize
from warmline.prewarm.bulk import WarmOrigin, WarmPolicy
from warmline.sources.base import Priority, SourceResult
from warmline.sources.demo import DemoSource
from warmline.sources.demo.generate import sample_contacts

from .stack import BenchStack
from .stats import Result, summary_ms

#: The pre-warm runs' source: 50 ms a call and 1,000 slots, so its gate (20,000 calls/s) is never the limit.
FAST_SOURCE = {"WARMLINE_DEMO_LATENCY_MS": "50", "WARMLINE_SOURCE_CONCURRENCY": "1000"}

ADMIN = {"Authorization": "Bearer bench"}


async def _stats(session: aiohttp.ClientSession, url: str) -> dict:
    async with session.get(f"{url}/v1/stats") as resp:
        return await resp.json()


#: What becomes of a call-started event in the end (``rekeyed`` is a hop on the way to its owner).
FINAL_OUTCOMES = ("warmed", "failed", "already_fresh", "too_old", "dead_letter")


async def _event_outcomes(session: aiohttp.ClientSession, url: str) -> dict[str, int]:
    """The worker at *url*'s events by final outcome, over every topic (``warmline_messages_total``)."""
    async with session.get(f"{url}/metrics") as resp:
        text = await resp.text()
    counts = dict.fromkeys(FINAL_OUTCOMES, 0.0)
    for family in text_string_to_metric_families(text):
        if family.name == "warmline_messages":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("outcome") in counts:
                    counts[sample.labels["outcome"]] += sample.value
    return {outcome: round(n) for outcome, n in counts.items()}


async def simulate_calls(
    stack: BenchStack, config: SimConfig, lookups: Callable[[aiohttp.ClientSession], Lookups]
) -> tuple[SimReport, dict[str, Any]]:
    """Run `warmline simulate`'s simulator against the stack's worker (callers from the demo directory,
    answered through *lookups(session)*); returns its report and the worker's /v1/stats afterwards."""
    callers = Callers(sample_contacts(stack.demo_db, "phone", 5000), config)
    producer = AIOKafkaProducer(bootstrap_servers=stack.tansu.bootstrap, linger_ms=2)
    await producer.start()
    try:
        async with aiohttp.ClientSession() as session:
            report = await simulate(config, producer, stack.topics["call_started"], lookups(session), callers)
            stats = await _stats(session, stack.url)
    finally:
        await producer.stop()
    return report, stats


async def warm_at_answer(stack: BenchStack, rate: float, duration_s: float, wait_s: tuple[float, float]) -> Result:
    """Simulated calls (source 500–2000 ms, queue waits ≥ the source's worst latency): share answered from L1."""
    config = SimConfig(rate=rate, duration_s=duration_s, unknown_share=0.05, wait_s=wait_s, immediate_share=0.0)
    report, stats = await simulate_calls(stack, config, lambda session: HttpLookups(session, stack.url))
    data = report.as_dict()
    ratio = data["warm_at_answer_ratio"] or 0.0
    return Result(
        f"warm at answer (waits {wait_s[0]:g}–{wait_s[1]:g} s, source 500–2000 ms)",
        round(ratio * 100, 2),
        "% L1",
        "≥ 99.5 %",
        ratio >= 0.995,
        detail={**data, "worker_view": stats["warm_at_answer"]},
    )


async def prewarm_throughput(
    stack: BenchStack, events: int, workers: int = 1, concurrency: int = 1000, label: str = ""
) -> Result:
    """call-started events for distinct callers, published at once: accepted and warmed per second,
    the workers' CPU time per event (process CPU / events), and two floors: a bare aiokafka consume
    loop over the same events, and the source gate's ceiling (concurrency / source latency)."""
    urls = [stack.url]
    for _ in range(workers - 1):
        urls.append(await stack.add_worker())
    if workers > 1:
        await asyncio.sleep(15)  # the group rebalances onto every worker before the clock starts
    pids = [stack.worker.pid, *(p.pid for p in stack.extra_workers)]
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    ids = [f"C-{i:06d}" for i in range(1, events + 1)]
    topic = stack.topics["call_started"]
    producer = AIOKafkaProducer(bootstrap_servers=stack.tansu.bootstrap, linger_ms=5, max_batch_size=65536)
    await producer.start()
    started = time.perf_counter()
    try:
        for i, cid in enumerate(ids):
            body = orjson.dumps({"call_id": f"t-{i}", "caller": "unknown", "customer_id": cid})
            await producer.send(topic, body, key=str(normalize("customer_id", cid)).encode())
        await producer.flush()
    finally:
        await producer.stop()
    published_s = time.perf_counter() - started
    async with aiohttp.ClientSession() as session:
        async with asyncio.timeout(600):
            # The clock stops once the workers have done with every event, by their own count, not on
            # their L1 sizes: those counted Faust's standby copies while warmline kept them (before
            # 7 Dec evening; WARMLINE_L1_STANDBY_REPLICAS > 0), which stopped the clock early twice.
            while True:
                outcomes = [await _event_outcomes(session, url) for url in urls]
                if sum(sum(o.values()) for o in outcomes) >= events:
                    break
                await asyncio.sleep(0.2)
            views = [await _stats(session, url) for url in urls]
    warmed = sum(o["warmed"] for o in outcomes)
    elapsed = time.perf_counter() - started
    entries = sum(v["l1"]["entries"] for v in views)
    cpu_us = (sum(cpu_seconds(pid) for pid in pids) - cpu_before) / events * 1e6
    rate = events / elapsed
    calls = sum(v["source"]["calls"] for v in views)
    bare = await _bare_consume_rate(stack, topic, events)
    gate_ceiling = concurrency / 0.050
    return Result(
        f"pre-warm throughput, {workers} worker{'s' if workers > 1 else ''} (50 ms source, concurrency {concurrency})"
        + label,
        round(rate),
        "events/s",
        "≥ 5,000/s, none lost",
        rate >= 5000 and warmed == events and (workers > 1 or entries == events),
        floor=round(min(bare, gate_ceiling)),
        detail={
            "events": events,
            "workers": workers,
            "warmed_events": warmed,
            "warmed_in_l1": entries,  # standby copies included, with WARMLINE_L1_STANDBY_REPLICAS > 0
            "source_calls": calls,
            "publish_s": round(published_s, 2),
            "all_warm_s": round(elapsed, 2),
            "cpu_us_per_event": round(cpu_us),
            "cpu_target": "≤ 200 µs",
            "floor_bare_aiokafka_consume_events_s": round(bare),
            "floor_source_gate_ceiling_events_s": round(gate_ceiling),
        },
    )


async def _bare_consume_rate(stack: BenchStack, topic: str, events: int) -> float:
    """Events/s of a bare aiokafka consumer reading and JSON-decoding *events* records of *topic*."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.tansu.bootstrap,
        group_id=f"floor-{uuid.uuid4().hex[:6]}",
        fetch_max_wait_ms=5,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        got = 0
        started = time.perf_counter()
        async with asyncio.timeout(120):
            while got < events:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        orjson.loads(record.value or b"null")
                        got += 1
        return got / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def bulk_warm(stack: BenchStack, keys: int) -> Result:
    """POST /v1/prewarm of *keys* distinct keys: keys warmed per second (the live-priority check is
    bulk_vs_live's)."""
    body = {"keys": [f"customer_id:C-{i:06d}" for i in range(1, keys + 1)]}
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1800)) as session,
        session.post(f"{stack.url}/v1/prewarm", json=body, headers=ADMIN) as resp,
    ):
        job = await resp.json()
    elapsed = time.perf_counter() - started
    rate = job["warmed"] / elapsed
    return Result(
        f"bulk warm of {keys:,} keys over HTTP (50 ms source)",
        round(rate),
        "keys/s",
        "reported (56 of 64 source slots)",
        None,
        detail={
            **{k: job.get(k) for k in ("total", "warmed", "failed", "invalid", "p50_ms", "p99_ms")},
            "s": round(elapsed, 1),
        },
    )


async def batch_speedup(demo_db: Path, n: int, c: int, latency_ms: float = 20.0) -> Result:
    """LookupService.warm_many over N keys: concurrency C against concurrency 1, same source (demo, fixed latency).

    The warm loop alone: the cache has no L2 and the source no gate (no source-slot limit, no
    breaker), so the figure is named for that; the worker's whole path is bulk_warm's.
    """

    async def run(concurrency: int) -> float:
        source = DemoSource(demo_db, (latency_ms, latency_ms))

        async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
            return await source.lookup(key)

        cache = TieredCache(TableL1({}, n * 2), None, fetch, CachePolicy())
        keys = [normalize("customer_id", f"C-{i:06d}") for i in range(1, n + 1)]
        started = time.perf_counter()
        job = await LookupService(cache).warm_many(
            keys, origin=WarmOrigin.ADMIN, policy=WarmPolicy(concurrency=concurrency)
        )
        took = time.perf_counter() - started
        await source.aclose()
        assert job.stats()["warmed"] == n
        return took

    sequential, parallel = await run(1), await run(c)
    speedup = sequential / parallel
    target = 0.9 * min(n, c)
    return Result(
        f"warm_many speedup N={n} C={c} (L1 only: no L2, no source gate)",
        round(speedup, 2),
        "×",
        f"≥ {target:g}× (0.9·min(N,C))",
        speedup >= target,
        detail={"sequential_s": round(sequential, 3), "concurrent_s": round(parallel, 3), "source_ms": latency_ms},
    )


async def _changelog_times(stack: BenchStack, keys: set[str]) -> dict[str, float]:
    """Epoch seconds at which each of *keys* was first written to the worker's L1 changelog."""
    topic = f"{stack.app_id}-l1-changelog"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.tansu.bootstrap, fetch_max_wait_ms=5, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        await consumer.topics()  # metadata of every topic: the changelog's partition count is the broker's
        partitions = consumer.partitions_for_topic(topic) or set()
        assert partitions, f"no changelog topic {topic}"
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        ends = await consumer.end_offsets(list(consumer.assignment()))
        found: dict[str, float] = {}
        async with asyncio.timeout(60):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for r in records:
                        key = r.key.decode() if r.key else ""
                        if key in keys and key not in found and r.value:
                            found[key] = r.timestamp / 1000
        return found
    finally:
        await consumer.stop()


async def _live_time_to_warm(stack: BenchStack, ids: list[str], rate: float, bulk: list[str] | None) -> dict:
    """Publish call-started for *ids* at *rate*/s (optionally with a bulk warm running) and measure,
    per caller, publish → L1 changelog write: the caller's end-to-end time to warm."""
    async with aiohttp.ClientSession() as session:
        producer = AIOKafkaProducer(bootstrap_servers=stack.tansu.bootstrap, linger_ms=0)
        await producer.start()
        published: dict[str, float] = {}
        try:
            for i, cid in enumerate(ids[:20]):  # warm-up callers: connections, caches; not measured
                await producer.send(
                    stack.topics["call_started"],
                    orjson.dumps({"call_id": f"w-{i}", "caller": "x", "customer_id": cid}),
                    key=str(normalize("customer_id", cid)).encode(),
                )
            await asyncio.sleep(2)
            job = None
            if bulk:
                job = asyncio.create_task(session.post(f"{stack.url}/v1/prewarm", json={"keys": bulk}, headers=ADMIN))
                await asyncio.sleep(0.5)
            for i, cid in enumerate(ids[20:]):
                key = str(normalize("customer_id", cid))
                published[key] = time.time()
                body = orjson.dumps({"call_id": f"live-{i}", "caller": "x", "customer_id": cid})
                await producer.send(stack.topics["call_started"], body, key=key.encode())
                await asyncio.sleep(1 / rate)
        finally:
            await producer.stop()
        await asyncio.sleep(2)
        bulk_running = job is not None and not job.done()
        if job is not None:
            await (await job).read()
    warmed = await _changelog_times(stack, set(published))
    latencies = [warmed[k] - t for k, t in published.items() if k in warmed]
    return {
        **summary_ms(latencies),
        "warmed": len(latencies),
        "callers": len(published),
        "bulk_still_running": bulk_running,
    }


async def bulk_vs_live(stack: BenchStack, live_calls: int, rate: float, bulk_keys: int) -> Result:
    """Live callers' time to warm without, then during, a bulk warm (a fresh worker for each run)."""
    live_a = [f"C-{i:06d}" for i in range(50_001, 50_001 + live_calls)]
    live_b = [f"C-{i:06d}" for i in range(60_001, 60_001 + live_calls)]
    bulk = [f"customer_id:C-{i:06d}" for i in range(1, bulk_keys + 1)]
    alone = await _live_time_to_warm(stack, live_a, rate, None)
    await stack.restart_worker()
    loaded = await _live_time_to_warm(stack, live_b, rate, bulk)
    ratio = loaded["p99_ms"] / alone["p99_ms"]
    met = ratio < 1.10 and loaded["warmed"] == loaded["callers"] and loaded["bulk_still_running"]
    return Result(
        f"live time-to-warm p99 during a {bulk_keys:,}-key bulk warm (prewarm concurrency 8)",
        loaded["p99_ms"],
        "ms p99",
        "< 1.10× without bulk",
        met,
        floor=alone["p99_ms"],
        detail={"alone": alone, "with_bulk": loaded, "ratio": round(ratio, 3)},
    )
