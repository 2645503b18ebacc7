"""The pre-warm agent: a call entered a queue, so resolve its caller now (on the key's owner)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import InvalidMessage, RegistryUnavailable
from ..lookups import LookupService
from ..loop_turns import LoopTurns
from ..metrics import Metrics
from ..models import CallStarted, LookupKey, parse, parse_key
from ..platforms.calls import CallAnswered, platform_payload
from ..platforms.ingress import Dispatch, PlatformIngress
from ..prewarm.bulk import LIVE_POLICY, WarmOrigin, WarmOutcome
from ..prewarm.warm_at_answer import tier_at_answer
from ..sources import Priority
from ..stream.app import StreamApp
from ..stream.lanes import Lanes
from ..stream.ownership import Ownership
from .batcher import Batcher
from .kafka_io import (
    Delivery,
    HandlerPool,
    InboundEvent,
    KafkaOutbox,
    Outbox,
    ack_when_delivered,
    attach_routed,
    from_intakes,
    from_streams,
)

logger = logging.getLogger(__name__)

#: Events warmed together: one MGET and one L2 pipeline each; the handler pool bounds events in flight.
WARM_BATCH_SIZE = 100
#: The agents' name (the one on the repartition topic adds ".rekeyed").
NAME = "warmline.call_started"
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
        platforms: PlatformIngress | None = None,
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
        # Platform events arrive on the foreign topic; the repartition topic carries warmline's own
        # CallStarted and, from the platforms' answered events, CallAnswered.
        self._platforms = platforms
        self._counters: dict[tuple[str, str], Any] = {}
        self._restoring: set[asyncio.Future[None]] = set()
        self._batch: Batcher[tuple[InboundEvent, LookupKey]] = Batcher(
            WARM_BATCH_SIZE, WARM_BATCH_WITHIN_S, self._warm_batch
        )

    async def handle(self, event: InboundEvent) -> None:
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
        # A batch is what arrives within WARM_BATCH_WITHIN_S, or one fetch's events (flush(), from an
        # intake): a lone caller waits that long at most (nothing beside a source call or a queue wait
        # of seconds), a burst pays one MGET and one L2 pipeline per batch instead of per event.
        await self._batch.add((event, key))

    async def flush(self) -> None:
        """Warm what waits for its batch now (an intake calls this after each fetch's events)."""
        await self._batch.flush()

    async def _platform_event(self, event: InboundEvent, not_ours: str) -> None:
        """A platform's own event (Amazon Connect, Genesys, Twilio, a user mapping) on the foreign
        topic: each call goes to its caller's owner through the repartition topic (queued: as
        warmline's CallStarted; answered: as CallAnswered; one without a number waits in the call
        registry for its call's number). On the repartition topic: a CallAnswered to count.
        Anything else: dead-lettered."""
        if self._platforms is not None and self._rekeyed:
            try:
                answered = parse(CallAnswered, event.message.value)
            except InvalidMessage:
                pass
            else:
                await self._answered(event, answered, self._platforms)
                return
        calls = (
            []
            if self._platforms is None or self._rekeyed
            else self._platforms.recognize(platform_payload(event.message.value))
        )
        if not calls or self._platforms is None:
            reason = f"neither a CallStarted ({not_ours}) nor a known platform event"
            ack_when_delivered(event, await self._outbox.dead_letter(event, reason[:300]))
            return
        deliveries: list[Delivery] = []
        # Each record leaves as soon as it is known (RegistryUnavailable: dead-lettered, replayable).
        dispatches = await self._platforms.route_all(calls, lambda d: self._to_owner(d, deliveries))
        for d in dispatches:
            self._metrics.platform_events.labels(d.call.platform, d.outcome).inc()
        delivered = asyncio.gather(*deliveries)
        platforms = self._platforms

        def put_back(future: asyncio.Future[list[Any]]) -> None:
            # Not on the broker: the event is redelivered, and the parked events it let through wait again.
            if future.cancelled() or future.exception() is not None:
                restoring = asyncio.ensure_future(platforms.restore(dispatches))
                self._restoring.add(restoring)  # held until done (the loop keeps only weak references)
                restoring.add_done_callback(self._restoring.discard)

        delivered.add_done_callback(put_back)
        ack_when_delivered(event, delivered)

    async def _to_owner(self, d: Dispatch, deliveries: list[Delivery]) -> None:
        """Send *d*'s record, if it has one, to its owner's partition of the repartition topic."""
        if d.record is not None and d.owner_key is not None:
            partition = self._ownership.partition_of(d.owner_key)
            key = d.owner_key.encode()
            deliveries.append(await self._outbox.send(self._repartition_topic, key, d.record, partition=partition))

    async def _answered(self, event: InboundEvent, answered: CallAnswered, platforms: PlatformIngress) -> None:
        """On the caller's owner: was the record warm when the agent picked up? Each call counts once."""
        stats = self._lookups.warmth.answers
        try:
            key = parse_key(answered.key, self._lookups.region)
        except InvalidMessage as e:
            ack_when_delivered(event, await self._outbox.dead_letter(event, f"call-answered: {e.reason}"[:300]))
            return
        tier = await tier_at_answer(self._lookups.cache, key)  # at this moment, before anything else
        try:
            first = await platforms.registry.claim_answer(answered.platform, answered.call_id)
        except RegistryUnavailable as e:
            logger.warning("%s: answer of %s call %s counted unchecked", e, answered.platform, answered.call_id[:64])
            first = True
        if not first:
            stats.repeated(answered.platform)
            event.ack()
            return
        stats.answered(
            answered.platform,
            answered.queue,
            tier,
            answered_at=answered.answered_at.timestamp() if answered.answered_at else time.time(),
            queued_at=answered.queued_at.timestamp() if answered.queued_at else None,
            warmed_at=self._lookups.warmth.warmed_at(str(key)),
            brief_ready=await self._brief_ready(key, platforms),
        )
        event.ack()

    async def _brief_ready(self, key: LookupKey, platforms: PlatformIngress) -> bool | None:
        """Was the found caller's brief prepared when the agent picked up? None: briefs off, or no one found."""
        entry = self._lookups.cache.l1.get(str(key))
        customer = entry.customer if entry is not None else None
        if platforms.brief_ready is None or customer is None:
            return None
        return await platforms.brief_ready(customer)

    async def _warm_batch(self, items: list[tuple[InboundEvent, LookupKey]]) -> None:
        """Warm a batch of keys with one MGET and one L2 pipeline; ack each event once its key is done."""
        keys = list(dict.fromkeys(key for _, key in items))  # a caller who called twice is fetched once

        async def warm() -> None:
            # Callers are waiting in queues: live priority, one batch, one attempt.
            origin = WarmOrigin.CALL_STARTED
            job = await self._lookups.warm_many(keys, Priority.LIVE, origin=origin, policy=LIVE_POLICY)
            warmed = {
                key: item is not None and item.outcome is not WarmOutcome.FAILED
                for key, item in zip(keys, job.items, strict=True)
            }
            for event, key in items:
                ok = warmed[key]
                self._count(event, "warmed" if ok else "failed")
                if ok:
                    self._on_warm(key)  # e.g. the caller's brief, prepared at background priority

        async def failed(error: Exception) -> None:
            for event, _ in items:
                self._count(event, "failed")

        await self._pool.spawn_batch([event for event, _ in items], warm, failed)

    def _count(self, event: InboundEvent, outcome: str) -> None:
        # .labels() hashes and locks on every call: keep the child counters (few topics × outcomes).
        topic = event.message.topic
        counter = self._counters.get((topic, outcome))
        if counter is None:
            counter = self._counters[(topic, outcome)] = self._metrics.messages.labels(topic, outcome)
        counter.inc()


def warming_turn(lanes: Lanes | None, turns: LoopTurns | None) -> Callable[[], Awaitable[None]] | None:
    """What a call-started agent awaits before each event: the lanes' turn (warming yields to waiting
    lookups, ``stream/lanes.py``), then a turn on the loop (``loop_turns.py``); None when neither is on."""
    waits = [owner.turn for owner in (lanes, turns) if owner is not None]
    if len(waits) < 2:
        return waits[0] if waits else None

    async def turn() -> None:
        for wait in waits:
            await wait()

    return turn


def register(
    sa: StreamApp,
    lookups: LookupService,
    metrics: Metrics,
    outbox: KafkaOutbox,
    pool: HandlerPool,
    ownership: Ownership,
    call_max_age_s: float,
    on_warm: Callable[[LookupKey], None] | None = None,
    platforms: PlatformIngress | None = None,
    *,
    intake: bool = True,
) -> None:
    """Attach the agents: one on the foreign topic, one on warmline's repartition topic; with
    *intake*, each takes its records a fetch at a time (``stream/intake.py``)."""
    routed = sa.topics.call_started
    internal = routed.repartition.get_topic_name()

    def handler_for(rekeyed: bool) -> CallStartedHandler:
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
        )

    turn = warming_turn(sa.app.lanes, sa.app.loop_turns)
    if intake:
        bodies = from_intakes(sa.app, handler_for, pool, outbox, turn)
    else:
        bodies = from_streams(lambda rekeyed: handler_for(rekeyed).handle, pool, outbox, turn)
    attach_routed(sa.app, routed, bodies, NAME)
