"""What every agent shares: key ownership, re-keying, Spring headers, the DLQ, and bounded handler tasks."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faust.types import EventT

from ..metrics import Metrics
from ..models import DeadLetter

logger = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class SpringReply:
    """Spring Kafka ReplyingKafkaTemplate headers of a request, echoed on its reply."""

    topic: str | None = None
    correlation_id: bytes | None = None
    partition: int | None = None

    @classmethod
    def from_headers(cls, headers: Any) -> SpringReply:
        """Read ``kafka_replyTopic`` / ``kafka_correlationId`` / ``kafka_replyPartition``; ignore bad ones."""
        items = headers.items() if hasattr(headers, "items") else (headers or ())
        found = {k: v for k, v in items if isinstance(v, bytes | bytearray)}
        topic = found.get("kafka_replyTopic")
        part = found.get("kafka_replyPartition")
        try:
            topic_name = bytes(topic).decode() if topic else None
        except UnicodeDecodeError:
            topic_name = None
        return cls(
            topic=topic_name or None,
            correlation_id=bytes(found["kafka_correlationId"]) if "kafka_correlationId" in found else None,
            partition=struct.unpack(">i", part)[0] if part is not None and len(part) == 4 else None,
        )

    def reply_headers(self) -> list[tuple[str, bytes]] | None:
        """Headers for the reply (Spring matches replies by the correlation id)."""
        return [("kafka_correlationId", self.correlation_id)] if self.correlation_id is not None else None


class Outbox:
    """Produces replies, forwards and dead letters through the Faust producer."""

    def __init__(self, app: Any, dlq_topic: str, metrics: Metrics) -> None:
        self._app = app
        self._dlq_topic = dlq_topic
        self._metrics = metrics

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        partition: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        """Queue a record (the producer batches; at-least-once)."""
        await self._app.producer.send(topic, key, value, partition, None, list(headers) if headers else None)

    async def dead_letter(self, event: EventT[bytes], reason: str) -> None:
        """Send the event's original bytes (capped) and *reason* to the DLQ."""
        msg = event.message
        letter = DeadLetter.build(reason, msg.topic, msg.value, msg.partition, msg.offset)
        await self.send(self._dlq_topic, msg.key, letter.to_json())
        self._metrics.messages.labels(msg.topic, "dead_letter").inc()
        logger.info("dead letter from %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, reason)

    async def forward(self, event: EventT[bytes], owner_key: str) -> None:
        """Re-publish the event under its normalized key, so that the key's owner handles it."""
        msg = event.message
        headers = msg.headers.items() if isinstance(msg.headers, Mapping) else (msg.headers or ())
        await self.send(msg.topic, owner_key.encode(), msg.value or b"", headers=list(headers))
        self._metrics.messages.labels(msg.topic, "rekeyed").inc()


class HandlerPool:
    """Runs slow handlers as tasks (at most *limit* at once) so one miss never stalls a partition.

    The event is acked when its handler finishes, so a crash before the reply means redelivery
    (at-least-once), not a lost request.
    """

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    async def spawn(self, event: EventT[bytes], handler: Callable[[], Awaitable[None]]) -> None:
        """Start *handler* once a slot is free (backpressure), ack *event* when it is done."""
        await self._slots.acquire()

        async def run() -> None:
            try:
                await handler()
            except Exception:
                logger.exception("handler failed")
            finally:
                self._slots.release()
                event.ack()

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Cancel what is still running and wait for it."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def consume(stream: Any, handle: Callable[[EventT[bytes]], Awaitable[None]]) -> None:
    """Feed every event of *stream* to *handle*, acking manually; one bad event never stops the agent."""
    async for event in stream.noack().events():
        try:
            await handle(event)
        except Exception:
            # Never let one message kill the agent (and with it the partition).
            logger.exception("%s[%s]@%s failed", event.message.topic, event.message.partition, event.message.offset)
            event.ack()
