"""The dead-letter producer: a producer of its own, so a flood of bad messages leaves in batches.

Faust's producer carries replies, re-keyed events and the L1 changelog. On the embedded broker it
sends one record per batch (``EMBEDDED_PROFILE``: Tansu reports end offsets that are too low after
a batched produce, and table recovery reads the changelog up to its end offset). aiokafka keeps one
produce request in flight per broker with one batch per partition in it, so through that producer
a worker dead-letters about one record per DLQ partition per round trip (about 230 a second per
worker under the hostile flood of ``make faults``, measured). Nothing reads the DLQ up to its end
offset — operators and the fault driver read it from an offset onwards, and Tansu serves batched
records at their right offsets — so dead letters go out here, batched, on a connection of their
own. Delivery is awaited the same way: the event a dead letter stands for is acked only once it is
on the broker.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from ..stream.security import KafkaConnection

#: Room for the largest dead letter (the original is capped at 16 KiB before base64) with margin.
MAX_REQUEST_BYTES = 1024 * 1024


class DeadLetterProducer:
    """An aiokafka producer for the DLQ, started on first use and stopped (flushed) with the worker."""

    def __init__(self, target: str | KafkaConnection, *, linger_ms: int = 0) -> None:
        self._connection = KafkaConnection.of(target)
        self._linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None  # made on first use: aiokafka wants a running loop
        self._lock: asyncio.Lock | None = None
        self._stopped = False

    async def _started(self) -> AIOKafkaProducer:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._stopped:
                raise RuntimeError("the dead-letter producer is stopped (the worker is shutting down)")
            if self._producer is None:
                producer = AIOKafkaProducer(
                    **self._connection.kwargs(),
                    acks="all",
                    linger_ms=self._linger_ms,
                    max_request_size=MAX_REQUEST_BYTES,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()  # no half-started client (and its connections) left behind
                    raise
                self._producer = producer
            return self._producer

    async def send(self, topic: str, key: bytes | None, value: bytes) -> asyncio.Future[Any]:
        """Queue one record; returns its delivery future."""
        producer = self._producer if self._producer is not None and not self._stopped else await self._started()
        delivery: asyncio.Future[Any] = await producer.send(topic, value, key=key)
        return delivery

    async def stop(self) -> None:
        """Deliver what is queued and close (after the handlers are drained)."""
        self._stopped = True
        if self._producer is not None:
            await self._producer.stop()
