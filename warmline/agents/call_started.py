"""The pre-warm agent: a call entered a queue, so resolve its caller now (re-keyed to the key's owner)."""

from __future__ import annotations

import logging
import time
from typing import Any

from faust.types import EventT, StreamT

from ..app import StreamApp
from ..models import CallStarted, InvalidMessage, parse
from ..ownership import owner_partition
from ..runtime import Runtime
from ..sources import Priority, SourceError
from .kafka_io import HandlerPool, Outbox, consume

logger = logging.getLogger(__name__)


class CallStartedHandler:
    """Warms the caller's key through the same TieredCache path lookups use."""

    def __init__(self, runtime: Runtime, outbox: Outbox, pool: HandlerPool, partitions: int) -> None:
        self._rt = runtime
        self._outbox = outbox
        self._pool = pool
        self._partitions = partitions

    async def handle(self, event: EventT[bytes]) -> None:
        """Warm, forward, or dead-letter *event*."""
        try:
            call = parse(CallStarted, event.message.value)
            key = call.lookup_key(self._rt.settings.default_region)
        except InvalidMessage as e:
            await self._outbox.dead_letter(event, e.reason)
            event.ack()
            return
        if owner_partition(str(key), self._partitions) != event.message.partition:
            await self._outbox.forward(event, str(key))
            event.ack()
            return
        started = call.started_at.timestamp() if call.started_at else event.message.timestamp
        if time.time() - started > self._rt.settings.call_max_age_s:
            # That caller was answered long ago (a backlog, or a new group reading history).
            self._count(event, "too_old")
            event.ack()
            return
        warmth = self._rt.warmth
        warmth.call_started(str(key))
        if self._rt.cache.peek_l1(key) is not None:
            self._count(event, "already_fresh")
            warmth.warmed(str(key))
            event.ack()
            return

        async def warm() -> None:
            try:
                await self._rt.cache.warm(key, Priority.LIVE)  # a caller is waiting in a queue
            except SourceError as e:
                logger.info("pre-warm of %s failed: %s", key.redacted, e)
                return
            self._count(event, "warmed")
            warmth.warmed(str(key))

        await self._pool.spawn(event, warm)

    def _count(self, event: EventT[bytes], outcome: str) -> None:
        self._rt.metrics.messages.labels(event.message.topic, outcome).inc()


def register(sa: StreamApp, runtime: Runtime, outbox: Outbox, pool: HandlerPool) -> Any:
    """Attach the call-started agent to the app."""
    handler = CallStartedHandler(runtime, outbox, pool, runtime.settings.topic_partitions)

    @sa.app.agent(sa.topics.call_started, name="warmline.call_started")
    async def call_started(stream: StreamT[bytes]) -> None:
        await consume(stream, handler.handle)

    return call_started
