"""The pre-warm agent: a call entered a queue, so resolve its caller now (on the key's owner)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from faust.types import EventT

from ..lookups import LookupService
from ..metrics import Metrics
from ..models import CallStarted, InvalidMessage, LookupKey, parse
from ..platforms import Mappings
from ..platforms.calls import platform_payload, to_warm
from ..sources import Priority
from ..stream.app import StreamApp
from ..stream.ownership import Ownership
from .batcher import Batcher
from .kafka_io import Handle, HandlerPool, Outbox, ack_when_delivered, attach_routed

logger = logging.getLogger(__name__)

#: Events warmed together: one MGET and one L2 pipeline each; the handler pool bounds events in flight.
WARM_BATCH_SIZE = 100
#: The longest a partial batch waits for more events (small beside a source call of tens of ms).
WARM_BATCH_WITHIN_S = 0.005


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
        platforms: Mappings | None = None,
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
        # Platform events arrive on the foreign topic only; the repartition topic carries warmline's own.
        self._platforms = None if rekeyed else platforms
        self._counters: dict[tuple[str, str], Any] = {}
        self._batch: Batcher[tuple[EventT[bytes], LookupKey]] = Batcher(
            WARM_BATCH_SIZE, WARM_BATCH_WITHIN_S, self._warm_batch
        )

    async def handle(self, event: EventT[bytes]) -> None:
        """Warm, re-key, or dead-letter *event* (warmline's CallStarted, or a platform's own event)."""
        try:
            call = parse(CallStarted, event.message.value)
            key = call.lookup_key(self._lookups.region)
        except InvalidMessage as e:
            await self._platform_event(event, e.reason)
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
        # Faust hands events over one at a time, so a batch is what arrives within WARM_BATCH_WITHIN_S:
        # a lone caller waits that long (nothing beside a source call or a queue wait of seconds), a
        # burst pays one MGET and one L2 pipeline per batch instead of per event.
        await self._batch.add((event, key))

    async def _platform_event(self, event: EventT[bytes], not_ours: str) -> None:
        """A platform's own event (Amazon Connect, Genesys, Twilio, a user mapping): each call it
        queues goes, as warmline's CallStarted, to its owner through the repartition topic; answered
        and ended calls are counted. Neither warmline's nor a known platform's: dead-lettered."""
        calls = self._platforms.recognize(platform_payload(event.message.value)) if self._platforms else []
        if not calls:
            reason = f"neither a CallStarted ({not_ours}) nor a known platform event"
            ack_when_delivered(event, await self._outbox.dead_letter(event, reason[:300]))
            return
        deliveries = []
        for platform_call in calls:
            plan = to_warm(platform_call, self._lookups.region)
            if plan.started is not None and plan.owner_key is not None:
                partition = self._ownership.partition_of(plan.owner_key)
                deliveries.append(
                    await self._outbox.send(
                        self._repartition_topic, plan.owner_key.encode(), plan.started.to_json(), partition=partition
                    )
                )
            self._metrics.platform_events.labels(platform_call.platform, plan.outcome).inc()
        ack_when_delivered(event, asyncio.gather(*deliveries))

    async def _warm_batch(self, items: list[tuple[EventT[bytes], LookupKey]]) -> None:
        """Warm a batch of keys with one MGET and one L2 pipeline; ack each event once its key is done."""
        keys = list(dict.fromkeys(key for _, key in items))  # a caller who called twice is fetched once

        async def warm() -> None:
            warmed = await self._lookups.prewarm_many(keys, Priority.LIVE)  # callers are waiting in queues
            for event, key in items:
                ok = warmed.get(key, False)
                self._count(event, "warmed" if ok else "failed")
                if ok:
                    self._on_warm(key)  # e.g. the caller's brief, prepared at background priority

        async def failed(error: Exception) -> None:
            for event, _ in items:
                self._count(event, "failed")

        await self._pool.spawn_batch([event for event, _ in items], warm, failed)

    def _count(self, event: EventT[bytes], outcome: str) -> None:
        # .labels() hashes and locks on every call: keep the child counters (few topics × outcomes).
        topic = event.message.topic
        counter = self._counters.get((topic, outcome))
        if counter is None:
            counter = self._counters[(topic, outcome)] = self._metrics.messages.labels(topic, outcome)
        counter.inc()


def register(
    sa: StreamApp,
    lookups: LookupService,
    metrics: Metrics,
    outbox: Outbox,
    pool: HandlerPool,
    ownership: Ownership,
    call_max_age_s: float,
    on_warm: Callable[[LookupKey], None] | None = None,
    platforms: Mappings | None = None,
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
            platforms=platforms,
        ).handle

    lanes = sa.app.lanes  # warming yields to lookups (stream/lanes.py)
    turn = lanes.turn if lanes is not None else None
    attach_routed(sa.app, routed, handler_for, pool, outbox, "warmline.call_started", turn)
