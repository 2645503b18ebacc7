"""CircuitBreaker (closed / open / half-open) with an injected clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    """Where a breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after *failure_threshold* consecutive failures; after *reset_after_s* lets one probe through.

    Callers ask ``allow()`` before the call and report ``success()`` / ``failure()`` after.
    While open, ``allow()`` is a comparison: a dead dependency costs callers nanoseconds.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, BreakerState], None] | None = None,
    ) -> None:
        self.name = name
        self._threshold = failure_threshold
        self._reset_after_s = reset_after_s
        self._clock = clock
        self._on_change = on_change
        self._failures = 0
        self._opened_at = 0.0
        self._state = BreakerState.CLOSED
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """Current state, moving open → half-open once the reset time has passed."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self._reset_after_s:
            self._set(BreakerState.HALF_OPEN)
        return self._state

    def allow(self) -> bool:
        """May a call go through now? In half-open state only one probe at a time may."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        """Report a successful call; closes a half-open breaker."""
        self._failures = 0
        self._probing = False
        if self._state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def failure(self) -> None:
        """Report a failed call; opens the breaker at the threshold or when a probe fails."""
        self._failures += 1
        self._probing = False
        if self._state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(self.name, state)


def source_breaker(name: str, on_change: Callable[[str, BreakerState], None] | None = None) -> CircuitBreaker:
    """The upstream's breaker: 5 failures in a row open it, a probe after 5 s (Tilores calls take 0.5–2 s)."""
    return CircuitBreaker(f"source:{name}", failure_threshold=5, reset_after_s=5.0, on_change=on_change)


def redis_breaker(on_change: Callable[[str, BreakerState], None] | None = None) -> CircuitBreaker:
    """L2's breaker: 3 failures open it, a probe after 2 s (a Redis call takes well under a millisecond)."""
    return CircuitBreaker("redis", failure_threshold=3, reset_after_s=2.0, on_change=on_change)
