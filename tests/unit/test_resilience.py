"""CircuitBreaker transitions with a fake clock."""

from __future__ import annotations

from warmline.resilience import BreakerState, CircuitBreaker

from ..fakes import FakeClock


def _state(b: CircuitBreaker) -> BreakerState:
    return b.state  # read afresh: mypy would keep an asserted state narrowed across b's method calls


def test_opens_after_threshold_and_probes_after_reset() -> None:
    clock = FakeClock(0)
    changes: list[BreakerState] = []
    b = CircuitBreaker("x", failure_threshold=3, reset_after_s=5, clock=clock, on_change=lambda n, s: changes.append(s))
    for _ in range(2):
        assert b.allow()
        b.failure()
    assert _state(b) is BreakerState.CLOSED
    b.failure()
    assert _state(b) is BreakerState.OPEN
    assert not b.allow()
    clock.advance(5)
    assert b.allow()  # the one probe
    assert not b.allow()  # a second caller waits for the probe's verdict
    b.success()
    assert _state(b) is BreakerState.CLOSED
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_failed_probe_reopens() -> None:
    clock = FakeClock(0)
    b = CircuitBreaker("x", failure_threshold=1, reset_after_s=1, clock=clock)
    b.failure()
    clock.advance(1)
    assert b.allow()
    b.failure()
    assert b.state is BreakerState.OPEN
    assert not b.allow()


def test_success_resets_the_count() -> None:
    b = CircuitBreaker("x", failure_threshold=2, clock=FakeClock(0))
    b.failure()
    b.success()
    b.failure()
    assert b.state is BreakerState.CLOSED
