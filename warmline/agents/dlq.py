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

from ..stream.own_producer import OwnProducer
from ..stream.security import KafkaConnection

#: Room for the largest dead letter (the original is capped at 16 KiB before base64) with margin.
MAX_REQUEST_BYTES = 1024 * 1024


class DeadLetterProducer(OwnProducer):
    """The DLQ's own producer (stream/own_producer.py), batched, stopped (flushed) with the worker."""

    def __init__(self, target: str | KafkaConnection, *, linger_ms: int = 0) -> None:
        super().__init__(target, linger_ms=linger_ms, max_request_size=MAX_REQUEST_BYTES)
