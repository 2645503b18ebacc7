"""The loop probe, loaded into a worker by ``python -m benchmarks.loop_probe`` (this folder on its PYTHONPATH).

Only a process started as ``... warmline worker`` with WARMLINE_LOOP_PROBE_OUT set is probed. Every
callback its event loop runs is timed, wall clock and the thread's own CPU time, and so is every
turn of the loop: from one poll of its selector's return to the next poll, the callbacks and all
else the loop did meanwhile, a collection included; a turn over SLOW_TURN_MS is a slow turn, and
its callbacks are added up by name (a task by its coroutine and the line it resumes at). Garbage
collections are timed per generation.
The summary is written to the file that variable names when a file of the same name plus ``.ask``
appears (the runner asks once the measured run is over: summing up holds the interpreter, so it
is not done during the run), and at exit. Wall time beyond CPU time in a callback is time its
thread did not run: a blocking system call or a page fault, another thread holding the
interpreter, or no core free.
"""

from __future__ import annotations

import asyncio
import asyncio.events as events
import atexit
import collections
import gc
import json
import os
import selectors
import sys
import threading
import time
from typing import Any

SLOW_TURN_MS = 8.0
#: How often the probe's thread looks for the runner's request for a summary.
ASK_POLL_S = 0.2


def _name_of(handle: asyncio.Handle) -> str:
    """A task by its coroutine and the line it resumes at; any other callback by its qualified name."""
    callback = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        frame = getattr(coro, "cr_frame", None)
        where = f"@{frame.f_lineno}" if frame is not None else ""
        return f"task {getattr(coro, '__qualname__', '?')}{where}"
    return str(getattr(callback, "__qualname__", repr(callback)))[:120]


def _quantile(sorted_values: list[float], q: float) -> float | None:
    return round(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))], 3) if sorted_values else None


class LoopProbe:
    """The counters; the patched loop methods call turn_begins/callback_ran/turn_ends from the loop's thread."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.thread = threading.get_ident()
        self.turn = {"wall": 0.0, "cpu": 0.0, "gc": 0.0, "callbacks": 0.0}
        self.polled_at: float | None = None  # when the last poll of the selector returned
        self.by_name: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0])  # this turn's
        self.slow: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0])  # every slow turn's
        #: wall_ms: the turns' whole time (poll to poll); callbacks_wall_ms and cpu_ms: their callbacks'
        self.slow_turns = {
            "turns": 0.0,
            "wall_ms": 0.0,
            "callbacks_wall_ms": 0.0,
            "cpu_ms": 0.0,
            "gc_ms": 0.0,
            "callbacks": 0.0,
        }
        self.turn_ms: list[float] = []
        self.collections_ms: dict[int, list[float]] = collections.defaultdict(list)
        self._gc_started = 0.0

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() != self.thread:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        took = time.perf_counter() - self._gc_started
        self.turn["gc"] += took
        self.collections_ms[info["generation"]].append(took * 1000)

    def callback_ran(self, name: str, wall: float, cpu: float) -> None:
        self.turn["wall"] += wall
        self.turn["cpu"] += cpu
        self.turn["callbacks"] += 1
        entry = self.by_name[name]
        entry[0] += 1
        entry[1] += wall
        entry[2] += cpu

    def turn_begins(self) -> None:
        self.turn.update(wall=0.0, cpu=0.0, gc=0.0, callbacks=0.0)
        self.by_name.clear()

    def turn_ends(self, took: float) -> None:
        """*took*: from the last poll's return to the next poll, what held the loop."""
        ms = took * 1000
        self.turn_ms.append(ms)
        if ms <= SLOW_TURN_MS:
            return
        for key, value in (("turns", 1), ("wall_ms", ms), ("cpu_ms", self.turn["cpu"] * 1000)):
            self.slow_turns[key] += value
        self.slow_turns["callbacks_wall_ms"] += self.turn["wall"] * 1000
        self.slow_turns["gc_ms"] += self.turn["gc"] * 1000
        self.slow_turns["callbacks"] += self.turn["callbacks"]
        for name, (count, wall, cpu) in self.by_name.items():
            entry = self.slow[name]
            entry[0] += count
            entry[1] += wall * 1000
            entry[2] += cpu * 1000

    def summary(self) -> dict[str, Any]:
        turns = sorted(self.turn_ms)
        return {
            "slow_turn_ms": SLOW_TURN_MS,
            "turns": len(turns),
            "turn_ms": {f"p{q * 100:g}": _quantile(turns, q) for q in (0.5, 0.99, 0.999, 1.0)},
            "turns_over_20_ms": sum(1 for ms in turns if ms > 20),
            "slow_turns": {k: round(v, 1) for k, v in self.slow_turns.items()},
            "collections": {
                str(generation): {
                    "count": len(times),
                    "total_ms": round(sum(times), 1),
                    "p99_ms": _quantile(sorted(times), 0.99),
                    "max_ms": round(max(times), 2),
                }
                for generation, times in sorted(self.collections_ms.items())
                if times
            },
            "slow_turn_callbacks": [
                {"name": name, "count": int(count), "wall_ms": round(wall, 1), "cpu_ms": round(cpu, 1)}
                for name, (count, wall, cpu) in sorted(self.slow.items(), key=lambda kv: -kv[1][1])[:30]
            ],
        }

    def dump(self) -> None:
        tmp = f"{self.out}.{threading.get_ident()}.tmp"  # the asking thread and the exit may both write
        with open(tmp, "w") as f:
            json.dump(self.summary(), f, indent=1)
        os.replace(tmp, self.out)


def _timed_select(select: Any, probe: LoopProbe) -> Any:
    """The selector's select, marking the loop's turns: a turn is all the loop does from one poll's
    return to the next poll (callbacks, the loop's own bookkeeping and the probe's, any collection
    among them). Other threads' selectors (Faust's consumer thread has a loop of its own) pass."""

    def timed(self: selectors.BaseSelector, timeout: float | None = None) -> Any:
        if threading.get_ident() != probe.thread:
            return select(self, timeout)
        entered = time.perf_counter()
        if probe.polled_at is not None:
            probe.turn_ends(entered - probe.polled_at)
        probe.turn_begins()
        try:
            return select(self, timeout)
        finally:  # a collection set off by the ready list it builds holds the loop: the next turn's
            probe.polled_at = time.perf_counter() - probe.turn["gc"]

    return timed


def install(out: str) -> LoopProbe:
    """Patch the loop's callback runner and its selector, hook the collector; dump when asked and at exit."""
    probe = LoopProbe(out)
    run_handle = events.Handle._run

    def timed_run(self: asyncio.Handle) -> None:
        if threading.get_ident() != probe.thread:
            return run_handle(self)
        name = _name_of(self)  # before it runs: a task's frame shows where it resumes
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return run_handle(self)
        finally:
            probe.callback_ran(name, time.perf_counter() - wall, time.thread_time() - cpu)

    def dump_when_asked() -> None:
        ask = out + ".ask"
        while True:
            time.sleep(ASK_POLL_S)  # a stat call: nothing the loop would notice
            if os.path.exists(ask):
                probe.dump()
                os.remove(ask)

    gc.callbacks.append(probe.on_gc)
    events.Handle._run = timed_run  # type: ignore[method-assign]
    selector = selectors.DefaultSelector  # the class asyncio's loops poll with
    selector.select = _timed_select(selector.select, probe)  # type: ignore[method-assign]
    threading.Thread(target=dump_when_asked, name="loop-probe", daemon=True).start()
    atexit.register(probe.dump)
    return probe


if os.environ.get("WARMLINE_LOOP_PROBE_OUT") and "worker" in sys.argv:
    install(os.environ["WARMLINE_LOOP_PROBE_OUT"])
