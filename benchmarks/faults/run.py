"""One fault run: start the stack, warm, baseline, each fault in turn, the hostile flood, schemathesis; a leak
scan of what the workers wrote; then the S3 stack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import http_fuzz
from harness.fault_stack import ADMIN_TOKEN, API_TOKEN, PARTITIONS, FaultStack
from harness.hostile import generate, reply_topic_of
from harness.kafka import TopicReader, committed
from harness.pacing import LoopLag
from harness.procs import CpuShares
from warmline.commands.embedded_broker import create_topics

from . import hostile
from .analysis import fault_report, figures, goal
from .load import HOT_KEYS, LOST_AFTER_S, Ledger, LoadGenerator, Rates, read_replies
from .scenario import FAULTS, Window, inject, kill_broker

logger = logging.getLogger(__name__)


@dataclass
class Plan:
    """What a run does; the defaults are `make faults`, the smoke test passes a small one."""

    rates: Rates = field(default_factory=Rates)
    baseline_s: float = 20.0
    faults: list[str] = field(default_factory=lambda: list(FAULTS))
    hostile: int = 100_000
    hostile_rate: float = 600.0  # about what two workers dead-letter per second on the 2-core machine
    hostile_budget_s: float = 170.0  # sending stops here, so `make faults` stays under 10 minutes
    hostile_sticky: bool = True  # unkeyed records placed as Java and librdkafka clients do (hostile.send_all)
    accounting_s: float = 30.0  # how long to wait for the dead letters, replies and commits after it
    after_s: float | None = None  # overrides each fault's observation period (the smoke test shortens it)
    durable: bool = True
    durable_rates: Rates = field(default_factory=lambda: Rates(kafka=20, http=10, calls=2))
    partitions: int = PARTITIONS
    http_fuzz_examples: int = 30  # schemathesis cases per operation after the flood (0: none)


@dataclass
class Outcome:
    """The ledgers and windows of a run (for the plot) and its report (for the JSON)."""

    panels: list[tuple[str, Ledger, list[Window]]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


async def _settle(ledger: Ledger) -> None:
    """Wait until every request is answered, or LOST_AFTER_S after the last one was sent."""
    last = max((s.t for s in ledger.sent.values()), default=0.0)
    while ledger.pending() and ledger.now() < last + LOST_AFTER_S + 1:
        await asyncio.sleep(0.25)


async def _hostile_phase(
    stack: FaultStack, ledger: Ledger, tally: hostile.Tally, plan: Plan
) -> tuple[Window, dict[str, Any]]:
    """Send the hostile messages while the load runs; wait for the positive signals of their handling."""
    items = list(generate(plan.hostile, stack.topics))
    bootstrap, default = stack.broker.bootstrap, stack.topics["lookup_reply"]
    # Valid requests may name other (legal) reply topics: create and read those too.
    elsewhere = sorted(
        {reply_topic_of(h.value, h.headers, default) for h in items if h.expect_reply and not h.expect_dlq} - {default}
    )
    extra = read_replies(bootstrap, elsewhere, stack.partitions, Ledger(), tally) if elsewhere else None
    if extra is not None:
        await create_topics(bootstrap, elsewhere, stack.partitions)
        await extra.start()
    dlq = TopicReader(bootstrap, [stack.topics["lookup_dlq"]], tally.take_letter, stack.partitions)
    await dlq.start()
    inputs = [stack.topics[n] for n in ("lookup_request", "call_started", "customer_changed")]
    start, t0 = ledger.now(), time.monotonic()
    busy = CpuShares({"broker": stack.broker, **{w.name: w for w in stack.workers}})
    lag = LoopLag()
    lag.start()
    await hostile.send_all(
        bootstrap, stack.topics, items, tally, plan.hostile_rate, plan.hostile_budget_s, sticky=plan.hostile_sticky
    )
    send_s = time.monotonic() - t0
    cpu_while_sending = busy.shares()
    lag_while_sending = await lag.stop()
    end = ledger.now()
    ends = hostile.last_offsets(tally)
    # Positive signals: every expected dead letter and reply is in, and the workers' group has
    # committed every input partition past the last hostile message sent to it.
    behind: dict[str, int] = {}
    deadline = time.monotonic() + plan.accounting_s
    while time.monotonic() < deadline:
        report = tally.report()
        done_at = await committed(bootstrap, stack.app_id, inputs, stack.partitions)
        behind = {tp: ends[tp] - (done_at[tp] or 0) for tp in ends if (done_at[tp] or 0) < ends[tp]}
        if not report["dead_letters_missing"] and not report["replies_missing"] and not behind:
            break
        await asyncio.sleep(1)
    drained_s = time.monotonic() - t0
    await dlq.stop()
    reread: dict[str, Any] | None = None
    if tally.report()["dead_letters_missing"]:  # missed by the live reader, or not on the broker?
        named, complete = await hostile.reread_dead_letters(bootstrap, stack.topics["lookup_dlq"], stack.partitions)
        missing = sum(1 for k, h in tally.sent.items() if h.expect_dlq and k not in named)
        reread = {"records": len(named), "complete": complete, "dead_letters_missing": missing}
    if extra is not None:
        await extra.stop()
    report = {
        **tally.report(),
        "reply_topics_elsewhere": [t[:40] for t in elsewhere],
        "generated": len(items),
        "send_s": round(send_s, 1),
        "send_rate_per_s": round(len(tally.by_id) / send_s, 1) if send_s else None,
        "all_accounted_for_s": round(drained_s, 1),
        "uncommitted_at_end": behind,
        "stalled_partitions": len(behind),
        "dlq_reread": reread,  # None: nothing was missing, so no reread
        "cpu_share_while_sending": cpu_while_sending,  # of one core: who the flood kept busy
        "driver_loop_lag_while_sending": lag_while_sending,  # how late the driver itself woke up
    }
    return Window("hostile", start, end, ledger.now(), f"{plan.hostile} hostile messages"), report


@dataclass
class Loaded:
    """A started stack under load: what a stage injects its faults into and reads its figures from."""

    stack: FaultStack
    ledger: Ledger
    tally: hostile.Tally
    load: LoadGenerator
    crashed: list[str] = field(default_factory=list)  # workers that exited by themselves, seen before the stop
    pages: dict[str, str] = field(default_factory=dict)  # the workers' /metrics and /v1/stats at the end


@contextlib.asynccontextmanager
async def under_load(stack: FaultStack, rates: Rates, l2_only_keys: Sequence[str] = ()) -> AsyncIterator[Loaded]:
    """Start *stack*, warm the hot keys, read replies and run the load (*l2_only_keys*: see Rates.l2_only); on exit
    stop sending, wait until every request is answered or lost, and take it all down."""
    ledger, tally = Ledger(), hostile.Tally()
    loaded: Loaded | None = None
    try:
        await stack.start()
        urls = [w.url for w in stack.workers]
        await stack.warm(HOT_KEYS)
        reader = read_replies(stack.broker.bootstrap, [stack.topics["lookup_reply"]], stack.partitions, ledger, tally)
        await reader.start()
        load = LoadGenerator(stack.broker.bootstrap, stack.topics, urls, ledger, rates, API_TOKEN, l2_only_keys)
        await load.start()
        try:
            ledger.t0 = time.monotonic()
            load.run()
            loaded = Loaded(stack, ledger, tally, load)
            yield loaded
            await load.pause()
            await _settle(ledger)
            loaded.pages = await stack.pages()
        finally:
            await load.stop()
            await reader.stop()
    finally:
        if loaded is not None:
            loaded.crashed = stack.crashed()
        stack.stop()


def _aftermath(run: Loaded) -> dict[str, Any]:
    """What a stage's workers did besides answering: exits, tracebacks, where their logs are, the leak scan."""
    stack = run.stack
    return {
        "crashed_workers": run.crashed,
        "worker_tracebacks": stack.tracebacks(),
        "logs": str(stack.workdir),
        "leak_scan": stack.leak_scan(run.tally.letter_metadata, run.pages),
    }


async def main_stack(workdir: Path, plan: Plan, outcome: Outcome) -> None:
    """Memory-storage Tansu: every fault but the broker kill, then the hostile flood."""
    stack = FaultStack(workdir / "main", partitions=plan.partitions)
    async with under_load(stack, plan.rates) as run:
        await asyncio.sleep(plan.baseline_s)
        windows = [Window("baseline", 0.0, run.ledger.now(), run.ledger.now())]
        for name in plan.faults:
            fault, after_s = FAULTS[name]
            windows.append(await inject(stack, run.ledger, name, fault, plan.after_s or after_s))
        hostile_report: dict[str, Any] | None = None
        if plan.hostile:
            window, hostile_report = await _hostile_phase(stack, run.ledger, run.tally, plan)
            windows.append(window)
        fuzzed: dict[str, Any] | None = None
        if plan.http_fuzz_examples:  # worker-0 has been through every fault and the flood, and the load goes on
            fuzzed = await http_fuzz.fuzz(
                stack.workers[0].url, stack.workdir / "schemathesis", API_TOKEN, ADMIN_TOKEN, plan.http_fuzz_examples
            )
    ledger = run.ledger
    normal = figures(s for s in ledger.sent.values() if s.t < windows[0].end)
    normal["http_p99_ms"] = figures(s for s in ledger.sent.values() if s.t < windows[0].end and s.channel == "http")[
        "p99_ms"
    ]
    rows = [fault_report(ledger, w, normal["p99_ms"] or 1.0) for w in windows[1:]]
    for row in rows:
        row["goal"] = goal(row, normal)
    outcome.panels.append(("two workers, Tansu on memory storage", ledger, windows))
    outcome.report.update(
        baseline=normal,
        faults=rows,
        hostile=hostile_report,
        whole_run=figures(ledger.sent.values()),
        foreign_replies=ledger.foreign_replies,
        http_fuzz=fuzzed,
        **_aftermath(run),
    )


async def durable_stack(workdir: Path, plan: Plan, outcome: Outcome) -> None:
    """Tansu on S3 (moto): kill -9 the broker under load, restart it, everything asked is answered."""
    stack = FaultStack(workdir / "durable", durable=True, partitions=plan.partitions)
    async with under_load(stack, plan.durable_rates) as run:
        await asyncio.sleep(plan.baseline_s / 2)  # a baseline: Kafka on Tansu's S3 engine loses replies already
        windows = [Window("baseline", 0.0, run.ledger.now(), run.ledger.now())]
        windows.append(await inject(stack, run.ledger, "kill -9 broker (S3)", kill_broker, 15))
    ledger = run.ledger
    normal = figures(s for s in ledger.sent.values() if s.t < windows[0].end)
    outcome.panels.append(("two workers, Tansu on S3 storage (moto), lower load", ledger, windows))
    outcome.report["durable"] = {
        "rates": plan.durable_rates.__dict__,
        "baseline": normal,
        "faults": [fault_report(ledger, windows[1], normal["p99_ms"] or 1.0)],
        **_aftermath(run),
    }


async def run(workdir: Path, plan: Plan) -> Outcome:
    """The whole run."""
    outcome = Outcome()
    outcome.report["rates"] = plan.rates.__dict__
    await main_stack(workdir, plan, outcome)
    if plan.durable:
        await durable_stack(workdir, plan, outcome)
    return outcome
