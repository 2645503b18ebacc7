"""What the tracer queues on the event loop: slotted records of atomic values, cheap to make and to pickle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..logs import TRACE_ID, trace_id_of

TRACE_HEADER = "langsmith-trace"
BAGGAGE_HEADER = "baggage"


class LookupRecord(NamedTuple):
    """A finished lookup as the event loop queues it; trace_runs.RunBuilder turns it into runs.

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


@dataclass(slots=True)
class Span:
    """One run being recorded (a chat, a model call); lookups and spans inside it are its children."""

    name: str
    run_type: str
    start: float
    inputs: dict[str, Any]
    end: float | None = None
    outputs: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    children: list[Span | LookupRecord] = field(default_factory=list)


class SpanRecord(NamedTuple):
    """A finished top-level span, with the trace it belongs under (None: a root run)."""

    span: Span
    parent: TraceParent | None


#: What the tracer queues: a finished lookup, or a finished span tree.
QueueItem = LookupRecord | SpanRecord


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
