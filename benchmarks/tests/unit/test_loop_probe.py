"""The loop probe: slow turns found, their callbacks named, and wall time told apart from CPU time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from benchmarks.loop_probe import SITE

PROGRAM = textwrap.dedent(
    """
    import asyncio, os, sys, time

    def sleeper():  # holds the loop without using a core: wall time, no CPU time
        time.sleep(0.03)

    def spinner():  # holds the loop on a core
        end = time.thread_time() + 0.03
        while time.thread_time() < end:
            pass

    async def main():
        loop = asyncio.get_running_loop()
        for _ in range(3):
            loop.call_soon(sleeper)
            await asyncio.sleep(0)
            loop.call_soon(spinner)
            await asyncio.sleep(0)
        for _ in range(200):  # quick turns
            await asyncio.sleep(0)

    asyncio.run(main())
    if sys.argv[-1] == "ask":  # ask for the summary as the runner does, then leave without the exit's dump
        out = os.environ["WARMLINE_LOOP_PROBE_OUT"]
        open(out + ".ask", "w").close()
        while os.path.exists(out + ".ask") or not os.path.exists(out):
            time.sleep(0.01)
        os._exit(0)
    """
)


def _probed(tmp_path: Path, *argv: str) -> Path:
    out = tmp_path / "probe.json"
    env = {**os.environ, "PYTHONPATH": str(SITE), "WARMLINE_LOOP_PROBE_OUT": str(out)}
    subprocess.run([sys.executable, "-c", PROGRAM, *argv], env=env, check=True, timeout=60)
    return out


def _check(summary: dict[str, Any]) -> None:
    by_name = {c["name"]: c for c in summary["slow_turn_callbacks"]}
    sleeper, spinner = by_name["sleeper"], by_name["spinner"]
    assert sleeper["count"] == spinner["count"] == 3  # each ran in a slow turn of its own
    assert sleeper["wall_ms"] >= 90 and sleeper["cpu_ms"] < sleeper["wall_ms"] / 3
    assert spinner["cpu_ms"] >= 90 and spinner["wall_ms"] >= spinner["cpu_ms"] - 0.5  # readings rounded apart
    assert summary["slow_turns"]["turns"] >= 6  # a quick turn the machine delayed may count too
    assert summary["turns"] > 200 and summary["turn_ms"]["p50"] < summary["slow_turn_ms"]


def test_slow_turns_are_named_with_their_wall_and_cpu_time(tmp_path: Path) -> None:
    _check(json.loads(_probed(tmp_path, "worker").read_text()))  # written at exit


def test_the_summary_is_written_when_the_runner_asks(tmp_path: Path) -> None:
    _check(json.loads(_probed(tmp_path, "worker", "ask").read_text()))  # the child left without exiting cleanly


def test_only_a_worker_is_probed(tmp_path: Path) -> None:
    assert not _probed(tmp_path, "not-a-worker").exists()
