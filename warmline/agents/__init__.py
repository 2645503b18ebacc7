"""Faust agents and timers; register_all attaches them to a StreamApp."""

from __future__ import annotations

from collections.abc import Callable

from ..lookups import LookupService
from ..metrics import Metrics
from ..models import LookupKey
from ..platforms.ingress import PlatformIngress
from ..prewarm.scheduler import VipRunner
from ..stream.app import StreamApp
from ..stream.ownership import Ownership
from ..stream.topics import TopicPlan
from . import call_started, invalidation, lookup_requests, timers
from .kafka_io import HandlerPool, KafkaOutbox

#: Slow (upstream) handlers of warming and invalidation in flight per worker before consuming pauses.
MAX_INFLIGHT_HANDLERS = 1000
#: Lookups in flight (replies on their way, misses at the source) before the lookup lane pauses:
#: a pool of their own, so a lookup never waits for a slot that a burst of warms holds.
MAX_INFLIGHT_LOOKUPS = 1000


def register_all(
    sa: StreamApp,
    lookups: LookupService,
    metrics: Metrics,
    ownership: Ownership,
    plan: TopicPlan,
    *,
    outbox: KafkaOutbox,
    pool: HandlerPool,
    lookup_pool: HandlerPool,
    call_max_age_s: float,
    vip: VipRunner | None,
    on_warm: Callable[[LookupKey], None] | None = None,
    platforms: PlatformIngress | None = None,
    warming_intake: bool = True,
) -> None:
    """Attach every agent and timer; they send through *outbox*; lookups run in *lookup_pool*,
    warming and invalidation in *pool*."""
    lookup_requests.register(sa, lookups, outbox, lookup_pool, ownership, plan)
    call_started.register(
        sa, lookups, metrics, outbox, pool, ownership, call_max_age_s, on_warm, platforms, intake=warming_intake
    )
    invalidation.register(sa, lookups, outbox, pool, ownership)
    if vip is not None:
        timers.register(sa, vip)
