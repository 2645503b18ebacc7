"""Faust agents and timers; register_all attaches them to a StreamApp."""

from __future__ import annotations

from ..app import StreamApp
from ..ownership import Ownership
from ..prewarm import VipRunner
from ..runtime import Runtime
from ..stream.topics import TopicPlan
from . import call_started, invalidation, lookup_requests, timers
from .kafka_io import HandlerPool, Outbox

#: Slow (upstream) handlers in flight per worker before consuming pauses.
MAX_INFLIGHT_HANDLERS = 1000


def register_all(
    sa: StreamApp, runtime: Runtime, ownership: Ownership, plan: TopicPlan
) -> tuple[HandlerPool, VipRunner]:
    """Attach every agent and timer; returns the handler pool and VIP runner the worker owns."""
    outbox = Outbox(sa.app, runtime.settings.topic_lookup_dlq, runtime.metrics)
    pool = HandlerPool(MAX_INFLIGHT_HANDLERS)
    lookup_requests.register(sa, runtime, outbox, pool, ownership, plan)
    call_started.register(sa, runtime, outbox, pool, ownership)
    invalidation.register(sa, runtime, outbox, pool, ownership)
    runner = timers.register(sa, runtime)
    return pool, runner
