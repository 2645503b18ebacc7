"""The harness's open-loop schedule keeps time whatever the sender does, and the loop-lag probe reports."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from harness import pacing

from ..fakes import FakeClock


async def test_ticks_are_due_at_start_plus_i_over_rate_and_late_ones_catch_up(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(100.0)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=clock))
    monkeypatch.setattr(pacing, "asyncio", SimpleNamespace(sleep=sleep))
    ticks = []
    async for i in pacing.open_loop(10, start=100.5, count=4):
        ticks.append((i, clock()))
        if i == 1:
            clock.advance(0.25)  # a slow sender: the next two ticks are late and go out at once
    assert ticks == [(0, 100.5), (1, pytest.approx(100.6)), (2, pytest.approx(100.85)), (3, pytest.approx(100.85))]


async def test_loop_lag_reports_its_median_p99_and_maximum() -> None:
    idle = pacing.LoopLag()
    assert await idle.stop() == {"p50_ms": None, "p99_ms": None, "max_ms": None}
    lag = pacing.LoopLag(tick_s=0.01)
    lag.start()
    await asyncio.sleep(0.1)
    report = await lag.stop()
    assert report["p50_ms"] is not None and report["p99_ms"] is not None and report["max_ms"] is not None
    assert report["p50_ms"] <= report["p99_ms"] <= report["max_ms"]
