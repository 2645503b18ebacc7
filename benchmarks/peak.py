"""The morning peak (issue 23): a call-started burst at 3× the worker's warm capacity, lookups beside it.

One run, a fresh stack (broker, worker, Redis prefix) per stage: lookups first off; on with one fetch
for every lane (the default); on with the lookup lane's own consumer
(`WARMLINE_LOOKUP_LANE_CONSUMER=true`; the rows labelled plain "lookups first on", its name from
when it was the default):

1. Capacity: call-started for distinct callers published at once; events warmed per second on a
   worker with lookups first off (the rate the burst is a multiple of, measured in this run).
2. Per mode, on a fresh stack: callers warmed earlier; lookups for them at a steady rate over
   Kafka (warmline's LookupClient) and HTTP (the raw-stream client of httpload.py) without a
   burst; then the same lookups while call-started arrives at 3× capacity for BURST_S seconds
   (published by a process of its own, so the lookups' loop measures only the worker), plus
   lookups for callers of the burst after a queue wait, until the worker has warmed the whole
   burst. Latency is from each lookup's scheduled time (open loop).
3. Per mode: lookup p50/p99 with the burst against without (same worker, same run), time to
   warm (publish → the caller in L1, read from the entry's ``fetched_at`` in L2) p99, warm-at-answer for burst callers
   who waited ≥ 5 s, and the CPU of the worker beside the broker's (Tansu's process, from /proc).
   Kafka lookups' latency is also split in three (``_split``): until a consumer of this process
   (``RequestWatch``) fetched the request, until the worker's producer stamped the reply (its
   CreateTime), and until the reply arrived here.
4. Per mode, what the machine gave each process during the burst (``SchedulerShares``: time on a
   core and time waiting for one, for the worker, the broker, the publisher and this process), and
   how late this process's own loop ran (``loop_lateness``), without the burst and with it: the
   lookups are timed here, so a late client is in every sample.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from confluent_kafka import Producer

from harness.procs import SchedulerShares, cpu_seconds
from warmline.cache.l2 import customer_key_name
from warmline.client import LookupClient
from warmline.models import CacheEntry, normalize

from . import httpload, warming
from .stack import BenchStack, start_stack
from .stats import Result, summary_ms

BURST_MULTIPLE = 3
#: Lookups per second, per transport, for callers warmed before the burst (L1 hits when all is well).
WARM_RATE = 25.0
#: Lookups per second, per transport, for callers of the burst, each after a queue wait in WAITS_S.
BURST_KEY_RATE = 10.0
WAITS_S = (1.0, 10.0)
#: A burst caller who waited this long should find the worker ready (issue 23).
LONG_WAIT_S = 5.0
WARM_KEYS = 500
P99_BOUND = 1.5
FIRST_CAPACITY_ID, FIRST_BURST_ID = 1_001, 20_001


def _cid(i: int) -> str:
    return f"C-{i:06d}"


def _key(cid: str) -> str:
    return str(normalize("customer_id", cid))


@dataclass
class Sample:
    """One lookup: when it was due, how long from then to its answer, which tier answered."""

    transport: str  # kafka | http
    kind: str  # warm (a caller warmed earlier) | burst (a caller of the burst)
    phase: str  # baseline | burst
    due: float  # epoch seconds
    latency_s: float
    tier: str
    key: str
    #: Kafka only: when the worker's producer stamped the reply (its CreateTime) and when it arrived here.
    reply_stamped: float | None = None
    reply_received: float | None = None
    #: Kafka only: when a consumer of this process, beside the worker's, first fetched the request.
    request_seen: float | None = None


class RequestWatch:
    """A group-less consumer of the lookup-request topic, from its end: when each request (by id) could
    first be fetched, read beside the worker's own fetch of it."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.seen: dict[str, float] = {}
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5)
        self._topic = topic
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RequestWatch:
        await self._consumer.start()
        tps = [TopicPartition(self._topic, p) for p in sorted(self._consumer.partitions_for_topic(self._topic) or ())]
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._watch())
        return self

    async def _watch(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            now = time.time()
            for records in batches.values():
                for record in records:
                    request_id = orjson.loads(record.value or b"{}").get("request_id")
                    if request_id:
                        self.seen.setdefault(request_id, now)

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


class StampedClient(LookupClient):
    """A LookupClient that notes each reply's CreateTime and arrival (epoch s), by request id: where a
    slow Kafka lookup waited, before the worker's reply or after it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stamps: dict[str, tuple[float, float]] = {}

    def _received(self, record: ConsumerRecord[bytes, bytes]) -> None:
        request_id = orjson.loads(record.value or b"{}").get("request_id")
        if request_id:
            self.stamps[request_id] = (record.timestamp / 1000, time.time())
        super()._received(record)


async def _entries(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(f"{url}/v1/stats") as resp:
        return int((await resp.json())["l1"]["entries"])


async def _publish_all(stack: BenchStack, ids: list[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.tansu.bootstrap, linger_ms=5, max_batch_size=65536)
    await producer.start()
    try:
        for i, cid in enumerate(ids):
            body = orjson.dumps({"call_id": f"cap-{i}", "caller": "unknown", "customer_id": cid})
            await producer.send(stack.topics["call_started"], body, key=_key(cid).encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _until_entries(session: aiohttp.ClientSession, url: str, at_least: int, timeout_s: float) -> bool:
    async with asyncio.timeout(timeout_s):
        while await _entries(session, url) < at_least:
            await asyncio.sleep(0.25)
    return True


async def _calls_handled(session: aiohttp.ClientSession, url: str) -> float:
    """call-started events the worker has handled, whatever came of them (warmed, already fresh, failed)."""
    async with session.get(f"{url}/metrics") as resp:
        text = await resp.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("warmline_messages_total{") and "call-started" in line
    )


async def _until_handled(session: aiohttp.ClientSession, url: str, at_least: int, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while await _calls_handled(session, url) < at_least:
            await asyncio.sleep(0.25)


async def capacity(stack: BenchStack, events: int) -> tuple[float, dict[str, Any]]:
    """Events/s one worker warms when *events* call-started for distinct callers arrive at once."""
    ids = [_cid(i) for i in range(FIRST_CAPACITY_ID, FIRST_CAPACITY_ID + events)]
    async with aiohttp.ClientSession() as session:  # the worker has joined its group and warms: not timed
        await _publish_all(stack, [_cid(FIRST_CAPACITY_ID - 1)])
        await _until_entries(session, stack.url, 1, 120)
    worker_cpu = cpu_seconds(stack.worker.pid)
    started = time.perf_counter()
    await _publish_all(stack, ids)
    async with aiohttp.ClientSession() as session:
        await _until_entries(session, stack.url, events + 1, 600)
    elapsed = time.perf_counter() - started
    cpu_us = (cpu_seconds(stack.worker.pid) - worker_cpu) / events * 1e6
    return events / elapsed, {"events": events, "s": round(elapsed, 2), "worker_cpu_us_per_event": round(cpu_us)}


def _burst_main(bootstrap: str, topic: str, rate: float, seconds: float, first_id: int, t0: float, out: str) -> None:
    """The burst publisher, in a process of its own: call-started for distinct callers at *rate*/s
    from epoch *t0*; writes each caller's publish time (epoch) to *out*.

    librdkafka (confluent-kafka), not aiokafka: the platforms' events come from elsewhere in a
    contact center, so the publisher should take as little of this machine's two cores as it can.
    With aiokafka it used about a quarter of a core at 3,000 events/s (a probe of 7 Dec), all of it
    during the burst only, beside a worker and a broker already waiting for a core (the run's
    ``scheduler_during_burst``).
    """
    # murmur2 on the key, as Java producers (and aiokafka) partition; librdkafka's default is CRC32.
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "partitioner": "murmur2_random"}
    )
    published: dict[str, float] = {}
    total = int(rate * seconds)
    sent = 0
    time.sleep(max(0.0, t0 - time.time()))
    while sent < total:
        due = min(total, int((time.time() - t0) * rate) + 1)
        while sent < due:
            cid = _cid(first_id + sent)
            body = orjson.dumps({"call_id": f"peak-{sent}", "caller": "unknown", "customer_id": cid})
            while True:
                try:
                    producer.produce(topic, body, key=_key(cid).encode())
                    break
                except BufferError:  # librdkafka's local queue is full: the broker is behind
                    producer.poll(0.05)
            published[_key(cid)] = time.time()
            sent += 1
        producer.poll(0)
        time.sleep(0.005)
    if producer.flush(60) > 0:
        raise RuntimeError("the burst publisher could not deliver every call-started event within 60 s")
    Path(out).write_text(json.dumps(published))


class Lookups:
    """Open-loop lookups over Kafka and HTTP; each sample timed from its due time."""

    def __init__(
        self, stack: BenchStack, client: StampedClient, watch: RequestWatch, conns: list[httpload.Connection]
    ) -> None:
        self.stack = stack
        self.client = client
        self.watch = watch
        self.idle: asyncio.Queue[httpload.Connection] = asyncio.Queue()
        for conn in conns:
            self.idle.put_nowait(conn)
        self.samples: list[Sample] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def fire(self, transport: str, kind: str, phase: str, cid: str, due_perf: float, due_epoch: float) -> None:
        task = asyncio.create_task(self._one(transport, kind, phase, cid, due_perf, due_epoch))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _one(self, transport: str, kind: str, phase: str, cid: str, due_perf: float, due_epoch: float) -> None:
        stamped = received = seen = None
        if transport == "kafka":
            request_id = uuid.uuid4().hex
            reply = await self.client.lookup("customer_id", cid, timeout_ms=30_000, request_id=request_id)
            tier = reply.source.value if reply.source is not None else reply.status.value
            stamped, received = self.client.stamps.pop(request_id, (None, None))
            seen = self.watch.seen.pop(request_id, None)
        else:
            conn = await self.idle.get()
            try:
                request = httpload.get_request(self.stack.url, f"/v1/lookup?customer_id={cid}")
                status, head, _ = await conn.request(request)
            finally:
                self.idle.put_nowait(conn)
            tier = next((t for t in ("L1", "L2", "MISS") if f"X-Cache: {t}".encode() in head), f"status {status}")
        latency = time.perf_counter() - due_perf
        self.samples.append(
            Sample(transport, kind, phase, due_epoch, latency, tier.lower(), _key(cid), stamped, received, seen)
        )

    async def run(
        self,
        phase: str,
        stop: asyncio.Event,
        rng: random.Random,
        burst: tuple[float, float, int] | None = None,
    ) -> None:
        """Lookups until *stop*: warm callers at WARM_RATE per transport; with *burst* (its epoch
        start, rate, size) also its callers at BURST_KEY_RATE, each once it has waited in WAITS_S."""
        streams = [("kafka", "warm", WARM_RATE), ("http", "warm", WARM_RATE)]
        if burst is not None:
            streams += [("kafka", "burst", BURST_KEY_RATE), ("http", "burst", BURST_KEY_RATE)]
        step = 1 / sum(rate for *_, rate in streams)
        # Interleaved by weight: each stream's share of the ticks is its rate's share.
        credit = dict.fromkeys(range(len(streams)), 0.0)
        start_perf, start_epoch = time.perf_counter() + 0.05, time.time() + 0.05
        i = 0
        while not stop.is_set():
            due_perf = start_perf + i * step
            delay = due_perf - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            for s, (*_, rate) in enumerate(streams):
                credit[s] += rate * step
            s = max(credit, key=lambda k: credit[k])
            credit[s] -= 1
            transport, kind, _ = streams[s]
            due_epoch = start_epoch + i * step
            i += 1
            if kind == "warm":
                cid = _cid(rng.randint(1, WARM_KEYS))
            else:
                assert burst is not None
                t0, rate, size = burst
                index = int((due_epoch - rng.uniform(*WAITS_S) - t0) * rate)
                if not 0 <= index < size:
                    continue  # no caller of the burst has waited that long yet, or the burst is over
                cid = _cid(FIRST_BURST_ID + index)
            self.fire(transport, kind, phase, cid, due_perf, due_epoch)
        if self.tasks:
            await asyncio.gather(*self.tasks)


#: How often the lookup clients' own loop is checked for lateness (``loop_lateness``).
LATENESS_CHECK_S = 0.005


async def loop_lateness(stop: asyncio.Event, interval_s: float = LATENESS_CHECK_S) -> list[float]:
    """Until *stop*: how late this process's event loop ran a timer due every *interval_s*, in seconds.

    The lookups' latency is measured in this process, so its own lateness is in every sample: a
    client waiting for a core (or behind its own callbacks) sends late and reads replies late.
    """
    loop = asyncio.get_running_loop()
    late: list[float] = []
    while not stop.is_set():
        due = loop.time() + interval_s
        await asyncio.sleep(interval_s)
        late.append(max(0.0, loop.time() - due))
    return late


async def _warm_times(stack: BenchStack, published: dict[str, float]) -> dict[str, float]:
    """Epoch seconds at which each published caller went into L1: the ``fetched_at`` of its entry in
    L2, stamped by the same step that puts it into L1 (``TieredCache``), read back with MGET. (The
    L1 changelog says the same, but the embedded broker takes minutes to read a grown one.)"""
    client = redis.Redis.from_url(stack.env["WARMLINE_REDIS_URL"])
    prefix = f"warmline:v1:{stack.app_id}:"  # the worker's WARMLINE_REDIS_PREFIX (benchmarks/stack.py)
    keys = list(published)
    found: dict[str, float] = {}
    try:
        for i in range(0, len(keys), 1000):
            chunk = keys[i : i + 1000]
            names = [customer_key_name(key.split(":", 1)[1], prefix) for key in chunk]
            for key, raw in zip(chunk, await client.mget(names), strict=True):
                if raw is not None:
                    found[key] = CacheEntry.from_bytes(raw).fetched_at
    finally:
        await client.aclose()
    return found


def _cpu_share(pid: int, before: float, seconds: float) -> float:
    return round((cpu_seconds(pid) - before) / seconds * 100, 1)


async def one_mode(stack: BenchStack, label: str, rate: float, burst_s: float, baseline_s: float) -> dict[str, Any]:
    """Baseline lookups, then the burst with lookups until it is all warmed; everything one mode reports."""
    rng = random.Random(23)
    size = int(rate * burst_s)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{stack.url}/v1/lookup/batch",
            json={"lookups": [{"by": "customer_id", "value": _cid(i)} for i in range(1, WARM_KEYS + 1)]},
        ) as resp:
            assert all(r["status"] == "ok" for r in (await resp.json())["results"])
        conns = await httpload.connect(stack.url, 16)
        async with (
            StampedClient(
                stack.tansu.bootstrap,
                request_topic=stack.topics["lookup_request"],
                reply_topic=stack.topics["lookup_reply"],
                fetch_max_wait_ms=5,
            ) as client,
            RequestWatch(stack.tansu.bootstrap, stack.topics["lookup_request"]) as watch,
        ):
            lookups = Lookups(stack, client, watch, conns)
            for _ in range(20):  # connections and caches settle; not measured
                settled = await client.lookup("customer_id", _cid(1), timeout_ms=30_000)
                assert settled.status == "ok", settled
            stop = asyncio.Event()
            base = asyncio.create_task(lookups.run("baseline", stop, rng))
            base_late = asyncio.create_task(loop_lateness(stop))
            await asyncio.sleep(baseline_s)
            stop.set()
            await base
            lateness = {"without_burst": summary_ms(await base_late)}

            pids = {"worker": stack.worker.pid, "broker": stack.tansu.pid}
            cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
            t0 = time.time() + 3.0  # the publisher process is started and connected by then
            out = stack.workdir / f"burst-{label}.json"
            publisher = multiprocessing.get_context("spawn").Process(
                target=_burst_main,
                args=(stack.tansu.bootstrap, stack.topics["call_started"], rate, burst_s, FIRST_BURST_ID, t0, str(out)),
            )
            publisher.start()
            assert publisher.pid is not None
            stop = asyncio.Event()
            during = asyncio.create_task(lookups.run("burst", stop, rng, (t0, rate, size)))
            during_late = asyncio.create_task(loop_lateness(stop))
            await asyncio.sleep(max(0.0, t0 - time.time()))
            scheduler = SchedulerShares({**pids, "publisher": publisher.pid, "lookup clients": os.getpid()})
            await asyncio.sleep(burst_s)
            burst_cpu = {name: _cpu_share(pid, cpu0[name], time.time() - t0) for name, pid in pids.items()}
            burst_scheduler = scheduler.shares()
            cpu1 = {name: cpu_seconds(pid) for name, pid in pids.items()}
            drain_started = time.time()
            drained = True
            try:
                await _until_handled(session, stack.url, size, 900)
            except TimeoutError:
                drained = False
            drain_s = time.time() - drain_started
            drain_cpu = {name: _cpu_share(pid, cpu1[name], max(drain_s, 0.001)) for name, pid in pids.items()}
            stop.set()
            await during
            lateness["with_burst"] = summary_ms(await during_late)
            await asyncio.to_thread(publisher.join, 120)
            if publisher.exitcode != 0:
                raise RuntimeError(f"the burst publisher failed (exit code {publisher.exitcode}); see its output above")
            async with session.get(f"{stack.url}/metrics") as resp:
                yields = {
                    line.split('"')[1]: float(line.rsplit(" ", 1)[1])
                    for line in (await resp.text()).splitlines()
                    if line.startswith("warmline_warming_yields_total{")
                }
        for conn in conns:
            conn.close()
    published: dict[str, float] = json.loads(out.read_text())
    try:
        warmed, warm_error = await _warm_times(stack, published), None
    except Exception as e:  # noqa: BLE001  # reported in the JSON; the rest of the run is kept
        warmed, warm_error = {}, repr(e)
    to_warm = [warmed[k] - t for k, t in published.items() if k in warmed]
    return {
        "samples": lookups.samples,
        "published": published,
        "burst_events": len(published),
        "published_rate": round(len(published) / max(1e-9, max(published.values()) - min(published.values())), 1),
        "time_to_warm": (
            {**summary_ms(to_warm), "warmed": len(to_warm)} if to_warm else {"warmed": 0, "error": warm_error}
        ),
        "all_handled_s_after_burst": round(drain_s, 1) if drained else None,
        "cpu_pct_of_one_core": {"burst": burst_cpu, "drain": drain_cpu},
        "scheduler_during_burst": burst_scheduler,
        "lookup_clients_loop_lateness": lateness,
        "warming_yields": yields,
    }


def _latency(samples: list[Sample], transport: str, kind: str, phase: str) -> list[Sample]:
    return [s for s in samples if s.transport == transport and s.kind == kind and s.phase == phase]


def _tiers(samples: list[Sample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in samples:
        counts[s.tier] = counts.get(s.tier, 0) + 1
    return counts


def _split(samples: list[Sample]) -> dict[str, Any]:
    """Kafka lookups' latency in three parts: due → the request fetched by a watching consumer here
    (its produce and the broker), → the worker's producer stamped the reply (the worker's fetch and
    handling), → the reply received here (its produce and fetch)."""
    parts = [
        (s.request_seen - s.due, s.reply_stamped - s.request_seen, s.reply_received - s.reply_stamped)
        for s in samples
        if s.request_seen is not None and s.reply_stamped is not None and s.reply_received is not None
    ]
    if not parts:
        return {"stamped": 0}
    seen, handled, back = zip(*parts, strict=True)
    return {
        "due_to_request_seen": summary_ms(list(seen)),
        "request_seen_to_reply_stamped": summary_ms(list(handled)),
        "reply_stamped_to_received": summary_ms(list(back)),
        "stamped": len(parts),
    }


def results_of(label: str, run: dict[str, Any]) -> list[Result]:
    """The rows one mode reports."""
    rows: list[Result] = []
    samples: list[Sample] = run["samples"]
    for transport in ("kafka", "http"):
        quiet = _latency(samples, transport, "warm", "baseline")
        busy = _latency(samples, transport, "warm", "burst")
        q, b = summary_ms([s.latency_s for s in quiet]), summary_ms([s.latency_s for s in busy])
        ratio = b["p99_ms"] / q["p99_ms"]
        rows.append(
            Result(
                f"{label}: {transport} lookup p99, callers warmed earlier, during the burst",
                b["p99_ms"],
                "ms p99",
                f"≤ {P99_BOUND}× without the burst",
                ratio <= P99_BOUND,
                floor=q["p99_ms"],
                detail={
                    "without_burst": {**q, "tiers": _tiers(quiet)},
                    "with_burst": {**b, "tiers": _tiers(busy)},
                    "ratio_p99": round(ratio, 2),
                    "ratio_p50": round(b["p50_ms"] / q["p50_ms"], 2),
                    **(
                        {"with_burst_split": _split(busy), "without_burst_split": _split(quiet)}
                        if transport == "kafka"
                        else {}
                    ),
                },
                samples_ms=[s.latency_s * 1000 for s in busy],
            )
        )
        callers = _latency(samples, transport, "burst", "burst")
        if callers:
            rows.append(
                Result(
                    f"{label}: {transport} lookup p99, callers of the burst "
                    f"(after a {WAITS_S[0]:g}–{WAITS_S[1]:g} s wait)",
                    summary_ms([s.latency_s for s in callers])["p99_ms"],
                    "ms p99",
                    "reported",
                    None,
                    detail={**summary_ms([s.latency_s for s in callers]), "tiers": _tiers(callers)},
                )
            )
    published: dict[str, float] = run["published"]
    long_waits = [
        s for s in samples if s.kind == "burst" and s.key in published and s.due - published[s.key] >= LONG_WAIT_S
    ]
    warm = sum(1 for s in long_waits if s.tier == "l1")
    share = warm / len(long_waits) if long_waits else 0.0
    rows.append(
        Result(
            f"{label}: warm at answer, burst callers who waited ≥ {LONG_WAIT_S:g} s",
            round(share * 100, 2),
            "% L1",
            "reported (issue 23: warming finishes before the answer when capacity allows)",
            None,
            detail={"lookups": len(long_waits), "l1": warm, "tiers": _tiers(long_waits)},
        )
    )
    ttw = run["time_to_warm"]
    rows.append(
        Result(
            f"{label}: time to warm p99 under the burst (publish → caller in L1)",
            ttw.get("p99_ms", float("nan")),
            "ms p99",
            "reported",
            None,
            detail={
                **ttw,
                "burst_events": run["burst_events"],
                "published_rate_events_s": run["published_rate"],
                "all_handled_s_after_burst": run["all_handled_s_after_burst"],
                "cpu_pct_of_one_core": run["cpu_pct_of_one_core"],
                "scheduler_during_burst": run["scheduler_during_burst"],
                "lookup_clients_loop_lateness": run["lookup_clients_loop_lateness"],
                "warming_yields": run["warming_yields"],
            },
        )
    )
    return rows


def _quiet_samples(label: str, run: dict[str, Any]) -> list[Result]:
    """The without-burst latencies as plot-only rows (not in the table: their figure is each row's floor)."""
    rows = []
    for transport in ("kafka", "http"):
        quiet = _latency(run["samples"], transport, "warm", "baseline")
        rows.append(
            Result(
                f"{label}: {transport} lookup, no burst",
                summary_ms([s.latency_s for s in quiet])["p99_ms"],
                "ms p99",
                "baseline",
                None,
                samples_ms=[s.latency_s * 1000 for s in quiet],
            )
        )
    return rows


#: Starts a stack of its own for one stage (a name for its directory; the worker's env overrides).
NewStack = Callable[[str, dict[str, str]], Awaitable[BenchStack]]


async def stage_stack(
    tmp: Path, demo_db: Path, callers: int, redis_url: str, name: str, env: dict[str, str]
) -> BenchStack:
    """A stack for one stage in *tmp*/*name*, answering a copy of *demo_db* (every caller of the burst
    is in it) with the fast source and an L1 the burst does not evict; *env* overrides the worker's."""
    workdir = tmp / name
    workdir.mkdir()
    shutil.copyfile(demo_db, workdir / demo_db.name)  # one directory for every stage
    return await start_stack(
        workdir,
        demo_count=callers,
        WARMLINE_REDIS_URL=redis_url,
        **warming.FAST_SOURCE,
        WARMLINE_L1_MAX_ENTRIES="400000",  # the burst must not evict the callers warmed before it
        **env,
    )


async def morning_peak(new_stack: NewStack, quick: bool) -> list[Result]:
    """Capacity, then each mode (off; on with one fetch; on with the lane's consumer); the rows.

    Each stage on a stack of its own (broker, worker, Redis prefix): on one broker a later mode
    would fetch from call-started partitions holding every earlier burst (the embedded broker's
    fetch cost grows with partition size) and find the burst's callers in L2 already.
    """
    burst_s, baseline_s = (8.0, 5.0) if quick else (30.0, 15.0)
    off = {"WARMLINE_LOOKUPS_FIRST": "false", "WARMLINE_LOOKUP_LANE_CONSUMER": "false"}
    shared = {"WARMLINE_LOOKUPS_FIRST": "true", "WARMLINE_LOOKUP_LANE_CONSUMER": "false"}
    on = {"WARMLINE_LOOKUPS_FIRST": "true", "WARMLINE_LOOKUP_LANE_CONSUMER": "true"}
    stack = await new_stack("capacity", off)
    try:
        cap, cap_detail = await capacity(stack, 2_000 if quick else 8_000)
    finally:
        stack.stop()
    rate = BURST_MULTIPLE * cap
    rows = [
        Result(
            "warm capacity, one worker (lookups first off; 50 ms source, concurrency 1000)",
            round(cap),
            "events/s",
            f"measured: the burst is {BURST_MULTIPLE}× this",
            None,
            detail={**cap_detail, "burst_rate_events_s": round(rate), "burst_s": burst_s},
        )
    ]
    modes = (
        ("lookups first off", off),
        ("lookups first on, one fetch for all lanes", shared),
        ("lookups first on", on),
    )
    for n, (label, env) in enumerate(modes):
        stack = await new_stack(f"mode-{n}", env)
        try:
            run = await one_mode(stack, label, rate, burst_s, baseline_s)
        finally:
            stack.stop()
        rows += results_of(label, run)
        rows += _quiet_samples(label, run)
    return rows


def meta() -> dict[str, Any]:
    """What the JSON records beside the rows (the machine is shared: its load)."""
    return {
        "loadavg_start": os.getloadavg(),
        "lookup_rates_per_transport": {"warm_callers": WARM_RATE, "burst_callers": BURST_KEY_RATE},
        "waits_s": WAITS_S,
        "kafka_client": "warmline LookupClient (aiokafka, keyed requests, fetch wait 5 ms)",
        "http_client": "benchmarks/httpload.py connections (16, keep-alive)",
        "cpu": "user+system seconds from /proc/PID/stat over the phase, % of one core",
    }
