"""The invalidation agent: customer-changed drops a customer from L2 and from every owner's L1.

A change keyed by ``customer_id:…`` (or unkeyed) is handled by that key's owner: it drops the
shared record from L2, drops its own L1 entry, and re-publishes the change keyed by each phone
and e-mail the cached record lists, so each of those keys' owners drops its L1 entry too.
"""

from __future__ import annotations

import logging
from typing import Any

from faust.types import EventT, StreamT

from ..app import StreamApp
from ..models import CustomerChanged, InvalidMessage, KeyKind, normalize, parse, parse_key
from ..ownership import owner_partition
from ..runtime import Runtime
from .kafka_io import Outbox

logger = logging.getLogger(__name__)


class InvalidationHandler:
    """Applies one customer-changed event."""

    def __init__(self, runtime: Runtime, outbox: Outbox, partitions: int) -> None:
        self._rt = runtime
        self._outbox = outbox
        self._partitions = partitions

    async def handle(self, event: EventT[bytes]) -> None:
        """Drop what the event names; fan out to the owners of related keys."""
        msg = event.message
        region = self._rt.settings.default_region
        try:
            change = parse(CustomerChanged, msg.value)
            key = parse_key(msg.key.decode()) if msg.key else normalize(KeyKind.CUSTOMER_ID, change.customer_id, region)
        except (InvalidMessage, UnicodeDecodeError) as e:
            await self._outbox.dead_letter(event, getattr(e, "reason", str(e)))
            return
        if owner_partition(str(key), self._partitions) != msg.partition:
            await self._outbox.forward(event, str(key))
            return
        if key.kind is not KeyKind.CUSTOMER_ID:
            held = self._rt.l1.get(str(key))
            if held is None or held.customer_id in (None, change.customer_id):
                self._rt.l1.delete(str(key))
            return
        held = await self._rt.cache.cached(key)  # the record lists the phones and e-mails to fan out to
        await self._rt.cache.invalidate(key)
        await self._rt.cache.invalidate_customer(change.customer_id)
        customer = held.customer if held is not None else None
        if customer is not None:
            related = [normalize(KeyKind.PHONE, p, region) for p in customer.phones]
            related += [normalize(KeyKind.EMAIL, e, region) for e in customer.emails]
            for other in related:
                await self._outbox.send(msg.topic, str(other).encode(), msg.value or b"")


def register(sa: StreamApp, runtime: Runtime, outbox: Outbox) -> Any:
    """Attach the customer-changed agent to the app."""
    handler = InvalidationHandler(runtime, outbox, runtime.settings.topic_partitions)

    @sa.app.agent(sa.topics.customer_changed, name="warmline.invalidation")
    async def invalidation(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                await handler.handle(event)
            except Exception:
                logger.exception("customer-changed at offset %s failed", event.message.offset)

    return invalidation
