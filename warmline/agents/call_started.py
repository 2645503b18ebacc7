"""The pre-warm agent: a call entered a queue, so resolve its caller now (on the key's owner)."""

from __future__ import annotations

import logging
import time

from faust.types import EventT

from ..app import StreamApp
from ..models import CallStarted, InvalidMessage, parse
from ..ownership import Ownership
from ..runtime import Runtime
from ..sources import Priority, SourceError
from .kafka_io import Handle, HandlerPool, Outbox, ack_when_delivered, attach_routed

logger = logging.getLogger(__name__)


class CallStartedHandler:
    """Warms the caller's key through the same TieredCache path lookups use.

    *rekeyed* handlers read warmline's repartition topic and never forward again.
    """

    def __init__(
        self,
        runtime: Runtime,
        outbox: Outbox,
        pool: HandlerPool,
        ownership: Ownership,
        repartition_topic: str,
        *,
        rekeyed: bool,
    ) -> None:
        self._rt = runtime
        self._outbox = outbox
        self._pool = pool
        self._ownership = ownership
        self._repartition_topic = repartition_topic
        self._rekeyed = rekeyed

    async def handle(self, event: EventT[bytes]) -> None:
        """Warm, re-key, or dead-letter *event*."""
        try:
            call = parse(CallStarted, event.message.value)
            key = call.lookup_key(self._rt.settings.default_region)
        except InvalidMessage as e:
            ack_when_delivered(event, await self._outbox.dead_letter(event, e.reason))
            return
        owner_key = str(key)
        if not self._rekeyed and not self._ownership.owns(owner_key):
            partition = self._ownership.partition_of(owner_key)
            ack_when_delivered(event, await self._outbox.rekey(event, self._repartition_topic, owner_key, partition))
            return
        started = call.started_at.timestamp() if call.started_at else event.message.timestamp
        if time.time() - started > self._rt.settings.call_max_age_s:
            # That caller was answered long ago (a backlog, or a new group reading history).
            self._count(event, "too_old")
            event.ack()
            return
        warmth = self._rt.warmth
        warmth.call_started(owner_key)
        if self._rt.cache.peek_l1(key) is not None:
            self._count(event, "already_fresh")
            warmth.warmed(owner_key)
            event.ack()
            return

        async def warm() -> None:
            try:
                await self._rt.cache.warm(key, Priority.LIVE)  # a caller is waiting in a queue
            except SourceError as e:
                logger.info("pre-warm of %s failed: %s", key.redacted, e)
                self._count(event, "failed")
                return
            self._count(event, "warmed")
            warmth.warmed(owner_key)

        async def failed(error: Exception) -> None:
            self._count(event, "failed")

        await self._pool.spawn(event, warm, failed)

    def _count(self, event: EventT[bytes], outcome: str) -> None:
        self._rt.metrics.messages.labels(event.message.topic, outcome).inc()


def register(sa: StreamApp, runtime: Runtime, outbox: Outbox, pool: HandlerPool, ownership: Ownership) -> None:
    """Attach the agents: one on the foreign topic, one on warmline's repartition topic."""
    routed = sa.topics.call_started
    internal = routed.repartition.get_topic_name()

    def handler_for(rekeyed: bool) -> Handle:
        return CallStartedHandler(runtime, outbox, pool, ownership, internal, rekeyed=rekeyed).handle

    attach_routed(sa.app, routed, handler_for, pool, outbox, "warmline.call_started")
