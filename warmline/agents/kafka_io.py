"""What every agent shares: Spring headers, the outbox (replies, re-keying, the DLQ), acking, handler tasks."""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..metrics import Metrics
from ..models import DeadLetter
from ..stream.app import Routed
from ..stream.backlog import ProduceBacklog
from ..stream.intake import Intake
from ..stream.own_producer import RecordSender

logger = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]
Delivery = Awaitable[Any]


class InboundMessage(Protocol):
    """What agents read of a consumed Kafka record (Faust's ``Message`` is one); read-only here."""

    @property
    def topic(self) -> str:
        """The topic it was read from."""
        ...

    @property
    def partition(self) -> int:
        """Its partition."""
        ...

    @property
    def offset(self) -> int:
        """Its offset in the partition."""
        ...

    @property
    def timestamp(self) -> float:
        """The record's timestamp (seconds)."""
        ...

    @property
    def key(self) -> bytes | None:
        """The raw key."""
        ...

    @property
    def value(self) -> bytes | None:
        """The raw value."""
        ...

    @property
    def headers(self) -> object:
        """Header pairs, a mapping or None, as Faust gives them (read through ``header_items``)."""
        ...


class InboundEvent(Protocol):
    """What agents use of a consumed event (Faust's ``EventT[bytes]`` is one): its record, and the ack
    that lets the offset be committed."""

    @property
    def message(self) -> InboundMessage:
        """The consumed record."""
        ...

    def ack(self) -> object:
        """Mark the event done (what Faust's returns is not used)."""
        ...


#: Dead letters are logged at INFO at most once per this many seconds (the rest are counted in the line).
DLQ_LOG_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class SpringReply:
    """Spring Kafka ReplyingKafkaTemplate headers of a request, echoed on its reply."""

    topic: str | None = None
    correlation_id: bytes | None = None
    partition: int | None = None

    @classmethod
    def from_headers(cls, headers: Any) -> SpringReply:
        """Read ``kafka_replyTopic`` / ``kafka_correlationId`` / ``kafka_replyPartition``; ignore bad ones."""
        found = {k: v for k, v in header_items(headers) if isinstance(v, bytes | bytearray)}
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


def header_items(headers: Any) -> list[tuple[str, Any]]:
    """A message's headers as (name, value) pairs, whether Faust gives a mapping or a list."""
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers or ())


def ack_when_delivered(event: InboundEvent, delivery: Delivery) -> None:
    """Ack *event* once *delivery* (a produce future) succeeds; a failed produce leaves it for redelivery."""

    def done(future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            logger.error(
                "%s[%s]@%s: produce failed (%s); left unacked for redelivery",
                event.message.topic,
                event.message.partition,
                event.message.offset,
                "cancelled" if future.cancelled() else future.exception(),
            )
            return
        event.ack()

    asyncio.ensure_future(delivery).add_done_callback(done)


class Outbox(Protocol):
    """What handlers send through: replies, re-keyed copies and dead letters, each with its delivery future."""

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        partition: int | None = None,
        headers: Headers | None = None,
    ) -> Delivery:
        """Queue a record; returns its delivery future."""
        ...

    async def dead_letter(self, event: InboundEvent, reason: str) -> Delivery:
        """Send the event's original bytes and *reason* to the DLQ."""
        ...

    async def rekey(self, event: InboundEvent, topic: str, owner_key: str, partition: int) -> Delivery:
        """Re-publish the event into the internal repartition *topic*, on its owner's *partition*."""
        ...


class KafkaOutbox:
    """The Outbox over Kafka: replies and re-keyed messages through the Faust producer, dead letters
    through the batched dead-letter producer (``dlq.py``).

    Every method returns the delivery future, so the caller acks the event it answers only once
    the answer is on the broker (at-least-once, never lost).
    """

    def __init__(
        self,
        app: Any,
        dlq_topic: str,
        metrics: Metrics,
        backlog: ProduceBacklog,
        dlq_producer: RecordSender | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._clock = clock
        self._dlq_topic = dlq_topic
        self._dlq_producer = dlq_producer  # None: dead letters go through the Faust producer too
        self._metrics = metrics
        self._counters: dict[tuple[str, str], Any] = {}
        self._next_dlq_line = 0.0
        self._dlq_unlogged = 0
        self.backlog = backlog

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        partition: int | None = None,
        headers: Headers | None = None,
    ) -> Delivery:
        """Queue a record; returns its delivery future."""
        sent: Delivery = await self._app.producer.send(
            topic, key, value, partition, None, list(headers) if headers else None
        )
        delivery: asyncio.Future[Any] = asyncio.ensure_future(sent)
        self.backlog.track(delivery)
        return delivery

    async def dead_letter(self, event: InboundEvent, reason: str) -> Delivery:
        """Send the event's original bytes (capped) and *reason* to the DLQ."""
        msg = event.message
        letter = DeadLetter.build(reason, msg.topic, msg.value, msg.partition, msg.offset)
        if self._dlq_producer is None:
            delivery = await self.send(self._dlq_topic, msg.key, letter.to_json())
        else:
            delivery = await self._dlq_producer.send(self._dlq_topic, msg.key, letter.to_json())
            self.backlog.track(delivery)
        self._count(msg.topic, "dead_letter")
        # At most one INFO line a second: the DLQ record is the durable account, and a flood of bad
        # messages would otherwise cost a formatted log line each (hundreds a second).
        now = self._clock()
        if now < self._next_dlq_line:
            self._dlq_unlogged += 1
            return delivery
        self._next_dlq_line = now + DLQ_LOG_INTERVAL_S
        logger.info(
            "dead letter from %s[%s]@%s: %s (%d more since the last such line)",
            msg.topic,
            msg.partition,
            msg.offset,
            reason,
            self._dlq_unlogged,
        )
        self._dlq_unlogged = 0
        return delivery

    async def rekey(self, event: InboundEvent, topic: str, owner_key: str, partition: int) -> Delivery:
        """Re-publish the event into the internal repartition *topic*, on its owner's *partition*."""
        msg = event.message
        delivery = await self.send(
            topic, owner_key.encode(), msg.value or b"", partition=partition, headers=header_items(msg.headers)
        )
        self._count(msg.topic, "rekeyed")
        return delivery

    def _count(self, topic: str, outcome: str) -> None:
        """Count a message by topic and outcome; the labelled child is looked up once per pair."""
        child = self._counters.get((topic, outcome))
        if child is None:
            child = self._counters[(topic, outcome)] = self._metrics.messages.labels(topic, outcome)
        child.inc()


class HandlerPool:
    """Runs slow handlers as tasks (at most *limit* at once) so one miss never stalls a partition.

    A handler's event is acked when the handler returns: a handler acks nothing itself, it awaits
    its reply's delivery first. A handler that raises goes to *on_error* (which answers with an
    error reply) before the ack. On shutdown, handlers get a grace period; the ones still running
    are cancelled and their events stay unacked, so the next owner of the partition answers them.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()
        self.closing = False

    def __len__(self) -> int:
        return len(self._tasks)

    async def spawn(
        self,
        event: InboundEvent,
        handler: Callable[[], Awaitable[None]],
        on_error: Callable[[Exception], Awaitable[None]],
    ) -> None:
        """Start *handler* once a slot is free (backpressure); ack *event* when it is done."""
        await self.spawn_batch([event], handler, on_error)

    async def spawn_batch(
        self,
        events: Sequence[InboundEvent],
        handler: Callable[[], Awaitable[None]],
        on_error: Callable[[Exception], Awaitable[None]],
    ) -> None:
        """One task for a batch: it takes one slot per event (the in-flight bound stays in events)
        and acks every event of the batch when *handler* is done. While closing (a batch timer
        firing after the drain) nothing starts: the events stay unacked for the next owner."""
        if self.closing:
            return
        held = min(len(events), self._limit)
        for _ in range(held):
            await self._slots.acquire()

        async def run() -> None:
            try:
                await handler()
            except Exception as e:  # noqa: BLE001  # any failure becomes an error reply, never a lost request
                msg = events[0].message
                logger.error(
                    "%s[%s]@%s (+%d): handler failed: %r", msg.topic, msg.partition, msg.offset, len(events) - 1, e
                )
                try:
                    await on_error(e)
                except Exception:
                    logger.exception(
                        "%s[%s]@%s: no error reply either; left unacked", msg.topic, msg.partition, msg.offset
                    )
                    return
            finally:
                for _ in range(held):
                    self._slots.release()
            for event in events:  # not reached when cancelled: the events are redelivered instead
                event.ack()

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace_s: float) -> int:
        """Stop taking events; give running handlers *grace_s*, cancel the rest. Returns how many were cancelled."""
        self.closing = True
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_s)
        left = list(self._tasks)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        if left:
            logger.warning("shutdown: %d unfinished handlers left unacked for the next owner", len(left))
        return len(left)


@dataclass(frozen=True)
class HandlerPools:
    """The lookups' pool and the one warming and invalidation share: a lookup never waits for a
    slot a burst of warms holds (issue 23). Stopping drains both with the same grace."""

    lookups: HandlerPool
    rest: HandlerPool

    async def drain(self, grace_s: float) -> int:
        """Drain both at once (see ``HandlerPool.drain``); how many handlers were cancelled."""
        drained = await asyncio.gather(self.lookups.drain(grace_s), self.rest.drain(grace_s), return_exceptions=True)
        for outcome in drained:  # one pool's failure must not leave the other undrained
            if isinstance(outcome, BaseException):
                logger.error("shutdown: a handler pool's drain failed: %r", outcome)
        return sum(n for n in drained if isinstance(n, int))


async def consume(
    stream: Any,
    handle: Callable[[InboundEvent], Awaitable[None]],
    pool: HandlerPool,
    outbox: KafkaOutbox,
    turn: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Feed every event of *stream* to *handle*; one bad event never stops the agent (and its partition).

    *turn*, if given, is awaited before each event: a lane that yields to another (``stream/lanes.py``).
    """
    async for event in stream.noack().events():
        await _handle_one(event, handle, pool, outbox, turn)


async def consume_intake(
    intake: Intake,
    app: Any,
    handler: BatchHandler,
    pool: HandlerPool,
    outbox: KafkaOutbox,
    turn: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """``consume`` over an intake's lists (``stream/intake.py``): each event as ``consume`` takes it,
    then the handler's ``flush`` once per list, so a fetch's events are warmed together at once.

    Events Faust's streams would skip are skipped (older generation, flow suspended for a
    rebalance): not tracked nor acked, the ledger hands them out again when the flow resumes.
    """
    inbound = app.monitor.stream_inbound_time
    while True:
        events = await intake.take()
        now = time.monotonic()
        for event in events:
            message = event.message
            if message.generation_id != app.consumer_generation_id or not app.flow_control.is_active():
                continue
            event.track(inbound, now)
            await _handle_one(event, handler.handle, pool, outbox, turn)
        await handler.flush()


async def _handle_one(
    event: InboundEvent,
    handle: Callable[[InboundEvent], Awaitable[None]],
    pool: HandlerPool,
    outbox: KafkaOutbox,
    turn: Callable[[], Awaitable[None]] | None,
) -> None:
    """One event: its lane's turn, room at the broker, then *handle*; a failure is dead-lettered."""
    if turn is not None:
        await turn()
    if pool.closing:
        return  # shutting down: left unacked, the partition's next owner handles it
    backlog = outbox.backlog
    if backlog.full:  # the broker is behind: take nothing more until it catches up
        await backlog.room()
    try:
        await handle(event)
    except Exception as e:
        msg = event.message
        logger.exception("%s[%s]@%s failed", msg.topic, msg.partition, msg.offset)
        try:  # kept in the DLQ with the reason, so it is neither lost nor retried forever
            ack_when_delivered(event, await outbox.dead_letter(event, f"internal error: {e!r}"[:300]))
        except Exception:
            logger.exception("%s[%s]@%s: not dead-lettered either; left unacked", msg.topic, msg.partition, msg.offset)


Handle = Callable[[InboundEvent], Awaitable[None]]


class BatchHandler(Protocol):
    """A handler whose events may wait for others (a warm batch): ``flush`` hands on what waits."""

    async def handle(self, event: InboundEvent) -> None:
        """Take one event."""
        ...

    async def flush(self) -> None:
        """Hand on what waits now."""
        ...


#: An agent's body, given its Faust stream.
AgentBody = Callable[[Any], Awaitable[None]]
#: The body of the agent on a topic: (rekeyed, topic name) → body (rekeyed: warmline's repartition topic).
BodyFor = Callable[[bool, str], AgentBody]


def attach_routed(app: Any, routed: Routed, body_for: BodyFor, name: str) -> None:
    """Attach one agent to a foreign topic and one to its repartition topic, each with *body_for*'s body."""
    for rekeyed, topic in ((False, routed.source), (True, routed.repartition)):
        _attach(app, topic, body_for(rekeyed, topic.get_topic_name()), f"{name}.rekeyed" if rekeyed else name)


def from_streams(
    handler_for: Callable[[bool], Handle],
    pool: HandlerPool,
    outbox: KafkaOutbox,
    turn: Callable[[], Awaitable[None]] | None = None,
) -> BodyFor:
    """Bodies that take each event from the agent's Faust stream (``consume``), awaiting *turn* first if given."""

    def body_for(rekeyed: bool, topic: str) -> AgentBody:
        handle = handler_for(rekeyed)
        return lambda stream: consume(stream, handle, pool, outbox, turn)

    return body_for


def from_intakes(
    app: Any,
    handler_for: Callable[[bool], BatchHandler],
    pool: HandlerPool,
    outbox: KafkaOutbox,
    turn: Callable[[], Awaitable[None]] | None = None,
) -> BodyFor:
    """Bodies that take each topic's records from an intake of its own (``stream/intake.py``), a fetch at
    a time (``consume_intake``). The agents stay Faust's (they subscribe the topics); the consumer
    hands their records to the intakes, so their streams stay empty."""

    def body_for(rekeyed: bool, topic: str) -> AgentBody:
        intake = app.intakes[topic] = Intake()
        handler = handler_for(rekeyed)
        return lambda stream: consume_intake(intake, app, handler, pool, outbox, turn)

    return body_for


def _attach(app: Any, topic: Any, body: AgentBody, name: str) -> None:
    @app.agent(topic, name=name)  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def agent(stream: Any) -> None:
        await body(stream)
