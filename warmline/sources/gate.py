"""SourceGate: every upstream call passes here — priority-ordered concurrency limit, deadline, breaker."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ..errors import SourceError, SourceTimeout, SourceUnavailable
from ..metrics import Metrics
from ..models import LookupKey
from ..resilience import CircuitBreaker, source_breaker
from .base import Priority, Source, SourceResult

logger = logging.getLogger(__name__)


class PrioritySemaphore:
    """A semaphore whose waiters are woken by (priority, arrival) instead of arrival alone."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        """Callers queued for a slot."""
        return sum(1 for *_, f in self._waiters if not f.done())

    @asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[None]:
        """Hold one slot for the body of the ``async with``."""
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # woken and cancelled at once: hand the slot on
            raise

    def _release(self) -> None:
        while self._waiters:
            *_, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


class SourceGate:
    """Wraps a Source with a concurrency limit, a per-call deadline and a circuit breaker."""

    def __init__(
        self,
        source: Source,
        *,
        concurrency: int,
        timeout_s: float,
        breaker: CircuitBreaker | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.source = source
        self._metrics = metrics
        self._slots = PrioritySemaphore(concurrency)
        self._timeout_s = timeout_s
        self.breaker = breaker or source_breaker(source.name)
        self.calls = 0
        self.failures: dict[str, int] = {}
        # The success path's metric children, looked up once (.labels() hashes and locks per call).
        self._ok = (
            (metrics.source_calls.labels(source.name, "ok"), metrics.source_seconds.labels(source.name))
            if metrics is not None
            else None
        )

    @property
    def waiting(self) -> int:
        """Calls queued behind the concurrency limit."""
        return self._slots.waiting

    def stats(self) -> dict[str, Any]:
        """Calls, failures by kind, queued calls and the breaker state, for /v1/stats."""
        return {
            "name": self.source.name,
            "calls": self.calls,
            "failures": dict(self.failures),
            "waiting": self.waiting,
            "breaker": self.breaker.state.value,
        }

    async def lookup(self, key: LookupKey, priority: Priority = Priority.LIVE) -> SourceResult:
        """Call the source for *key*, or fail fast while its breaker is open."""
        async with self._slots.slot(priority):
            if not self.breaker.allow():
                self._count_failure("breaker_open")
                raise SourceUnavailable(f"{self.source.name} circuit open")
            self.calls += 1
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self._timeout_s):
                    result = await self.source.lookup(key)
            except TimeoutError:
                self.breaker.failure()
                self._count_failure("timeout")
                raise SourceTimeout(f"{self.source.name} gave no answer in {self._timeout_s:.1f}s") from None
            except SourceError as e:
                self.breaker.failure()
                self._count_failure(e.kind)
                raise
            self.breaker.success()
            took = time.perf_counter() - started
            if self._ok is not None:
                ok_calls, seconds = self._ok
                ok_calls.inc()
                seconds.observe(took)
            if logger.isEnabledFor(logging.DEBUG):  # key.redacted hashes: not for a record nobody reads
                logger.debug("source %s answered %s in %.1f ms", self.source.name, key.redacted, took * 1000)
            return result

    def _count_failure(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1
        if self._metrics is not None:
            self._metrics.source_calls.labels(self.source.name, kind).inc()
