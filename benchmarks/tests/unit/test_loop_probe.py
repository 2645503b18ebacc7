"""The loop probe: slow turns found, their callbacks named, and wall time told apart from CPU time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from benchmarks.loop_probe import SITE

PROGRAM = textwrap.dedent(
    """
    import asyncio, time

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
    """
)


def _probed(tmp_path: Path, *argv: str) -> Path:
    out = tmp_path / "probe.json"
    env = {**os.environ, "PYTHONPATH": str(SITE), "WARMLINE_LOOP_PROBE_OUT": str(out)}
    subprocess.run([sys.executable, "-c", PROGRAM, *argv], env=env, check=True, timeout=60)
    return out


def test_slow_turns_are_named_with_their_wall_and_cpu_time(tmp_path: Path) -> None:
    summary = json.loads(_probed(tmp_path, "worker").read_text())  # written at exit
    by_name = {c["name"]: c for c in summary["slow_turn_callbacks"]}
    sleeper, spinner = by_name["sleeper"], by_name["spinner"]
    assert sleeper["count"] == spinner["count"] == 3
    assert sleeper["wall_ms"] >= 90 and sleeper["cpu_ms"] < sleeper["wall_ms"] / 3
    assert spinner["cpu_ms"] >= 90 and spinner["wall_ms"] >= spinner["cpu_ms"]
    assert summary["slow_turns"]["turns"] == 6
    assert summary["turns"] > 200 and summary["turn_ms"]["p50"] < summary["slow_turn_ms"]


def test_only_a_worker_is_probed(tmp_path: Path) -> None:
    assert not _probed(tmp_path, "not-a-worker").exists()
