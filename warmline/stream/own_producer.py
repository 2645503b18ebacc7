"""A producer of its own: an aiokafka producer beside Faust's, started on first use, stopped once.

aiokafka keeps one produce request in flight per broker, with one batch per partition in it. Faust's
producer carries replies, re-keyed events and the L1 changelog writes of every warm, so a record
sent through it waits for the requests ahead of it. What must reach the broker without that wait
(the platforms' webhook answers only once its records are stored; dead letters leave in batches)
gets a connection of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from .security import KafkaConnection

#: aiokafka's default request size; the dead-letter producer asks for more.
DEFAULT_MAX_REQUEST_BYTES = 1048576


class RecordSender(Protocol):
    """What a sender of records needs of its producer: one record in, its delivery future back."""

    async def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> asyncio.Future[Any]:
        """Queue one record; returns its delivery future."""
        ...


class OwnProducer:
    """An aiokafka producer (acks=all) made on first use — aiokafka wants a running loop — and
    stopped (flushed) once; a send after the stop raises RuntimeError."""

    def __init__(
        self,
        target: str | KafkaConnection,
        *,
        linger_ms: int = 0,
        max_request_size: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> None:
        self._connection = KafkaConnection.of(target)
        self._options: dict[str, Any] = {
            "acks": "all",
            "linger_ms": linger_ms,
            "max_request_size": max_request_size,
        }
        self._producer: AIOKafkaProducer | None = None
        self._lock: asyncio.Lock | None = None
        self._stopped = False

    async def _started(self) -> AIOKafkaProducer:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._stopped:
                raise RuntimeError("the producer is stopped (the worker is shutting down)")
            if self._producer is None:
                producer = AIOKafkaProducer(**self._connection.kwargs(), **self._options)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()  # no half-started client (and its connections) left behind
                    raise
                self._producer = producer
            return self._producer

    async def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> asyncio.Future[Any]:
        """Queue one record; returns its delivery future."""
        producer = self._producer if self._producer is not None and not self._stopped else await self._started()
        delivery: asyncio.Future[Any] = await producer.send(topic, value, key=key, partition=partition)
        return delivery

    async def stop(self) -> None:
        """Deliver what is queued and close (idempotent)."""
        self._stopped = True
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
