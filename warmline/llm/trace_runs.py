"""Queued trace records → LangSmith runs (``batch_ingest_runs`` dicts), each run built once, masked here.

Runs in the tracing thread (tests, or the sender process of trace_process.py), never on the event
loop. A lookup, whether queued alone or recorded inside a chat, becomes its run (and the source
child of a miss) through one function, masking only what can be personal: the key's value, the
record, free text. Spans (chats, model calls) are masked whole by *masker*.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson

from ..models import KeyKind, LookupKey
from .masking import MASK, mask_fields, scrub_text
from .trace_records import BAGGAGE_HEADER, TRACE_HEADER, LookupRecord, QueueItem, Span, TraceParent

logger = logging.getLogger(__name__)

Run = dict[str, Any]


class Place(NamedTuple):
    """Where a run goes: its trace, its dotted-order prefix, its parent run and its project."""

    trace_id: UUID | None
    prefix: str
    parent_id: UUID | None
    project: str


def _stamp(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


class RunBuilder:
    """Builds the runs of queued records for *project*, tagged with *worker*; masked when *masker* is set."""

    def __init__(
        self,
        project: str,
        worker: str,
        *,
        scrub_errors: Callable[[str], str] | None = None,
        masker: Callable[[Any], Any] | None = None,
    ) -> None:
        self._project = project
        self._worker = worker
        self._scrub = scrub_errors
        self._mask = masker

    def runs(self, item: QueueItem, out: list[Run]) -> None:
        """Append the runs of one queued *item* to *out*, under its caller's trace when it has one."""
        if isinstance(item, LookupRecord):
            parent = TraceParent(item.via, item.trace, item.baggage) if item.trace else None
            self._lookup(item, self.place(parent), out)
        else:
            self._span(item.span, self.place(item.parent), out)

    def place(self, parent: TraceParent | None) -> Place:
        """Where a top-level run under *parent*'s trace goes (a root run without one, or with a bad header)."""
        root = Place(None, "", None, self._project)
        if parent is None or not parent.trace:
            return root
        try:
            from langsmith.run_trees import RunTree

            headers: dict[str | bytes, str | bytes] = {TRACE_HEADER: parent.trace, BAGGAGE_HEADER: parent.baggage or ""}
            tree = RunTree.from_headers(headers)
        except Exception as e:  # noqa: BLE001  # an untrusted header: trace as a root instead
            logger.debug("ignoring a bad %s header: %s", TRACE_HEADER, e)
            tree = None
        if tree is None:
            return root
        return Place(tree.trace_id, tree.dotted_order + ".", tree.id, tree.session_name or self._project)

    def _run(self, where: Place, name: str, run_type: str, start: float, end: float, **fields: Any) -> Run:
        from langsmith.uuid import uuid7

        run_id = uuid7()
        started = _stamp(start)
        return {
            "id": run_id,
            "trace_id": where.trace_id or run_id,
            "dotted_order": f"{where.prefix}{started:%Y%m%dT%H%M%S%fZ}{run_id}",
            "parent_run_id": where.parent_id,
            "name": name,
            "run_type": run_type,
            "start_time": started,
            "end_time": _stamp(end),
            "session_name": where.project,
            **fields,
        }

    @staticmethod
    def _below(run: Run, project: str) -> Place:
        return Place(run["trace_id"], run["dotted_order"] + ".", run["id"], project)

    def _lookup(self, r: LookupRecord, where: Place, out: list[Run]) -> None:
        masked = self._mask is not None
        key = LookupKey(KeyKind(r.kind), r.value) if r.kind is not None and r.value is not None else None
        redacted = key.redacted if key else None
        inputs = {"by": r.kind, "value": MASK if masked else r.value, "key": redacted} if key else {}
        customer = orjson.loads(r.customer_json) if r.customer_json is not None else None
        if masked and customer is not None:
            customer = mask_fields(customer)
        error = scrub_text(r.error) if masked and r.error else r.error
        request_id = scrub_text(r.request_id) if masked and r.request_id else r.request_id  # the caller chose it
        metadata = {
            "tier": r.tier,
            "status": r.status,
            "stale": r.stale,
            "age_s": r.age_s,
            "request_id": request_id,
            "worker": self._worker,
            "via": r.via,
            "key": redacted,
        }
        outputs = {"status": r.status, "customer": customer, "matches": r.matches, "error": error}
        run = self._run(
            where, "lookup", "retriever", r.started, r.ended,
            inputs=inputs, outputs=outputs, error=error, extra={"metadata": metadata},
        )  # fmt: skip
        out.append(run)
        if r.fetch_started is not None:
            source = self._run(
                self._below(run, where.project), "source", "tool", r.fetch_started, r.fetch_ended or r.fetch_started,
                inputs=dict(inputs), outputs=None, error=None, extra={"metadata": {"worker": self._worker}},
            )  # fmt: skip
            out.append(source)

    def _span(self, span: Span, where: Place, out: list[Run]) -> None:
        inputs, outputs, metadata = span.inputs, span.outputs, span.metadata
        if self._mask is not None:
            inputs, metadata = self._mask(inputs), self._mask(metadata)
            outputs = self._mask(outputs) if outputs is not None else None
        error = self._scrub(span.error) if self._scrub and span.error else span.error
        run = self._run(
            where, span.name, span.run_type, span.start, span.end or span.start,
            inputs=inputs, outputs=outputs, error=error, extra={"metadata": metadata},
        )  # fmt: skip
        out.append(run)
        below = self._below(run, where.project)
        for child in span.children:
            if isinstance(child, LookupRecord):
                self._lookup(child, below, out)
            else:
                self._span(child, below, out)
