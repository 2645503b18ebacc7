"""Redis HA faults under load: the primary of a Sentinel set, then of a Cluster, SIGKILLed.

Each on a stack of its own (the fault suite's, L2 on a Redis the run starts, as an ACL user) under
the suite's load plus lookups of keys only L2 holds; after the failover, the workers' L2 hits show
whether L2 answers again. docs/faults.md, "Redis HA failovers", has the details; the results go to
benchmarks/results/redis-ha.json, redis-ha.png and redis-ha-l2.png.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from harness.fault_stack import FaultStack
from harness.redis_ha import cluster_topology, sentinel_topology, wait_replicated
from harness.redis_servers import ACL_PASSWORD, RedisServers

from ..report import run_dir, write_run
from .analysis import figures, plot
from .load import Ledger, Rates
from .run import under_load
from .scenario import Window

logger = logging.getLogger(__name__)

KINDS = ("sentinel", "cluster")
#: The failover must be over within this (Sentinel: down after 1 s; Cluster: node timeout 2 s; then an election).
FAILOVER_WITHIN_S = 60.0


@dataclass
class HaPlan:
    """What a run does; `make faults` takes the defaults, the test a short one."""

    rates: Rates = field(default_factory=lambda: Rates(kafka=16, http=8, calls=2, l2_only=6))
    baseline_s: float = 15.0
    after_s: float = 20.0  # watched after the failover is over
    kinds: tuple[str, ...] = KINDS
    partitions: int = 8


def l2_only_keys(count: int) -> list[str]:
    """Customer ids no other load asks for (hot keys are C-000001…, cold ones C-500000…)."""
    return [f"C-{n:06d}" for n in range(900_000, 900_000 + count)]


async def l2_counts(session: aiohttp.ClientSession, urls: list[str]) -> dict[str, float]:
    """Over the workers: hit_l2 and l2_error summed (``/metrics``), L2 breakers open, workers not ready (``/readyz``).

    A worker that does not answer counts as not ready and adds no hits.
    """
    total = {"hit_l2": 0.0, "l2_error": 0.0, "redis_breakers_open": 0.0, "not_ready": 0.0}
    for url in urls:
        try:
            async with session.get(f"{url}/metrics") as resp:
                text = await resp.text()
            async with session.get(f"{url}/readyz") as resp:
                total["not_ready"] += resp.status != 200
        except (aiohttp.ClientError, TimeoutError):
            total["not_ready"] += 1
            continue
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if family.name == "warmline_cache_events" and sample.name.endswith("_total"):
                    event = sample.labels.get("event", "")
                    if event in ("hit_l2", "l2_error"):
                        total[event] += sample.value
                elif family.name == "warmline_breaker_open" and sample.labels.get("name") == "redis":
                    total["redis_breakers_open"] += sample.value
    return total


class L2Watch:
    """Samples the workers' L2 counts every *every_s* on the ledger's clock, until stopped."""

    def __init__(self, urls: list[str], ledger: Ledger, every_s: float = 0.5) -> None:
        self.urls, self.ledger, self.every_s = urls, ledger, every_s
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._task: asyncio.Task[None] | None = None
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def sample(self) -> dict[str, float]:
        counts = await l2_counts(self._session, self.urls)
        self.samples.append((self.ledger.now(), counts))
        return counts

    async def _run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self.every_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._session.close()

    def first_rise_after(self, t: float, base: float) -> float | None:
        """The ledger time of the first sample after *t* with more L2 hits than *base*; None: none."""
        return next((at for at, c in self.samples if at > t and c["hit_l2"] > base), None)


async def ha_fault(workdir: Path, kind: str, plan: HaPlan) -> tuple[dict[str, Any], Ledger, list[Window]]:
    """One fault on a stack of its own: its report row, its ledger and windows (for the plot)."""
    workdir.mkdir(parents=True, exist_ok=True)
    password_file = workdir / "redis-password"
    password_file.write_text(ACL_PASSWORD + "\n")
    servers = RedisServers(workdir)
    try:
        topology = await asyncio.to_thread(
            (sentinel_topology if kind == "sentinel" else cluster_topology), servers, password_file
        )
        stack = FaultStack(workdir / "stack", partitions=plan.partitions, redis_env=topology.env)
        horizon_s = plan.baseline_s + FAILOVER_WITHIN_S + plan.after_s
        keys = l2_only_keys(int(plan.rates.l2_only * horizon_s) + 50)
        await topology.seed(f"warmline:v1:{stack.app_id}:", keys)
        async with under_load(stack, plan.rates, l2_only_keys=keys) as run:
            watch = L2Watch([w.url for w in stack.workers], run.ledger)
            watch.start()
            try:
                await asyncio.sleep(plan.baseline_s)
                windows = [Window("baseline", 0.0, run.ledger.now(), run.ledger.now())]
                before = await watch.sample()
                replicas_had_it = await wait_replicated(topology.victim)
                start = run.ledger.now()
                servers.kill(topology.victim)
                failed_over = await topology.wait_failed_over(FAILOVER_WITHIN_S)
                end = run.ledger.now()
                at_failover = await watch.sample()
                await asyncio.sleep(plan.after_s)
                after = await watch.sample()
                windows.append(Window(f"{kind} primary killed", start, end, run.ledger.now(), f"{kind} failover"))
            finally:
                await watch.stop()
        rise = watch.first_rise_after(end, at_failover["hit_l2"])
        ledger = run.ledger
        row = {
            "fault": f"kill -9 the {kind} primary",
            "redis": {"kind": kind, "victim": topology.victim, "replica": topology.replica},
            "replica_had_every_write": replicas_had_it >= 1,
            "failed_over": failed_over,
            "failover_s": round(end - start, 2),
            "whole_run": figures(ledger.sent.values()),
            "baseline": figures(s for s in ledger.sent.values() if s.t < windows[0].end),
            "during_failover": figures(s for s in ledger.sent.values() if start <= s.t < end),
            "after_failover": figures(s for s in ledger.sent.values() if s.t >= end),
            "l2_hits": {
                "before_kill": before["hit_l2"],
                "at_failover": at_failover["hit_l2"],
                "at_end": after["hit_l2"],
                "after_failover": after["hit_l2"] - at_failover["hit_l2"],
            },
            "l2_errors": {"before_kill": before["l2_error"], "at_end": after["l2_error"]},
            # What an operator sees meanwhile: the L2 breakers (warmline_breaker_open{name="redis"}) and /readyz.
            "redis_breakers_open_max": max(c["redis_breakers_open"] for _, c in watch.samples),
            "redis_breakers_open_at_end": after["redis_breakers_open"],
            "not_ready_samples": sum(1 for _, c in watch.samples if c["not_ready"]),
            "samples": len(watch.samples),
            # Every sample: [ledger seconds, hit_l2, l2_error, L2 breakers open] (the -l2 plot).
            "l2_timeline": [
                [round(at, 2), c["hit_l2"], c["l2_error"], c["redis_breakers_open"]] for at, c in watch.samples
            ],
            "l2_hit_again_s_after_failover": None if rise is None else round(rise - end, 2),
            "l2_hit_again_s_after_kill": None if rise is None else round(rise - start, 2),
            "crashed_workers": run.crashed,
            "worker_tracebacks": stack.tracebacks(),
            "leak_scan": stack.leak_scan(run.tally.letter_metadata, run.pages),
        }
        return row, ledger, windows
    finally:
        servers.stop()


def plot_l2(path: Path, rows: list[dict[str, Any]], panels: list[tuple[str, Ledger, list[Window]]]) -> None:
    """Per fault: L2 hits and L2 errors per second over both workers, and the L2 breakers open; the failover shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 1, figsize=(14, 3.5 * len(rows)), squeeze=False)
    for ax, row, (title, _, windows) in zip(axes[:, 0], rows, panels, strict=True):
        timeline = row["l2_timeline"]
        times = [(a[0] + b[0]) / 2 for a, b in itertools.pairwise(timeline)]
        for column, label, color in ((1, "L2 hits/s", "tab:green"), (2, "L2 errors/s", "tab:red")):
            rates = [(b[column] - a[column]) / (b[0] - a[0]) for a, b in itertools.pairwise(timeline)]
            ax.plot(times, rates, color=color, lw=1, label=label)
        ax.set_ylabel("per second, both workers")
        breakers = ax.twinx()
        breakers.step([t[0] for t in timeline], [t[3] for t in timeline], color="tab:gray", where="post", lw=0.8)
        breakers.set_ylabel("L2 breakers open (gray)")
        breakers.set_ylim(-0.1, 2.5)
        for w in windows[1:]:
            ax.axvspan(w.start, w.end, color="orange", alpha=0.25)
        ax.set_xlabel("seconds since the load started")
        ax.set_title(title.replace("two workers", "L2 as the workers saw it"))
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def verdict(row: dict[str, Any]) -> dict[str, bool]:
    """The issue's goals for one fault: nothing lost, the failover happened, L2 answered again after it."""
    return {
        "nothing_lost": row["whole_run"]["lost"] == 0 and row["whole_run"]["not_sent"] == 0,
        "failed_over": bool(row["failed_over"]),
        "l2_hits_after_failover": row["l2_hits"]["after_failover"] > 0,
        "no_leak": not row["leak_scan"]["leaks"],
    }


async def run(workdir: Path, plan: HaPlan) -> tuple[list[dict[str, Any]], list[tuple[str, Ledger, list[Window]]]]:
    rows, panels = [], []
    for kind in plan.kinds:
        logger.warning("redis HA fault: %s", kind)
        row, ledger, windows = await ha_fault(workdir / kind, kind, plan)
        row["goal"] = verdict(row)
        logger.warning(
            "%s: %d sent, %d lost; failover %.1f s; %d L2 hits after it",
            kind,
            row["whole_run"]["sent"],
            row["whole_run"]["lost"],
            row["failover_s"],
            row["l2_hits"]["after_failover"],
        )
        rows.append(row)
        panels.append((f"two workers, L2 on a Redis {kind}: its primary SIGKILLed", ledger, windows))
    return rows, panels


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults.redis_ha")
    parser.add_argument("--only", choices=KINDS, help="one of the two faults")
    parser.add_argument("--baseline", type=float, default=15.0, help="seconds of load before the kill")
    parser.add_argument("--after", type=float, default=20.0, help="seconds watched after the failover")
    parser.add_argument("--name", default="redis-ha", help="results file name")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) after the run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    if args.baseline <= 0 or args.after <= 0:
        parser.error("--baseline and --after must be positive")
    plan = HaPlan(baseline_s=args.baseline, after_s=args.after, kinds=(args.only,) if args.only else KINDS)
    started = time.monotonic()
    load_before = os.getloadavg()
    with run_dir("warmline-redis-ha-", args.keep) as workdir:
        rows, panels = asyncio.run(run(workdir, plan))
    setup = {
        "rates": plan.rates.__dict__,
        "baseline_s": plan.baseline_s,
        "after_s": plan.after_s,
        "partitions": plan.partitions,
    }
    loadavg = {"before": load_before, "after": os.getloadavg()}
    path = write_run("redis-ha", args.name, started, {"loadavg": loadavg, "setup": setup, "faults": rows})
    plot(path.with_suffix(".png"), panels)
    plot_l2(path.with_name(f"{args.name}-l2.png"), rows, panels)
    for row in rows:
        print(f"{row['fault']}: {row['goal']}")
    print(f"wrote {path}, {path.with_suffix('.png')} and {path.with_name(f'{args.name}-l2.png')}")


if __name__ == "__main__":
    main()
