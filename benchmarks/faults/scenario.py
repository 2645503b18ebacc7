"""The faults, each injected while the load runs, and the windows they occupy on the run's clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from harness.fault_stack import FaultStack

from .load import Ledger

logger = logging.getLogger(__name__)


@dataclass
class Window:
    """A fault's window [start, end) and the observation period after it, in seconds on the ledger clock."""

    name: str
    start: float
    end: float
    after_end: float
    note: str = ""


Inject = Callable[[FaultStack], Awaitable[str]]


async def _for(seconds: float, hurt: Callable[[], object], heal: Callable[[], object]) -> None:
    """hurt(), *seconds* later heal() (in a thread: a restart waits until the service is ready)."""
    hurt()
    await asyncio.sleep(seconds)
    await asyncio.to_thread(heal)


async def kill_worker(stack: FaultStack) -> str:
    await _for(5, stack.workers[1].kill, stack.workers[1].start)
    return "worker-1 SIGKILLed, restarted after 5 s"


async def stop_worker(stack: FaultStack) -> str:
    await _for(15, stack.workers[1].freeze, stack.workers[1].thaw)
    return "worker-1 SIGSTOPped for 15 s"


async def stop_redis(stack: FaultStack) -> str:
    assert stack.redis is not None, "the stack's own redis-server"
    await _for(20, stack.redis.kill, stack.redis.start)
    return "redis-server killed for 20 s, restarted empty"


async def source_errors(stack: FaultStack) -> str:
    await stack.upstream_mode("5xx")
    await asyncio.sleep(10)
    await stack.upstream_mode("ok")
    return "upstream 503 for 10 s"


async def source_hangs(stack: FaultStack) -> str:
    """Every upstream call started in the next 10 s hangs for 30 s."""
    await stack.upstream_mode("hang", hang_s=30)
    await asyncio.sleep(10)
    await stack.upstream_mode("ok")
    return "upstream calls hang 30 s, for 10 s"


async def freeze_broker(stack: FaultStack) -> str:
    await _for(5, stack.broker.freeze, stack.broker.thaw)
    return "Tansu SIGSTOPped for 5 s"


async def kill_broker(stack: FaultStack) -> str:
    """kill -9 Tansu, start it again on the same S3 bucket 5 s later."""
    await _for(5, stack.broker.kill, stack.broker.start)
    return "Tansu SIGKILLed, restarted on its S3 storage after 5 s"


async def rolling_restart(stack: FaultStack) -> str:
    """SIGTERM each worker in turn and start it again before the next."""
    codes = []
    for worker in stack.workers:
        codes.append(await asyncio.to_thread(worker.terminate))
        await asyncio.to_thread(worker.start)
    return f"both workers SIGTERMed and restarted in turn (exit codes {codes})"


FAULTS: dict[str, tuple[Inject, float]] = {
    # name: (inject, seconds observed after the window)
    "kill -9 worker": (kill_worker, 12),
    "SIGSTOP worker 15 s": (stop_worker, 12),
    "Redis down 20 s": (stop_redis, 10),
    "source 5xx 10 s": (source_errors, 10),
    "source hangs 10 s": (source_hangs, 12),
    "broker frozen 5 s": (freeze_broker, 12),
    "rolling restart": (rolling_restart, 12),
}


async def inject(stack: FaultStack, ledger: Ledger, name: str, fault: Inject, after_s: float) -> Window:
    """Run one fault under the load that is already running; then watch *after_s* seconds."""
    logger.warning("fault: %s", name)
    start = ledger.now()
    note = await fault(stack)
    end = ledger.now()
    await asyncio.sleep(after_s)
    return Window(name, start, end, ledger.now(), note)
