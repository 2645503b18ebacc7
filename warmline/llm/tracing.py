"""LangSmith tracing of lookups and chats: off by default, masked by default, never in a caller's way.

A lookup only appends a tuple of atomic values to a bounded deque (no I/O, no serialization,
no lock). One daemon thread wakes every SEND_EVERY_S. In the worker (``build_tracer``) it only
pickles what is queued into a sender process (trace_process.py), so run building never holds
the worker's GIL; there, and with an injected client (tests), it turns queued items into runs —
masking included, lookups through a fast path that builds the masked run directly — and posts
them with ``Client.batch_ingest_runs`` (``POST /runs/batch``: one JSON body; the SDK's multipart
encoding costs far more CPU per run), up to BATCH runs per request. A full queue records nothing
more (no allocation at all), a slow or dead endpoint only delays the sender, and shutdown
flushes with a deadline.
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from pydantic import ValidationError

from ..errors import SettingsError
from ..logs import TRACE_ID, trace_id_of
from ..models import Answer, CacheTier, KeyKind, LookupKey
from ..settings import Settings, describe_error
from .masking import MASK, mask_fields, scrub_text
from .trace_process import SenderProcess

logger = logging.getLogger(__name__)

TRACE_HEADER = "langsmith-trace"
BAGGAGE_HEADER = "baggage"
MAX_QUEUED = 10_000
SEND_EVERY_S = 0.5  # one wake-up per half second, not one per run: wake-ups and requests cost CPU under the GIL
BATCH = 500  # runs per POST: a request's own overhead (requests, headers, the server's parse) is paid once
YIELD_EVERY = 32  # runs built between two GIL hand-backs (~20 µs each: well under a millisecond held)
YIELD_S = 0.001
SHIP_BATCH = 2000  # queue items per pickle written to the sender process


class LookupRecord(NamedTuple):
    """A finished lookup as the event loop queues it; the sending side turns it into runs.

    Atomic fields only (times in epoch seconds, strings, numbers): cheap to make on the event loop
    and to pickle into the sender process.
    """

    started: float
    ended: float
    fetch_started: float | None
    fetch_ended: float | None
    kind: str | None
    value: str | None
    status: str
    tier: str | None
    stale: bool
    age_s: float | None
    request_id: str | None
    customer_json: bytes | None
    matches: int
    error: str | None
    via: str
    trace: str | None
    baggage: str | None


@dataclass(frozen=True, slots=True)
class TraceParent:
    """Where a lookup came from and, when the caller traces, the run it belongs under."""

    via: str = "direct"
    trace: str | None = None
    """The caller's ``langsmith-trace`` header (its run's dotted order)."""
    baggage: str | None = None


#: The parent of an HTTP request without a trace header (shared: the hot path builds nothing).
HTTP_PARENT = TraceParent("http")


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def trace_parent(
    headers: Mapping[str, str | bytes] | Iterable[tuple[str | bytes, str | bytes]] | None, via: str = "kafka"
) -> TraceParent:
    """The parent of a lookup from a Kafka message's headers (pairs) or an HTTP request's (a mapping).

    A ``langsmith-trace`` header also binds its trace id to this task's JSON log lines.
    """
    trace = baggage = None
    if headers is not None:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in pairs:
            lowered = _text(name).lower()
            if lowered == TRACE_HEADER:
                trace = _text(value)
            elif lowered == BAGGAGE_HEADER:
                baggage = _text(value)
    if trace:
        TRACE_ID.set(trace_id_of(trace))  # this task's log lines carry the caller's trace id
    return TraceParent(via, trace, baggage)


@dataclass(slots=True)
class Span:
    """One run being recorded; children are posted with it."""

    name: str
    run_type: str
    start: float
    inputs: dict[str, Any]
    end: float | None = None
    outputs: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    children: list[Span] = field(default_factory=list)


_CURRENT: contextvars.ContextVar[Span | None] = contextvars.ContextVar("warmline_trace_span", default=None)

#: What the tracer queues: a finished lookup, or a span tree with the trace it belongs under.
QueueItem = LookupRecord | tuple[Span, TraceParent | None]


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
        process: SenderProcess | None = None,
    ) -> None:
        self._client = client
        self._process = process  # set: the thread only ships queue items to that process, which posts them
        self._sender_gone_logged = False
        self._scrub = scrub_errors
        self._mask = masker  # applied in the sender thread, before anything is handed to the SDK
        self._project = project
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
            current.children.append(self._lookup_span(record))
        else:
            self._queue.append(record)
            self._idle.clear()

    def _lookup_span(self, r: LookupRecord) -> Span:
        key = LookupKey(KeyKind(r.kind), r.value) if r.kind is not None and r.value is not None else None
        inputs = {"by": key.kind.value, "value": key.value, "key": key.redacted} if key else {}
        customer = orjson.loads(r.customer_json) if r.customer_json is not None else None
        span = Span(
            "lookup",
            "retriever",
            r.started,
            inputs,
            end=r.ended,
            outputs={"status": r.status, "customer": customer, "matches": r.matches, "error": r.error},
            metadata={
                "tier": r.tier,
                "status": r.status,
                "stale": r.stale,
                "age_s": r.age_s,
                "request_id": r.request_id,
                "worker": self._worker,
                "via": r.via,
                "key": key.redacted if key else None,
            },
            error=r.error,
        )
        if r.fetch_started is not None:
            span.children.append(
                Span(
                    "source",
                    "tool",
                    r.fetch_started,
                    dict(inputs),
                    end=r.fetch_ended,
                    metadata={"worker": self._worker},
                )
            )
        return span

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
        self._queue.append((span, parent))
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
                item = self._queue.popleft()
                if isinstance(item, LookupRecord):
                    self._lookup_runs(item, runs)
                else:
                    runs.extend(self._runs(*item))
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

    def _ship(self, process: SenderProcess) -> None:
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

    def _ship_one_by_one(self, process: SenderProcess, items: list[QueueItem]) -> bool:
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

    def _lookup_runs(self, r: LookupRecord, out: list[dict[str, Any]]) -> None:
        """A queued lookup record → its run (and the source child of a miss), masked, without a Span.

        The hot path of every-hit tracing: the same run ``_flatten(_lookup_span(r))`` gives, built
        directly, masking only what can be personal (the key's value, the record, free text).
        """
        from langsmith.uuid import uuid7

        masked = self._mask is not None
        trace_id, prefix, parent_id, project = self._root(TraceParent(r.via, r.trace, r.baggage) if r.trace else None)
        key = LookupKey(KeyKind(r.kind), r.value) if r.kind is not None and r.value is not None else None
        redacted = key.redacted if key else None
        inputs = {"by": r.kind, "value": MASK if masked else r.value, "key": redacted} if key else {}
        customer = orjson.loads(r.customer_json) if r.customer_json is not None else None
        if masked and customer is not None:
            customer = mask_fields(customer)
        error = r.error
        if masked and error:
            error = scrub_text(error)
        request_id = (
            scrub_text(r.request_id) if masked and r.request_id else r.request_id
        )  # the caller chose it: it could be anything
        run_id = uuid7()
        start = datetime.fromtimestamp(r.started, UTC)
        dotted = f"{prefix}{start:%Y%m%dT%H%M%S%fZ}{run_id}"
        root = trace_id or run_id
        out.append(
            {
                "id": run_id,
                "trace_id": root,
                "dotted_order": dotted,
                "parent_run_id": parent_id,
                "name": "lookup",
                "run_type": "retriever",
                "start_time": start,
                "end_time": datetime.fromtimestamp(r.ended, UTC),
                "inputs": inputs,
                "outputs": {"status": r.status, "customer": customer, "matches": r.matches, "error": error},
                "error": error,
                "extra": {
                    "metadata": {
                        "tier": r.tier,
                        "status": r.status,
                        "stale": r.stale,
                        "age_s": r.age_s,
                        "request_id": request_id,
                        "worker": self._worker,
                        "via": r.via,
                        "key": redacted,
                    }
                },
                "session_name": project,
            }
        )
        if r.fetch_started is not None:
            child_id = uuid7()
            child_start = datetime.fromtimestamp(r.fetch_started, UTC)
            out.append(
                {
                    "id": child_id,
                    "trace_id": root,
                    "dotted_order": f"{dotted}.{child_start:%Y%m%dT%H%M%S%fZ}{child_id}",
                    "parent_run_id": run_id,
                    "name": "source",
                    "run_type": "tool",
                    "start_time": child_start,
                    "end_time": datetime.fromtimestamp(r.fetch_ended or r.fetch_started, UTC),
                    "inputs": dict(inputs),
                    "outputs": None,
                    "error": None,
                    "extra": {"metadata": {"worker": self._worker}},
                    "session_name": project,
                }
            )

    def _runs(self, span: Span, parent: TraceParent | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._flatten(span, *self._root(parent), out)
        return out

    def _root(self, parent: TraceParent | None) -> tuple[UUID | None, str, UUID | None, str]:
        """(trace id, dotted-order prefix, parent run id, project) of a run under *parent*'s trace, if any."""
        if parent is None or not parent.trace:
            return None, "", None, self._project
        try:
            from langsmith.run_trees import RunTree

            headers: dict[str | bytes, str | bytes] = {TRACE_HEADER: parent.trace, BAGGAGE_HEADER: parent.baggage or ""}
            tree = RunTree.from_headers(headers)
        except Exception as e:  # noqa: BLE001  # an untrusted header: trace as a root instead
            logger.debug("ignoring a bad %s header: %s", TRACE_HEADER, e)
            tree = None
        if tree is None:
            return None, "", None, self._project
        return tree.trace_id, tree.dotted_order + ".", tree.id, tree.session_name or self._project

    def _flatten(
        self,
        span: Span,
        trace_id: UUID | None,
        dotted_prefix: str,
        parent_id: UUID | None,
        project: str,
        out: list[dict[str, Any]],
    ) -> None:
        from langsmith.uuid import uuid7

        run_id = uuid7()
        start = datetime.fromtimestamp(span.start, UTC)
        dotted = f"{dotted_prefix}{start:%Y%m%dT%H%M%S%fZ}{run_id}"
        trace_id = trace_id or run_id
        inputs, outputs, metadata = span.inputs, span.outputs, span.metadata
        if self._mask is not None:
            inputs, metadata = self._mask(inputs), self._mask(metadata)
            outputs = self._mask(outputs) if outputs is not None else None
        out.append(
            {
                "id": run_id,
                "trace_id": trace_id,
                "dotted_order": dotted,
                "parent_run_id": parent_id,
                "name": span.name,
                "run_type": span.run_type,
                "start_time": start,
                "end_time": datetime.fromtimestamp(span.end or span.start, UTC),
                "inputs": inputs,
                "outputs": outputs,
                "error": self._scrub(span.error) if self._scrub and span.error else span.error,
                "extra": {"metadata": metadata},
                "session_name": project,
            }
        )
        for child in span.children:
            self._flatten(child, trace_id, dotted + ".", run_id, project, out)

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
