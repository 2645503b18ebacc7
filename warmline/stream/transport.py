"""Faust's aiokafka transport with a configurable consumer fetch wait and complete producer metadata.

Faust hard-codes ``fetch_max_wait_ms=1500`` for worker consumers. Brokers that answer a fetch
only when that wait expires (Tansu does) then add ~750 ms to every hop. This transport builds
Faust's own consumer and sets the wait before the consumer starts (aiokafka creates its fetcher
in ``start()`` from that attribute); a changed aiokafka fails loudly here, never silently.
Its producer keeps metadata for every topic it has seen (``stream/metadata.py`` says why).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, TypeVar, cast

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka

from .metadata import StableMetadataProducer


class _HasFetchWait(Protocol):
    fetch_max_wait_ms: int


class TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, with the app's fetch wait applied to the worker consumer."""

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = cast(_HasFetchWait, self.app).fetch_max_wait_ms
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise RuntimeError("this aiokafka has no _fetch_max_wait_ms; update warmline.stream.transport")
        consumer._fetch_max_wait_ms = wait_ms  # read by AIOKafkaConsumer.start() → Fetcher
        return consumer


P = TypeVar("P")


def from_the_beginning(offsets: Mapping[P, int | None]) -> dict[P, int]:
    """*offsets* with every negative or unknown (None) offset read as 0 (the partition's beginning)."""
    return {tp: offset if offset is not None and offset >= 0 else 0 for tp, offset in offsets.items()}


class TunedConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer using TunedConsumerThread."""

    def _new_consumer_thread(self) -> TunedConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def seek_wait(self, partitions: Mapping[Any, int | None]) -> None:
        """Faust's seek_wait, a negative or unknown offset meaning "from the beginning".

        Table recovery maps only −1 to 0 before it seeks the changelog; during a rolling restart
        on the embedded broker it asked for None (`make faults`, twice), and aiokafka's
        ValueError("Offset must be a positive integer") crashed the worker.
        """
        await super().seek_wait(from_the_beginning(partitions))

    def _new_offset(self, tp: Any) -> int | None:
        """Faust's offset to commit for *tp*, but never past a message delivered and not yet acked.

        Faust commits the first run of consecutive acked offsets. Its guard against a gap at the
        head of that run fires only for a gap of two or more, or not at all before the first
        commit of an assignment (faust-streaming#606): with a slow lookup at offset N in the
        handler pool and N+1 answered at once, it commits N+2, and a worker stopped or killed
        before N is answered loses N (rolling restart). Here the oldest message the consumer
        handed to a stream that is not acked yet bounds the commit.
        """
        in_flight = [m.offset for m in list(self._unacked_messages) if m.tp == tp and not m.acked]
        if not in_flight:
            return super()._new_offset(tp)
        oldest, acked = min(in_flight), self._acked[tp]
        held = [offset for offset in acked if offset >= oldest]
        self._acked[tp] = [offset for offset in acked if offset < oldest]
        try:
            return super()._new_offset(tp)
        finally:
            self._acked[tp].extend(held)


class StableProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer on a client whose metadata never drops a known topic."""

    @property
    def _producer_type(self) -> type[aiokafka.AIOKafkaProducer]:
        return StableMetadataProducer


class TunedTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport using TunedConsumer and StableProducer."""

    Consumer: ClassVar[Any] = TunedConsumer
    Producer: ClassVar[Any] = StableProducer
