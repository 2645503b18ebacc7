"""Failover windows: a worker killed soon after it joined, on a fresh broker, under unkeyed requests.

Each window starts from nothing: a new Tansu, no topics (worker-0 creates them), worker-0 ready,
then worker-1 started and ready. A plain aiokafka client (not warmline's) sends unkeyed lookups
open loop at a fixed rate, a third of them for keys never asked before, and reads the replies from
a topic of its own. worker-1 is killed with SIGKILL a few seconds into the load and started again
(same data dir) a few seconds later; the client waits for every reply. Every request sent is
counted: answered, lost (no reply within the wait), answered more than once.

The timings vary the order of the group's rebalances (docs/faults.md, "Failover windows"):
worker-1 back before its dead member's session expires (one rebalance: it takes its partitions
back), or after (the survivor takes every partition, including ones it owned before worker-1
joined, then hands some back).

`python -m benchmarks.faults.failover` writes benchmarks/results/failover.json; `make faults`
runs it after the fault suite. benchmarks/tests/integration/test_failover.py runs one window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from harness.fault_stack import FaultStack
from harness.kafka import committed, trace

from ..report import RESULTS_DIR

logger = logging.getLogger(__name__)

#: Group timing as in the report of issue 19 (close to what a worker applies on the embedded broker).
GROUP_ENV = {
    "WARMLINE_BROKER_SESSION_TIMEOUT_S": "10",
    "WARMLINE_BROKER_REBALANCE_TIMEOUT_S": "5",
    "WARMLINE_BROKER_HEARTBEAT_INTERVAL_S": "1",
    "WARMLINE_PRODUCER_MAX_BATCH_SIZE": "1",
    "WARMLINE_CONSUMER_FETCH_MAX_WAIT_MS": "5",
}
PARTITIONS = 8


@dataclass(frozen=True)
class Timing:
    """When worker-1 is killed and started again, in seconds after the load began."""

    kill_at: float
    restart_at: float

    @property
    def label(self) -> str:
        return f"kill {self.kill_at:g} s, back {self.restart_at:g} s"


#: The reported scenario (5 → 12) and its neighbours; 18 is past the dead member's 10 s session.
TIMINGS = (Timing(5, 12), Timing(2, 8), Timing(5, 18), Timing(8, 12), Timing(5, 12))


@dataclass
class WindowResult:
    """What one window sent and got back."""

    timing: str
    sent: int
    answered: int
    lost: int
    duplicates: int
    failover_s: float | None  # kill → the last first reply to a request sent while worker-1 was down
    lost_at: list[tuple[int, int]] = field(default_factory=list)  # (partition, offset) of each lost request
    # Where each lost request was found again afterwards: topic → [partition, offset] (a re-keyed
    # copy in the repartition topic; a reply the client did not read).
    lost_traced: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    committed: dict[str, int | None] = field(default_factory=dict)  # the group's commits afterwards
    tracebacks: int = 0


async def _send_load(
    bootstrap: str, topic: str, reply_topic: str, rate: float, duration_s: float, t0: float
) -> dict[str, tuple[float, int, int]]:
    """Unkeyed lookups at *rate*/s from *t0* on, open loop; request id → (due time, partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    seen = [f"+1415{n:07d}" for n in random.sample(range(10_000), 40)]
    pending: dict[str, tuple[float, asyncio.Future[Any]]] = {}
    try:
        for i in range(int(rate * duration_s)):
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            phone = f"+1628{random.randrange(10_000_000):07d}" if i % 3 == 0 else random.choice(seen)
            rid = f"fo-{uuid.uuid4().hex[:10]}"
            body = {"request_id": rid, "reply_to": reply_topic, "by": "phone", "value": phone}
            pending[rid] = (due, await producer.send(topic, orjson.dumps(body)))
        written = {}
        for rid, (due, future) in pending.items():
            metadata = await future
            written[rid] = (due, metadata.partition, metadata.offset)
        return written
    finally:
        await producer.stop()


async def _read_replies(bootstrap: str, topic: str, replies: dict[str, list[float]]) -> None:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, fetch_max_wait_ms=5, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async for message in consumer:
            rid = orjson.loads(message.value or b"{}").get("request_id")
            if isinstance(rid, str):
                replies.setdefault(rid, []).append(time.monotonic())
    finally:
        await consumer.stop()


async def window(
    workdir: Path, timing: Timing, *, rate: float = 12, duration_s: float = 20, wait_s: float = 90
) -> WindowResult:
    """One failover window on a stack of its own (see the module docstring)."""
    stack = FaultStack(workdir, partitions=PARTITIONS)
    try:
        await stack.start(workers=2, create_topics=False, extra_env=GROUP_ENV)
        bootstrap, victim = stack.broker.bootstrap, stack.workers[1]
        reply_topic = f"failover-replies-{uuid.uuid4().hex[:6]}"
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(reply_topic, 1, 1)])
        finally:
            await admin.close()
        replies: dict[str, list[float]] = {}
        reader = asyncio.create_task(_read_replies(bootstrap, reply_topic, replies))
        t0 = time.monotonic() + 1.0
        load = asyncio.create_task(
            _send_load(bootstrap, stack.topics["lookup_request"], reply_topic, rate, duration_s, t0)
        )
        await asyncio.sleep(t0 + timing.kill_at - time.monotonic())
        killed = time.monotonic()
        victim.kill()
        await asyncio.sleep(max(0.0, t0 + timing.restart_at - time.monotonic()))
        restarted = time.monotonic()
        await asyncio.to_thread(victim.start)
        sent = await load
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not set(sent) <= set(replies):
            await asyncio.sleep(0.25)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        during = [rid for rid, (due, _, _) in sent.items() if killed <= due < restarted and rid in replies]
        lost = sorted((p, o) for rid, (_, p, o) in sent.items() if rid not in replies)
        app_topics = [stack.topics["lookup_request"], f"{stack.app_id}-lookup-request-repartition"]
        lost_ids = {rid for rid in sent if rid not in replies}
        return WindowResult(
            timing=timing.label,
            sent=len(sent),
            answered=len(set(sent) & set(replies)),
            lost=len(lost),
            duplicates=sum(len(replies[rid]) - 1 for rid in sent if rid in replies),
            failover_s=round(max(replies[rid][0] for rid in during) - killed, 2) if during else None,
            lost_at=lost,
            lost_traced=await trace(bootstrap, [app_topics[1], reply_topic], lost_ids),
            committed=await committed(bootstrap, stack.app_id, app_topics, PARTITIONS),
            tracebacks=stack.tracebacks(),
        )
    finally:
        stack.stop()


async def run(workdir: Path, timings: list[Timing]) -> list[WindowResult]:
    """Every window in turn, each on a fresh stack under *workdir*."""
    results = []
    for i, timing in enumerate(timings):
        result = await window(workdir / f"window-{i}", timing)
        logger.warning(
            "window %d (%s): %d sent, %d lost, %d duplicates, failover %s s",
            i,
            timing.label,
            result.sent,
            result.lost,
            result.duplicates,
            result.failover_s,
        )
        results.append(result)
    return results


def summary(results: list[WindowResult]) -> dict[str, Any]:
    """Totals over the windows, and per timing."""
    by_timing: dict[str, list[WindowResult]] = {}
    for r in results:
        by_timing.setdefault(r.timing, []).append(r)
    failovers = [r.failover_s for r in results if r.failover_s is not None]
    return {
        "windows": len(results),
        "sent": sum(r.sent for r in results),
        "lost": sum(r.lost for r in results),
        "windows_with_loss": sum(1 for r in results if r.lost),
        "duplicates": sum(r.duplicates for r in results),
        "failover_s": {
            "median": statistics.median(failovers) if failovers else None,
            "max": max(failovers) if failovers else None,
        },
        "by_timing": {
            label: {"windows": len(rs), "sent": sum(r.sent for r in rs), "lost": sum(r.lost for r in rs)}
            for label, rs in by_timing.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults.failover")
    parser.add_argument("--windows", type=int, default=10, help="how many windows (the timings repeat in turn)")
    parser.add_argument("--timing", help="KILL,RESTART seconds after the load began, for every window (e.g. 5,12)")
    parser.add_argument("--name", default="failover", help="results file name")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (worker logs) after the run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    if args.windows < 1:
        parser.error("--windows must be at least 1")
    if args.timing:
        try:
            kill_at, restart_at = (float(x) for x in args.timing.split(","))
        except ValueError:
            parser.error(f"--timing wants KILL,RESTART (e.g. 5,12), not {args.timing!r}")
        if not 0 <= kill_at < restart_at:
            parser.error("--timing: the kill comes first, then the restart")
        timings = [Timing(kill_at, restart_at)] * args.windows
    else:
        timings = [TIMINGS[i % len(TIMINGS)] for i in range(args.windows)]
    started = time.monotonic()
    kept = tempfile.mkdtemp(prefix="warmline-failover-") if args.keep else None
    with tempfile.TemporaryDirectory(prefix="warmline-failover-") as scratch:
        results = asyncio.run(run(Path(kept or scratch), timings))
    if kept:
        print(f"logs kept under {kept}")
    doc = {
        "benchmark": "failover",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "duration_s": round(time.monotonic() - started, 1),
        "setup": {"partitions": PARTITIONS, "rate_per_s": 12, "load_s": 20, "group": GROUP_ENV},
        "summary": (totals := summary(results)),
        "windows": [asdict(r) for r in results],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{args.name}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(
        f"{totals['windows']} windows: {totals['lost']} of {totals['sent']} lost; "
        f"failover median {totals['failover_s']['median']} s"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
