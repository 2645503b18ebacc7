"""What a worker with nothing to do costs on the embedded broker: CPU share of the worker and the broker.

Tansu answers a fetch only when the fetch wait expires, so every consumer polls all the time, at
1/wait fetch requests per second whatever the traffic. A worker has two consumers: the lookup
lane's (5 ms: a lookup's latency rides on it) and the group consumer, which then fetches only
warming and invalidations (WARMLINE_WARMING_FETCH_MAX_WAIT_MS). Each setting is measured on a
fresh worker of the same stack, idle (no record produced), over the same window, in one run.
"""

from __future__ import annotations

import asyncio

from harness.procs import cpu_seconds

from .stack import BenchStack
from .stats import Result

#: Worker configurations compared, by label.
SETTINGS: dict[str, dict[str, str]] = {
    "lookup lane on, group consumer 50 ms (the embedded profile's)": {
        "WARMLINE_LOOKUP_LANE_CONSUMER": "true",
        "WARMLINE_WARMING_FETCH_MAX_WAIT_MS": "50",
    },
    "lookup lane on, group consumer 5 ms": {
        "WARMLINE_LOOKUP_LANE_CONSUMER": "true",
        "WARMLINE_WARMING_FETCH_MAX_WAIT_MS": "5",
    },
    "lookup lane off, one consumer 5 ms": {"WARMLINE_LOOKUP_LANE_CONSUMER": "false"},
}


async def _shares(stack: BenchStack, seconds: float) -> dict[str, float]:
    """CPU share (1.0 = one core) of the worker and the broker over *seconds* of idling."""
    pids = {"worker": stack.worker.pid, "broker": stack.tansu.pid}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(seconds)
    elapsed = loop.time() - started
    return {name: round((cpu_seconds(pid) - before[name]) / elapsed, 3) for name, pid in pids.items()}


async def idle_cost(stack: BenchStack, seconds: float, settle_s: float = 5.0) -> list[Result]:
    """One row per setting: the idle worker's CPU share, the broker's beside it."""
    results = []
    for label, env in SETTINGS.items():
        await stack.restart_worker(**env)
        await asyncio.sleep(settle_s)  # the group join and the first fetches are start-up, not idling
        shares = await _shares(stack, seconds)
        results.append(
            Result(
                f"idle worker CPU, {label}",
                shares["worker"],
                "cores",
                "reported",
                None,
                detail={"broker_cores": shares["broker"], "seconds": seconds},
            )
        )
    return results
