"""The request/reply agent: parse → (re-key to the owner) → lookup → reply on reply_to, or the DLQ."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import orjson

from ..errors import InvalidMessage, NotDelivered
from ..lookups import LookupService
from ..models import Answer, LookupRequest, LookupStatus, parse
from ..models.base import MAX_MESSAGE_BYTES
from ..models.protocol import is_topic_name
from ..stream.app import StreamApp
from ..stream.ownership import Ownership
from ..stream.topics import TopicPlan
from .kafka_io import (
    Delivery,
    HandlerPool,
    InboundEvent,
    KafkaOutbox,
    Outbox,
    SpringReply,
    ack_when_delivered,
    attach_routed,
    from_intakes,
)

logger = logging.getLogger(__name__)


def _salvage(raw: bytes | None) -> tuple[str | None, str | None]:
    """(request_id, reply_to) of a message that failed validation, where they are usable."""
    if raw is None or len(raw) > MAX_MESSAGE_BYTES:
        return None, None  # an oversized message is not worth decoding to answer it
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    rid, reply_to = data.get("request_id"), data.get("reply_to")
    rid = rid if isinstance(rid, str) and 0 < len(rid) <= 128 else None
    return rid, reply_to if is_topic_name(reply_to) else None  # the plan's reply_refusal has the last word


class LookupRequestHandler:
    """Handles one lookup-request event; every parseable request gets exactly one reply (or, when the
    reply itself cannot be produced, a dead letter).

    *rekeyed* handlers read warmline's repartition topic: its messages are already on their
    owner's partition and are answered here, never forwarded again (one hop, never a loop).
    """

    def __init__(
        self,
        lookups: LookupService,
        outbox: Outbox,
        pool: HandlerPool,
        ownership: Ownership,
        plan: TopicPlan,
        repartition_topic: str,
        *,
        rekeyed: bool,
    ) -> None:
        self._lookups = lookups
        self._outbox = outbox
        self._pool = pool
        self._ownership = ownership
        self._plan = plan
        self._repartition_topic = repartition_topic
        self._rekeyed = rekeyed
        self._default_reply_topic = plan.reply

    async def flush(self) -> None:
        """Nothing waits for a batch here: each request is answered as it is taken."""

    async def handle(self, event: InboundEvent) -> None:
        """Answer, re-key, or dead-letter *event*; it is acked once what it caused is delivered.

        What ``_outcome`` produced here (a dead letter with or without an ``invalid`` reply) is
        acked here once it is on the broker. An L1 hit's reply, a re-keyed copy and a miss go to
        the handler pool instead, which acks them when what they produced is delivered.
        """
        delivery = await self._outcome(event)
        if delivery is not None:
            ack_when_delivered(event, delivery)

    async def _outcome(self, event: InboundEvent) -> Delivery | None:
        """Produce what *event* calls for; its delivery, or None when the pool took it (a miss)."""
        msg = event.message
        spring = SpringReply.from_headers(msg.headers)
        try:
            request = parse(LookupRequest, msg.value)
        except InvalidMessage as e:
            return await self._reject(event, spring, e.reason, _salvage(msg.value))
        reply_topic = spring.topic or request.reply_to or self._default_reply_topic
        refusal = self._plan.reply_refusal(reply_topic)
        if refusal is not None:
            salvaged = (request.request_id, None)
            return await self._reject(event, spring, refusal, salvaged, reply_topic=self._default_reply_topic)
        try:
            key = request.lookup_key(self._lookups.region)
        except InvalidMessage as e:
            reply = Answer(request_id=request.request_id, status=LookupStatus.INVALID, error=e.reason)
            return await self._reply(reply_topic, reply, spring)
        owner_key = str(key)
        if not self._rekeyed and not self._ownership.owns(owner_key):
            partition = self._ownership.partition_of(owner_key)
            await self._produce_apart(
                event, lambda: self._outbox.rekey(event, self._repartition_topic, owner_key, partition)
            )
            return None
        parent = msg.headers or None  # a caller's langsmith-trace header parents the lookup's run
        fast = self._lookups.peek(key, request.request_id, request.max_age_s, parent=parent)
        if fast is not None:
            await self._produce_apart(event, lambda: self._reply(reply_topic, fast, spring))
            return None

        async def slow() -> None:
            reply = await self._lookups.lookup_key(
                key,
                request_id=request.request_id,
                max_age_s=request.max_age_s,
                timeout_ms=request.timeout_ms,
                parent=parent,
            )
            await (await self._reply(reply_topic, reply, spring))

        async def failed(error: Exception) -> None:
            logger.error("lookup %s for request %s failed unexpectedly", key.redacted, request.request_id)
            reply = Answer(request_id=request.request_id, status=LookupStatus.ERROR, error=type(error).__name__)
            await (await self._reply(reply_topic, reply, spring))

        await self._pool.spawn(event, slow, failed)
        return None

    async def _produce_apart(self, event: InboundEvent, produce: Callable[[], Awaitable[Delivery]]) -> None:
        """Produce a reply or a re-keyed copy from a task of the handler pool, not in the agent.

        A record waits for the broker to take the batch before it on its partition whenever that
        batch is full (on the embedded broker each holds one record): an agent awaiting that took
        one request per produce round trip, and during a call-started burst lookups queued for
        seconds behind replies (issue 23). The outcomes stay those of an inline produce: acked once
        delivered; a record the producer refuses at once (``produce`` raises) dead-lettered, as
        ``_handle_one`` does, and acked once the dead letter is delivered; a delivery that fails
        (the broker did not take it) leaves the event unacked for redelivery, as
        ``ack_when_delivered`` does.
        """

        async def run() -> None:
            try:
                delivery = await produce()
            except Exception as e:  # noqa: BLE001  # refused before it was queued: kept in the DLQ with the reason
                msg = event.message
                logger.error("%s[%s]@%s: not produced, dead-lettered: %r", msg.topic, msg.partition, msg.offset, e)
                await (await self._outbox.dead_letter(event, f"internal error: {e!r}"[:300]))
                return
            try:
                await delivery
            except Exception as e:
                raise NotDelivered from e

        async def left_for_redelivery(error: Exception) -> None:
            raise error  # the pool then leaves the event unacked (and says so)

        await self._pool.spawn(event, run, left_for_redelivery)

    async def _reply(self, topic: str, reply: Answer, spring: SpringReply) -> Delivery:
        key = reply.request_id.encode() if reply.request_id else None
        return await self._outbox.send(
            topic, key, reply.to_json(), partition=spring.partition, headers=spring.reply_headers()
        )

    async def _reject(
        self,
        event: InboundEvent,
        spring: SpringReply,
        reason: str,
        salvaged: tuple[str | None, str | None],
        *,
        reply_topic: str | None = None,
    ) -> Delivery:
        """Dead-letter the message; if it still names a request id, answer `invalid` too: delivered when both are."""
        dead = await self._outbox.dead_letter(event, reason)
        request_id, reply_to = salvaged
        if request_id is None and spring.correlation_id is None:
            return dead
        topic = reply_topic or spring.topic or reply_to or self._default_reply_topic
        if self._plan.reply_refusal(topic) is not None:
            topic = self._default_reply_topic
        reply = Answer(request_id=request_id, status=LookupStatus.INVALID, error=reason)
        answered = await self._reply(
            topic, reply, spring if reply_topic is None else SpringReply(None, spring.correlation_id)
        )
        return asyncio.gather(dead, answered)


def register(
    sa: StreamApp, lookups: LookupService, outbox: KafkaOutbox, pool: HandlerPool, ownership: Ownership, plan: TopicPlan
) -> None:
    """Attach the agents: one on the foreign topic, one on warmline's repartition topic, each
    taking its records from an intake (``stream/intake.py``)."""
    routed = sa.topics.lookup_request
    internal = routed.repartition.get_topic_name()

    def handler_for(rekeyed: bool) -> LookupRequestHandler:
        return LookupRequestHandler(lookups, outbox, pool, ownership, plan, internal, rekeyed=rekeyed)

    # From intakes, not Faust's streams: the lookup lane's pump hands its records straight to them
    # (stream/transport.py, _pump_lane), and a lookup skips Faust's per-record delivery too.
    attach_routed(sa.app, routed, from_intakes(sa.app, handler_for, pool, outbox), "warmline.lookup_requests")
