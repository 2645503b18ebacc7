"""LangSmith tracing of lookups and chats: off by default, masked by default, never in a caller's way.

This module records: a lookup only appends a slotted record of atomic values (trace_records.py)
to a bounded deque (no I/O, no serialization, no lock). One daemon thread wakes every
SEND_EVERY_S. In the worker (``build_tracer``) it only pickles what is queued into a sender
process (trace_process.py), so run building never holds the worker's GIL; there, and with an
injected client (tests), trace_runs.RunBuilder turns queued records into runs — masking
included — and the thread posts them with ``Client.batch_ingest_runs`` (``POST /runs/batch``:
one JSON body; the SDK's multipart encoding costs far more CPU per run), up to BATCH runs per
request. A full queue records nothing more (no allocation at all), a slow or dead endpoint only
delays the sender, and shutdown flushes with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from ..errors import SettingsError
from ..models import Answer, CacheTier, LookupKey
from ..settings import Settings, describe_error
from .trace_process import SenderProcess
from .trace_records import (
    BAGGAGE_HEADER,
    HTTP_PARENT,
    TRACE_HEADER,
    LookupRecord,
    QueueItem,
    Span,
    SpanRecord,
    TraceParent,
    trace_parent,
)
from .trace_runs import RunBuilder

logger = logging.getLogger(__name__)

__all__ = [  # the recording API; trace_records.py and trace_runs.py hold the rest
    "BAGGAGE_HEADER",
    "HTTP_PARENT",
    "TRACE_HEADER",
    "LangSmithTracer",
    "TraceParent",
    "Tracer",
    "build_tracer",
    "trace_parent",
]

MAX_QUEUED = 10_000
SEND_EVERY_S = 0.5  # one wake-up per half second, not one per run: wake-ups and requests cost CPU under the GIL
BATCH = 500  # runs per POST: a request's own overhead (requests, headers, the server's parse) is paid once
YIELD_EVERY = 32  # runs built between two GIL hand-backs (~20 µs each: well under a millisecond held)
YIELD_S = 0.001
SHIP_BATCH = 2000  # queue items per pickle written to the sender process


class RunShipper(Protocol):
    """Where the tracer's thread hands queue items when another process posts the runs
    (trace_process.SenderProcess)."""

    @property
    def alive(self) -> bool:
        """False once the other end is gone (tracing has stopped)."""
        ...

    def ship(self, items: Sequence[object]) -> bool:
        """Hand *items* over (pickled); False when the other end is gone."""
        ...

    def flush(self, timeout_s: float) -> tuple[bool, int, int, int]:
        """Have what was shipped posted within *timeout_s*: (all sent, sent, failed, dropped) so far."""
        ...

    def close(self) -> None:
        """End the other end (after the last flush)."""
        ...


_CURRENT: contextvars.ContextVar[Span | None] = contextvars.ContextVar("warmline_trace_span", default=None)


class Tracer:
    """The disabled tracer: every method is a no-op (the default, and what tests of other parts see)."""

    enabled = False

    def lookup_done(
        self,
        key: LookupKey | None,
        answer: Answer,
        started: float,
        fetch: tuple[float, float] | None = None,
        parent: object = None,
    ) -> None:
        """Record a finished lookup (*started*, *fetch*: ``time.perf_counter()`` values)."""

    @contextlib.contextmanager
    def span(
        self, name: str, run_type: str, inputs: dict[str, Any], parent: TraceParent | None = None
    ) -> Iterator[Span | None]:
        """Record the body as a run (a child of the current one, if any); yields None when not traced."""
        yield None

    def flush(self, timeout_s: float) -> bool:
        """Send what is queued, waiting at most *timeout_s*; True when everything went out."""
        return True

    async def aclose(self, timeout_s: float) -> None:
        """Flush within *timeout_s*, then stop."""


class LangSmithTracer(Tracer):
    """Records lookups and chats as LangSmith runs, posted through *client* or handed to *process*."""

    enabled = True

    def __init__(
        self,
        client: Any,
        *,
        project: str,
        worker: str,
        sample_rate: float = 1.0,
        hit_sample: float = 0.01,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
        max_queued: int = MAX_QUEUED,
        scrub_errors: Callable[[str], str] | None = None,
        masker: Callable[[Any], Any] | None = None,
        process: RunShipper | None = None,
    ) -> None:
        self._client = client
        self._process = process  # set: the thread only ships queue items to that process, which posts them
        self._sender_gone_logged = False
        # Masking happens in the builder, in the sending thread, before anything is handed to the SDK.
        self._builder = RunBuilder(project, worker, scrub_errors=scrub_errors, masker=masker)
        self._worker = worker
        self._rate = sample_rate
        self._hit_rate = hit_sample
        self._rng = rng
        self._clock = clock
        self._max_queued = max_queued
        self._queue: deque[QueueItem] = deque()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.remote_failed = 0  # runs the sender process could not post (as of the last flush)
        self.remote_dropped = 0
        self._thread = threading.Thread(target=self._run, name="warmline-tracing", daemon=True)
        self._thread.start()

    # --- recording (event-loop thread) -------------------------------------------------------

    def _sampled(self, parent: TraceParent | None, hit: bool) -> bool:
        if parent is not None and parent.trace:
            return True  # the caller traces this request: its sampling decided
        if self._rate < 1.0 and self._rng() >= self._rate:
            return False
        return not hit or self._rng() < self._hit_rate

    def lookup_done(
        self,
        key: LookupKey | None,
        answer: Answer,
        started: float,
        fetch: tuple[float, float] | None = None,
        parent: object = None,
    ) -> None:
        """Record a finished lookup as a run, with a child run for the source call of a miss."""
        try:
            self._record_lookup(key, answer, started, fetch, parent)
        except Exception:  # tracing never fails a lookup
            self.failed += 1
            logger.debug("a lookup was not traced", exc_info=True)

    def _record_lookup(
        self,
        key: LookupKey | None,
        answer: Answer,
        started: float,
        fetch: tuple[float, float] | None,
        parent: object,
    ) -> None:
        current = _CURRENT.get()
        if current is None and len(self._queue) >= self._max_queued:
            self.dropped += 1  # the sender is behind (LangSmith slow or down): record nothing at all
            return
        trace = parent if isinstance(parent, TraceParent) or parent is None else _coerce(parent)
        hit = answer.source is CacheTier.L1 and not answer.stale
        if current is None and not self._sampled(trace, hit):
            return
        now = time.perf_counter()
        offset = self._clock() - now  # perf_counter → epoch seconds
        record = LookupRecord(
            started=started + offset,
            ended=now + offset,
            fetch_started=fetch[0] + offset if fetch else None,
            fetch_ended=fetch[1] + offset if fetch else None,
            kind=key.kind.value if key else None,
            value=key.value if key else None,
            status=answer.status.value,
            tier=answer.source.value if answer.source else None,
            stale=answer.stale,
            age_s=answer.age_s,
            request_id=answer.request_id,
            customer_json=answer.customer_json,
            matches=answer.matches,
            error=answer.error,
            via=trace.via if trace else ("chat" if current else "direct"),
            trace=trace.trace if trace else None,
            baggage=trace.baggage if trace else None,
        )
        if current is not None:
            current.children.append(record)  # built into a run with its span, by the same RunBuilder
        else:
            self._queue.append(record)
            self._idle.clear()

    @contextlib.contextmanager
    def span(
        self, name: str, run_type: str, inputs: dict[str, Any], parent: TraceParent | None = None
    ) -> Iterator[Span | None]:
        """Record the body as a run; lookups and spans opened inside become its children."""
        outer = _CURRENT.get()
        if outer is None and not self._sampled(parent, hit=False):
            yield None
            return
        span = Span(name, run_type, self._clock(), inputs, metadata={"worker": self._worker})
        token = _CURRENT.set(span)
        try:
            yield span
        except Exception as e:
            span.error = f"{type(e).__name__}: {e}"
            raise
        finally:
            with contextlib.suppress(ValueError):  # a stream closed from another context (client gone)
                _CURRENT.reset(token)
            span.end = self._clock()
            if outer is not None:
                outer.children.append(span)
            else:
                self._submit(span, parent)

    def _submit(self, span: Span, parent: TraceParent | None) -> None:
        if len(self._queue) >= self._max_queued:
            self.dropped += 1  # never blocks, never grows without bound
            return
        self._queue.append(SpanRecord(span, parent))
        self._idle.clear()

    # --- sending (the tracing thread) ---------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(SEND_EVERY_S)
            self._wake.clear()
            self._drain()

    def enqueue(self, items: list[QueueItem]) -> None:
        """Queue items recorded elsewhere (the sender process's input), dropping what does not fit."""
        room = max(0, self._max_queued - len(self._queue))
        self._queue.extend(items[:room])
        self.dropped += len(items) - min(room, len(items))
        self._idle.clear()

    def _drain(self) -> None:
        if self._process is not None:
            self._ship(self._process)
            return
        while self._queue:
            runs: list[dict[str, Any]] = []
            for i in range(min(BATCH, len(self._queue))):
                self._builder.runs(self._queue.popleft(), runs)
                if i % YIELD_EVERY == YIELD_EVERY - 1:
                    time.sleep(0)  # offer the GIL to a waiting event loop
            try:
                self._client.batch_ingest_runs(create=runs)
                self.sent += len(runs)
            except Exception as e:  # noqa: BLE001  # tracing never fails anything: count and go on
                self.failed += len(runs)
                logger.debug("LangSmith rejected %d runs: %s", len(runs), e)
            time.sleep(YIELD_S)  # hand the GIL back to the event loop between batches
        self._idle.set()

    def _ship(self, process: RunShipper) -> None:
        while self._queue:
            items = [self._queue.popleft() for _ in range(min(SHIP_BATCH, len(self._queue)))]
            try:
                shipped = process.ship(items)
            except Exception:  # noqa: BLE001  # an item that does not pickle must not end the thread
                shipped = self._ship_one_by_one(process, items)
            else:
                if not shipped:
                    self.failed += len(items)
            if not shipped and not process.alive and not self._sender_gone_logged:
                self._sender_gone_logged = True  # once: tracing has stopped, and that must show
                logger.warning("the LangSmith sender process is gone: tracing stopped (lookups go on)")
        self._idle.set()

    def _ship_one_by_one(self, process: RunShipper, items: list[QueueItem]) -> bool:
        """Ship *items* singly after their batch failed to pickle: only the ones that do not are lost."""
        shipped = False
        for item in items:
            try:
                ok = process.ship([item])
            except Exception as e:  # noqa: BLE001  # counted and logged, the thread goes on
                ok = False
                logger.warning("a trace item could not be shipped: %s", e)
            shipped = shipped or ok
            self.failed += not ok
        return shipped

    # --- lifecycle ----------------------------------------------------------------------------

    def flush(self, timeout_s: float) -> bool:
        """Wake the sender and wait until the queue is empty (and posted), at most *timeout_s*."""
        deadline = time.monotonic() + timeout_s
        self._wake.set()
        if not self._idle.wait(timeout_s):
            return False
        if self._process is None:
            return True
        ok, sent, failed, dropped = self._process.flush(max(0.0, deadline - time.monotonic()))
        self.sent, self.remote_failed, self.remote_dropped = sent, failed, dropped  # counted by the process
        return ok

    async def aclose(self, timeout_s: float) -> None:
        """Flush for at most *timeout_s*; the daemon thread never holds up the process after that."""
        flushed = await asyncio.to_thread(self.flush, timeout_s)
        self._stopping = True
        self._wake.set()
        if self._process is not None:
            await asyncio.to_thread(self._process.close)
        if not flushed:
            logger.warning("LangSmith did not take %d queued runs within %.1fs: dropped", len(self._queue), timeout_s)


def _coerce(parent: object) -> TraceParent | None:
    if isinstance(parent, Mapping | list | tuple):
        return trace_parent(parent, via="kafka" if isinstance(parent, list | tuple) else "http")
    return None


def build_tracer(settings: Settings, worker: str) -> Tracer:
    """The worker's tracer: LangSmith when LANGSMITH_TRACING=true with a key, else the no-op one."""
    try:
        ls = settings.langsmith
    except ValidationError as e:
        raise SettingsError(describe_error(e, prefix="LANGSMITH_")) from None
    if not ls.active or ls.api_key is None:
        return Tracer()
    masked = not settings.trace_pii
    # The runs are built and posted by a process of our own (trace_process.py), masked there before the
    # SDK sees them: no hide_* hooks and no anonymizer (which round-trips each dict through JSON).
    process = SenderProcess(
        {
            "endpoint": ls.endpoint,
            "api_key": ls.api_key.get_secret_value(),
            "project": ls.project,
            "worker": worker,
            "masked": masked,
        }
    )
    logger.info(
        "LangSmith tracing on: project %s, sampling %.3g, L1 hits %.3g, %s",
        ls.project,
        ls.tracing_sampling_rate,
        settings.trace_hit_sample,
        "UNMASKED (WARMLINE_TRACE_PII=true)" if settings.trace_pii else "masked",
    )
    return LangSmithTracer(
        None,
        project=ls.project,
        worker=worker,
        sample_rate=ls.tracing_sampling_rate,
        hit_sample=settings.trace_hit_sample,
        process=process,
    )
