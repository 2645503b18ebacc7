"""The pre-warm agent: a call entered a queue, so resolve its caller now (on the key's owner)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from faust.types import EventT

from ..lookups import LookupService
from ..metrics import Metrics
from ..models import CallStarted, InvalidMessage, LookupKey, parse
from ..sources import Priority
from ..stream.app import StreamApp
from ..stream.ownership import Ownership
from .kafka_io import Handle, HandlerPool, Outbox, ack_when_delivered, attach_routed

logger = logging.getLogger(__name__)


class CallStartedHandler:
    """Warms the caller's key through the same TieredCache path lookups use.

    *rekeyed* handlers read warmline's repartition topic and never forward again.
    """

    def __init__(
        self,
        lookups: LookupService,
        metrics: Metrics,
        outbox: Outbox,
        pool: HandlerPool,
        ownership: Ownership,
        repartition_topic: str,
        *,
        call_max_age_s: float,
        on_warm: Callable[[LookupKey], None] | None,
        rekeyed: bool,
    ) -> None:
        self._lookups = lookups
        self._on_warm = on_warm or (lambda key: None)
        self._metrics = metrics
        self._call_max_age_s = call_max_age_s
        self._outbox = outbox
        self._pool = pool
        self._ownership = ownership
        self._repartition_topic = repartition_topic
        self._rekeyed = rekeyed

    async def handle(self, event: EventT[bytes]) -> None:
        """Warm, re-key, or dead-letter *event*."""
        try:
            call = parse(CallStarted, event.message.value)
            key = call.lookup_key(self._lookups.region)
        except InvalidMessage as e:
            ack_when_delivered(event, await self._outbox.dead_letter(event, e.reason))
            return
        owner_key = str(key)
        if not self._rekeyed and not self._ownership.owns(owner_key):
            partition = self._ownership.partition_of(owner_key)
            ack_when_delivered(event, await self._outbox.rekey(event, self._repartition_topic, owner_key, partition))
            return
        started = call.started_at.timestamp() if call.started_at else event.message.timestamp
        if time.time() - started > self._call_max_age_s:
            # That caller was answered long ago (a backlog, or a new group reading history).
            self._count(event, "too_old")
            event.ack()
            return
        if self._lookups.begin_prewarm(key):
            self._count(event, "already_fresh")
            self._on_warm(key)
            event.ack()
            return

        async def warm() -> None:
            warmed = await self._lookups.prewarm(key, Priority.LIVE)  # a caller is waiting in a queue
            self._count(event, "warmed" if warmed else "failed")
            if warmed:
                self._on_warm(key)  # e.g. the caller's brief, prepared at background priority

        async def failed(error: Exception) -> None:
            self._count(event, "failed")

        await self._pool.spawn(event, warm, failed)

    def _count(self, event: EventT[bytes], outcome: str) -> None:
        self._metrics.messages.labels(event.message.topic, outcome).inc()


def register(
    sa: StreamApp,
    lookups: LookupService,
    metrics: Metrics,
    outbox: Outbox,
    pool: HandlerPool,
    ownership: Ownership,
    call_max_age_s: float,
    on_warm: Callable[[LookupKey], None] | None = None,
) -> None:
    """Attach the agents: one on the foreign topic, one on warmline's repartition topic."""
    routed = sa.topics.call_started
    internal = routed.repartition.get_topic_name()

    def handler_for(rekeyed: bool) -> Handle:
        return CallStartedHandler(
            lookups,
            metrics,
            outbox,
            pool,
            ownership,
            internal,
            call_max_age_s=call_max_age_s,
            on_warm=on_warm,
            rekeyed=rekeyed,
        ).handle

    attach_routed(sa.app, routed, handler_for, pool, outbox, "warmline.call_started")
