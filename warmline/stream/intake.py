"""Records straight from the consumer, one list per fetch, instead of one Faust delivery each:
warming's (call-started), and the lookups' (from the lookup lane's pump, ``stream/transport.py``).

Faust hands every record to its stream through a pair of tasks (the conductor's delivery raced
against the flow-control wait), a channel queue and the stream's iterator with its sensors: about a
tenth of the main thread's CPU per warmed call-started event (py-spy; the profile summaries are in
``benchmarks/results/profiles/``). A warm is batch work, so an *intake* takes the records of its topic
as the consumer fetched them: ``TunedConsumer.getmany`` (and, for the lookup lane's own consumer,
``TunedConsumer._hand_on``) hands each record of an intake's topic that its delivery ledger
admitted to the intake instead of to Faust, all of one fetch in one ``offer``.
The topic's agent reads whole lists with ``take`` (``agents/kafka_io.consume_intake``).

Nothing else changes hands: each record is tracked and acked through Faust's consumer as a
stream's would be (and marks its partition's stream as active for Faust's livelock check), so the
ledger's commit (never past a record not done), the lanes' lag and the shutdown drain see it as
before. What Faust's streams skip, an intake's reader skips too: records of an older consumer
generation, or taken while the flow is suspended for a rebalance (the ledger hands those out again
when the flow resumes, and the consumer empties the intake then, as Faust empties its stream
queues; records of a fetch still under way when it does arrive after that and are handled twice,
never lost). A full intake has its topic's partitions left out of the next fetches until the agent
takes its records (Faust pauses a partition whose stream buffer is full).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

#: Records an intake holds before the consumer stops fetching its topic's partitions (Faust's stream
#: buffer, ``stream_buffer_maxsize``, holds 4,096 per channel).
MAX_PENDING = 4096


class _Consumer(Protocol):
    """What an intake's events use of Faust's consumer."""

    def track_message(self, message: Any) -> None: ...

    def ack(self, message: Any) -> bool: ...


class IntakeEvent:
    """A record taken from an intake, as agents use it (an ``InboundEvent``): its message, and the
    ack that lets the offset be committed (through Faust's consumer, as a stream event's does)."""

    __slots__ = ("_consumer", "message")

    def __init__(self, message: Any, consumer: _Consumer) -> None:
        self.message = message
        self._consumer = consumer

    def track(self, inbound: dict[Any, float], now: float) -> None:
        """An agent takes the record at *now*: Faust's consumer counts it pending, and *inbound* (Faust's
        ``monitor.stream_inbound_time``) marks its partition's stream active, as a stream does; without
        that Faust's livelock check logs an ERROR for every partition with a backlog."""
        self.message.tracked = True
        self._consumer.track_message(self.message)
        inbound[self.message.tp] = now

    def ack(self) -> bool:
        """Mark the record done (once; the ledger counts it only if it was tracked)."""
        return self._consumer.ack(self.message)


class Intake:
    """The records of one topic the consumer fetched and no agent has taken yet, in fetch order
    (``app.intakes`` maps each topic to its intake)."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self._max_pending = max_pending
        self._pending: list[IntakeEvent] = []
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def full(self) -> bool:
        """Whether the consumer must leave this intake's partitions out of its fetches for now."""
        return len(self._pending) >= self._max_pending

    def offer(self, consumer: _Consumer, messages: list[Any]) -> None:
        """The consumer hands over *messages* (admitted by its ledger, in offset order per partition)."""
        self._pending.extend(IntakeEvent(message, consumer) for message in messages)
        if self._pending:
            self._ready.set()

    def clear(self) -> int:
        """Drop what no agent took yet (the flow resumed after a rebalance: the ledger hands it out
        again from the lowest offset not done). Returns how many were dropped."""
        dropped = len(self._pending)
        self._pending = []
        self._ready.clear()
        return dropped

    async def take(self) -> list[IntakeEvent]:
        """Everything pending, once there is something (the agent's next batch)."""
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        taken, self._pending = self._pending, []
        self._ready.clear()
        return taken
