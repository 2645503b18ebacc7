"""Where a worker's event loop spends its slow turns during a call-started burst.

``python -m benchmarks.loop_probe [--rate R] [--burst-s S] [--pin] [--label NAME]`` runs the
morning-peak benchmark's default mode once (``peak.one_mode``) on a fresh stack whose worker has the
probe loaded (``loop_probe_site/sitecustomize.py``: every callback of its loop timed, wall clock and
CPU; the slow turns' callbacks added up by name; garbage collections per generation). It writes
``benchmarks/results/profiles/loop-probe-NAME.json``: the probe's summary beside the run's lookup
p99s and the scheduler's figures for the burst (``harness.procs.SchedulerShares``). The probe costs
the worker time of its own, so its p99s are not the peak benchmark's.

``--pin`` gives the worker a core of its own (``os.sched_setaffinity`` on each thread: the worker's
on CPU 1; the broker's, the publisher's and this process's on CPU 0; Redis and the rest of the
machine are left alone): what the worker's own code costs a lookup when no other process of the
run takes its core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from warmline.sources.demo import generate

from . import peak, setting_ab
from .stack import BenchStack

SITE = Path(__file__).parent / "loop_probe_site"
PROFILES = Path(__file__).parent / "results" / "profiles"
#: The longest the worker's probe may take to write its summary once asked.
SUMMARY_TIMEOUT_S = 60.0


def _pin(stack: BenchStack) -> None:
    """The worker alone on CPU 1; everything this run starts besides it on CPU 0 (the publisher inherits ours)."""
    for cpu, pid in ((1, stack.worker.pid), (0, stack.tansu.pid), (0, os.getpid())):
        for thread in Path(f"/proc/{pid}/task").iterdir():  # the affinity is each thread's own
            os.sched_setaffinity(int(thread.name), {cpu})


async def _summary_of(raw: Path) -> None:
    """Ask the worker's probe for its summary (the run is over) and wait until it is written."""
    ask = raw.with_name(raw.name + ".ask")
    ask.touch()
    deadline = time.monotonic() + SUMMARY_TIMEOUT_S
    while ask.exists() or not raw.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker's loop probe wrote no summary to {raw}")
        await asyncio.sleep(0.1)


async def probe(rate: float, burst_s: float, pin: bool) -> dict[str, Any]:
    """One probed burst; the probe's summary, the lookups' p99s and the scheduler's figures."""
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="warmline-probe-") as tmp:
        demo_db = Path(tmp) / "demo.sqlite3"
        generate(demo_db, count=setting_ab.CALLERS)
        raw = Path(tmp) / "probe.json"
        env = {"PYTHONPATH": str(SITE), "WARMLINE_LOOP_PROBE_OUT": str(raw)}
        stack = await peak.stage_stack(Path(tmp), demo_db, setting_ab.CALLERS, "redis://127.0.0.1:6379/0", "probe", env)
        try:
            if pin:
                _pin(stack)
            run = await peak.one_mode(stack, "probe", rate, burst_s, 5.0)
            await _summary_of(raw)
        finally:
            stack.stop()
        rows = peak.results_of("probe", run)
        summary = json.loads(raw.read_text())
    figures = {row.name.removeprefix("probe: "): row.value for row in rows}
    tiers = {
        row.name.removeprefix("probe: "): row.detail["with_burst"]["tiers"]
        for row in rows
        if row.detail and "with_burst" in row.detail
    }
    return {
        "rate_events_s": rate,
        "burst_s": burst_s,
        "pinned": pin,
        "lookups": figures,
        "lookup_tiers_during_burst": tiers,
        "scheduler_during_burst": run["scheduler_during_burst"],
        "lookup_clients_loop_lateness": run["lookup_clients_loop_lateness"],
        "probe": summary,
        **peak.meta(),
        "loadavg_start": load_at_start,  # peak.meta() reads it now, at the end
        "loadavg_end": os.getloadavg(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loop_probe")
    parser.add_argument("--rate", type=float, default=3_000.0, help="call-started a second during the burst")
    parser.add_argument("--burst-s", type=float, default=15.0)
    parser.add_argument("--pin", action="store_true", help="the worker on a core of its own (CPU 1)")
    parser.add_argument("--label", default=None, help="the file's name: loop-probe-LABEL.json")
    args = parser.parse_args()
    label = args.label or ("pinned" if args.pin else "shared")
    out = PROFILES / f"loop-probe-{label}.json"
    result = asyncio.run(probe(args.rate, args.burst_s, args.pin))
    out.write_text(json.dumps(result, indent=1) + "\n")
    slow = result["probe"]["slow_turns"]
    print(f"{result['lookups']}")
    print(f"slow turns: {slow}; wrote {out}")


if __name__ == "__main__":
    main()
