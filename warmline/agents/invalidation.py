"""The invalidation agent: customer-changed drops a customer from L2 and from every owner's L1.

A change keyed by ``customer_id:…`` (or unkeyed) is handled by that key's owner: it drops the
shared record from L2, drops its own L1 entry, and re-keys the change by each phone and e-mail
the cached record lists (through warmline's repartition topic), so each of those keys' owners
drops its L1 entry too.
"""

from __future__ import annotations

import asyncio
import logging

from ..errors import InvalidMessage
from ..lookups import LookupService
from ..models import CustomerChanged, KeyKind, normalize, parse, parse_key
from ..stream.app import StreamApp
from ..stream.ownership import Ownership
from .kafka_io import (
    Delivery,
    Handle,
    HandlerPool,
    InboundEvent,
    KafkaOutbox,
    Outbox,
    ack_when_delivered,
    attach_routed,
    from_streams,
)

logger = logging.getLogger(__name__)


class InvalidationHandler:
    """Applies one customer-changed event (*rekeyed*: read from the repartition topic, never forwarded)."""

    def __init__(
        self, lookups: LookupService, outbox: Outbox, ownership: Ownership, repartition_topic: str, *, rekeyed: bool
    ) -> None:
        self._lookups = lookups
        self._outbox = outbox
        self._ownership = ownership
        self._repartition_topic = repartition_topic
        self._rekeyed = rekeyed

    async def handle(self, event: InboundEvent) -> None:
        """Drop what the event names; fan out to the owners of related keys."""
        msg = event.message
        region = self._lookups.region
        try:
            change = parse(CustomerChanged, msg.value)
            key = parse_key(msg.key.decode()) if msg.key else normalize(KeyKind.CUSTOMER_ID, change.customer_id, region)
        except (InvalidMessage, UnicodeDecodeError) as e:
            ack_when_delivered(event, await self._outbox.dead_letter(event, getattr(e, "reason", str(e))))
            return
        if not self._rekeyed and not self._ownership.owns(str(key)):
            ack_when_delivered(event, await self._rekey(event, str(key)))
            return
        if key.kind is not KeyKind.CUSTOMER_ID:
            self._lookups.forget_local(key, change.customer_id)
            event.ack()
            return
        related = await self._lookups.invalidate_customer(key, change.customer_id)
        fan_out = [await self._rekey(event, str(other)) for other in related]
        ack_when_delivered(event, asyncio.gather(*fan_out))  # acked once every owner has its copy

    async def _rekey(self, event: InboundEvent, owner_key: str) -> Delivery:
        partition = self._ownership.partition_of(owner_key)
        return await self._outbox.rekey(event, self._repartition_topic, owner_key, partition)


def register(
    sa: StreamApp, lookups: LookupService, outbox: KafkaOutbox, pool: HandlerPool, ownership: Ownership
) -> None:
    """Attach the agents: one on the CRM's topic, one on warmline's repartition topic."""
    routed = sa.topics.customer_changed
    internal = routed.repartition.get_topic_name()

    def handler_for(rekeyed: bool) -> Handle:
        return InvalidationHandler(lookups, outbox, ownership, internal, rekeyed=rekeyed).handle

    attach_routed(sa.app, routed, from_streams(handler_for, pool, outbox), "warmline.invalidation")
