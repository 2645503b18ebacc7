"""Failover windows: a worker killed soon after it joined, on a fresh broker, under unkeyed requests.

Each window on a stack of its own (new Tansu, worker-0 creates the topics, then worker-1): a plain
aiokafka producer sends unkeyed lookups open loop, worker-1 is SIGKILLed and started again at the
window's Timing, and every request is counted: answered, lost (no reply within the wait), answered
twice. docs/faults.md, "Failover windows", says why the timings vary and what was found.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from harness.fault_stack import FaultStack
from harness.kafka import committed, trace
from harness.pacing import open_loop
from warmline.commands.embedded_broker import create_topics

from ..report import run_dir, write_run
from .hostile import Tally
from .load import Ledger, Sent, read_replies

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
    bootstrap: str, topic: str, reply_topic: str, rate: float, duration_s: float, ledger: Ledger
) -> None:
    """Unkeyed lookups at *rate*/s open loop from the ledger's t0, each in *ledger* at its due time and place."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    seen = [f"+1415{n:07d}" for n in random.sample(range(10_000), 40)]
    pending: list[tuple[Sent, asyncio.Future[Any]]] = []
    try:
        async for i in open_loop(rate, start=ledger.t0, count=int(rate * duration_s)):
            phone = f"+1628{random.randrange(10_000_000):07d}" if i % 3 == 0 else random.choice(seen)
            entry = ledger.add(f"fo-{uuid.uuid4().hex[:10]}", "kafka", hot=False)
            entry.t = i / rate
            body = {"request_id": entry.rid, "reply_to": reply_topic, "by": "phone", "value": phone}
            pending.append((entry, await producer.send(topic, orjson.dumps(body))))
        for entry, future in pending:
            metadata = await future
            entry.where = (metadata.partition, metadata.offset)
    finally:
        await producer.stop()


async def window(
    workdir: Path, timing: Timing, *, rate: float = 12, duration_s: float = 20, wait_s: float = 90
) -> WindowResult:
    """One failover window on a stack of its own (see the module docstring)."""
    stack = FaultStack(workdir, partitions=PARTITIONS)
    try:
        await stack.start(workers=2, create_topics=False, extra_env=GROUP_ENV)
        bootstrap, victim = stack.broker.bootstrap, stack.workers[1]
        reply_topic = f"failover-replies-{uuid.uuid4().hex[:6]}"
        await create_topics(bootstrap, [reply_topic], 1)
        ledger = Ledger(t0=time.monotonic() + 1.0)
        reader = read_replies(bootstrap, [reply_topic], 1, ledger, Tally())
        await reader.start()
        load = asyncio.create_task(
            _send_load(bootstrap, stack.topics["lookup_request"], reply_topic, rate, duration_s, ledger)
        )
        await asyncio.sleep(ledger.t0 + timing.kill_at - time.monotonic())
        killed = ledger.now()
        victim.kill()
        await asyncio.sleep(max(0.0, ledger.t0 + timing.restart_at - time.monotonic()))
        restarted = ledger.now()
        await asyncio.to_thread(victim.start)
        await load
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and ledger.pending():
            await asyncio.sleep(0.25)
        await reader.stop()
        sent = list(ledger.sent.values())
        lost = [s for s in sent if not s.replies]
        during = [s.t_reply for s in sent if s.t_reply is not None and killed <= s.t < restarted]
        app_topics = [stack.topics["lookup_request"], f"{stack.app_id}-lookup-request-repartition"]
        return WindowResult(
            timing=timing.label,
            sent=len(sent),
            answered=len(sent) - len(lost),
            lost=len(lost),
            duplicates=sum(s.replies - 1 for s in sent if s.replies),
            failover_s=round(max(during) - killed, 2) if during else None,
            lost_at=sorted(s.where for s in lost if s.where is not None),
            lost_traced=await trace(bootstrap, [app_topics[1], reply_topic], {s.rid for s in lost}),
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
    with run_dir("warmline-failover-", args.keep) as workdir:
        results = asyncio.run(run(workdir, timings))
    totals = summary(results)
    setup = {"partitions": PARTITIONS, "rate_per_s": 12, "load_s": 20, "group": GROUP_ENV}
    path = write_run(
        "failover", args.name, started, {"setup": setup, "summary": totals, "windows": [asdict(r) for r in results]}
    )
    print(
        f"{totals['windows']} windows: {totals['lost']} of {totals['sent']} lost; "
        f"failover median {totals['failover_s']['median']} s"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
