"""Faust's aiokafka transport with a configurable consumer fetch wait and complete producer metadata.

Faust hard-codes ``fetch_max_wait_ms=1500`` for worker consumers. Brokers that answer a fetch
only when that wait expires (Tansu does) then add ~750 ms to every hop. This transport builds
Faust's own consumer and sets the wait before the consumer starts (aiokafka creates its fetcher
in ``start()`` from that attribute); a changed aiokafka fails loudly here, never silently.
Its producer keeps metadata for every topic it has seen (``stream/metadata.py`` says why).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any, ClassVar, Protocol, TypeVar, cast

import aiokafka
from aiokafka.errors import KafkaError
from faust.transport.drivers import aiokafka as faust_aiokafka

from .changelog import flush_writers, stop_writers
from .delivery import DeliveryLedger, Verdict
from .intake import Intake
from .lookup_lane import LookupLane
from .metadata import StableMetadataProducer

logger = logging.getLogger(__name__)

# What a seek of one partition raises when a rebalance took it away or the broker does not answer.
SEEK_ERRORS = (KafkaError, asyncio.TimeoutError)
#: While the lanes hold partitions, a fetch waits at most this long, so that their release is seen soon.
HELD_FETCH_TIMEOUT_S = 0.01
#: The longest one take of the lookup lane waits for its first record (records end it at once).
LANE_TAKE_S = 1.0
#: The longest pause of the lookup lane's pump after failures in a row (it doubles from 20 ms).
PUMP_BACKOFF_MAX_S = 1.0


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
    """Faust's aiokafka consumer using TunedConsumerThread, with a delivery ledger for input topics.

    Records of topics whose events are acked (the input topics, not changelogs) pass the ledger
    (``stream/delivery.py``) on their way to the streams, and commits follow its low-water mark
    instead of Faust's acked list and gaps.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ledger: DeliveryLedger[Any] = DeliveryLedger()
        self._rewinding: asyncio.Future[None] | None = None  # the seek of the last flow resume (kept referenced)
        self._pump: asyncio.Future[None] | None = None  # the lookup lane's own fetch loop (_pump_lane)
        self._lane_took_at = time.monotonic()  # when the pump's last take returned (verify_event_path)
        self._lane_stall_logged_at = float("-inf")  # one error per stall and timeout, not per partition

    def _new_consumer_thread(self) -> TunedConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _ledgered(self, tp: Any) -> bool:
        return bool(self.app.topics.acks_enabled_for(tp.topic))

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        """Faust's records, each input record handed out only in offset order (see the ledger).

        A record counts for the generation Faust labelled it with when it was fetched (one poll
        can span a whole rebalance). A record the ledger refuses at or past the next offset of a
        partition started in this generation was fetched for an older course: the consumer may
        already stand past it, so the partition is fetched again from the next offset. Faust's
        own read-offset filter is switched off for input partitions (the ledger is the only
        filter): a refetch racing its bookkeeping would otherwise drop records the ledger handed out.
        Records of an intake's topic (``stream/intake.py``) go to that intake, a fetch's worth at once,
        instead of to Faust's streams.
        """
        refetching: set[Any] = set()
        intakes = self._intakes
        taken: dict[Intake, list[Any]] = {}  # records of intakes' topics, handed over after the fetch
        try:
            async for tp, message in super().getmany(timeout):
                if tp in refetching:
                    continue
                if not self._ledgered(tp):
                    yield tp, message
                    continue
                if not await self._admitted(tp, message, refetching):
                    continue
                intake = intakes.get(tp.topic)
                if intake is not None:
                    taken.setdefault(intake, []).append(message)
                    continue
                yield tp, message
        finally:
            # Also when the fetch is closed before it ran out (the worker stopping): what the ledger
            # admitted goes to the agent rather than stay "handed out" with nobody holding it.
            for intake, messages in taken.items():
                intake.offer(self, messages)

    async def _admitted(self, tp: Any, message: Any, refetching: set[Any]) -> bool:
        """The ledger's verdict on an input record: True to hand it on. A record out of place has its
        partition fetched again from the next offset (added to *refetching*: skip the rest of it)."""
        expected = self._ledger.next_offset(tp)
        verdict = self._ledger.admit(tp, message.offset, message.generation_id)
        if verdict is Verdict.DELIVER:
            self._read_offset[tp] = None  # Faust's _drain_messages drops records below it
            if expected is not None and message.offset > expected:
                _log_gap(tp, expected, message.offset)
            return True
        if verdict is Verdict.REFETCH or self._stale_past_start(expected, message.offset):
            refetching.add(tp)
            await self._refetch(tp, message.offset)
        return False

    async def _getmany(self, active_partitions: set[Any] | None, timeout: float) -> Any:
        """Faust's fetch of its active partitions, less those the app's lanes hold (``stream/lanes.py``)
        and those of a full intake (``stream/intake.py``).

        Faust's own pause set (rebalances, recovery, full stream buffers) is left alone: a held
        partition is one Faust would fetch and the lanes leave out for now, so neither resumes
        what the other paused. A held partition's records stay in aiokafka's fetcher, which
        fetches it no further until they are taken. The lookup lane's partitions, when the app has
        a lookup lane consumer, are fetched by it instead (``_pump_lane``).
        """
        lanes = getattr(self.app, "lanes", None)
        held = lanes.held(active_partitions) if lanes is not None and active_partitions else None
        full = self._full_intakes() if active_partitions else None
        if full:  # as Faust pauses a partition whose stream buffer is full
            held = (held or set()) | {tp for tp in active_partitions or () if tp.topic in full}
        active, wait = active_partitions, timeout
        if held:
            active = set(active_partitions or ()) - held  # a copy: Faust's set is its own
            wait = min(timeout, HELD_FETCH_TIMEOUT_S)
            if not active:  # aiokafka reads an empty set as "every partition"
                await asyncio.sleep(wait)
                return {}
        lane = self._lookup_lane()
        if lane is not None and active:  # its partitions are the lane's pump's (_pump_lane)
            active = {tp for tp in active if not lane.owns(tp)}
            if not active:
                await asyncio.sleep(wait)
                return {}
        return await super()._getmany(active, wait)

    @property
    def _intakes(self) -> dict[str, Intake]:
        """The app's intakes by topic (``stream/intake.py``); none for an app without them."""
        intakes: dict[str, Intake] = getattr(self.app, "intakes", None) or {}
        return intakes

    def _full_intakes(self) -> set[str]:
        """The topics whose intake is full."""
        return {topic for topic, intake in self._intakes.items() if intake.full}

    def _lookup_lane(self) -> LookupLane | None:
        lane = getattr(self.app, "lookup_lane", None)
        return lane if isinstance(lane, LookupLane) and lane.started else None

    async def _pump_lane(self, lane: LookupLane) -> None:
        """The lookup lane's records, handed to their intakes as soon as its consumer has them.

        Not through Faust's fetch loop: during a call-started burst that loop came back for the
        next fetch 60-240 ms after the last (it hands on and distributes the warming lane's
        records in between), and lookups waited in the lane's consumer that long (issue 23). Each
        record passes the same ledger as Faust's. The pump never dies while the consumer runs: a
        failure is logged and retried after a pause that doubles up to PUMP_BACKOFF_MAX_S.
        """
        failures = 0
        while not self.should_stop:
            try:
                await self._pump_once(lane)
                failures = 0
            except Exception as exc:  # what it took and did not hand on was put back (_pump_once)
                failures += 1
                if isinstance(exc, KafkaError):  # e.g. its partitions reassigned mid-take
                    logger.info("the lookup lane's fetch failed (%r); taking again", exc)
                else:
                    logger.exception("the lookup lane's pump failed; going on")
                await asyncio.sleep(min(PUMP_BACKOFF_MAX_S, HELD_FETCH_TIMEOUT_S * 2**failures))

    async def _pump_once(self, lane: LookupLane) -> None:
        """One take of the lane's partitions (those Faust would fetch, less full intakes), handed on.

        What it takes and does not hand on (taken while the flow was suspended for a rebalance or
        across a new generation, or when handing on failed) is put back: the lane is sought to the
        ledger's next offset of each partition taken, so it is fetched again.
        """
        if not self.flow_active:
            await self.wait(self.can_resume_flow)  # type: ignore[arg-type]  # mode's wait takes asyncio's Event
            return
        full = self._full_intakes()
        mine = {tp for tp in self._get_active_partitions() if lane.owns(tp) and tp.topic not in full}
        generation = self.app.consumer_generation_id
        records = await lane.take(mine, LANE_TAKE_S) if mine else {}
        if mine:
            self._lane_took_at = time.monotonic()
        if not records:
            await asyncio.sleep(HELD_FETCH_TIMEOUT_S)  # nothing assigned yet, or a full intake: no busy loop
            return
        if not self.flow_active or generation != self.app.consumer_generation_id:
            self._put_back(lane, records)
            return
        try:
            await self._hand_on(records)
        except BaseException:
            self._put_back(lane, records)
            raise

    def _put_back(self, lane: LookupLane, records: Mapping[Any, list[Any]]) -> None:
        """The lane fetches the partitions of *records* again from the ledger's next offsets (those
        with no start yet are placed by their generation's seek)."""
        offsets = {tp: self._ledger.next_offset(tp) for tp in records}
        lane.seek({tp: offset for tp, offset in offsets.items() if offset is not None})

    async def _hand_on(self, records: Mapping[Any, list[Any]]) -> None:
        """Records the lane took, each admitted by the ledger, to their topics' intakes (one offer per topic)."""
        refetching: set[Any] = set()
        taken: dict[Intake, list[Any]] = {}
        intakes = self._intakes
        try:
            for tp, batch in records.items():
                self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                intake = intakes.get(tp.topic)
                if intake is None:  # every lane topic's agent reads an intake (agents/lookup_requests.py)
                    raise RuntimeError(f"{tp}: no intake for the lookup lane's records")
                for record in batch:
                    if tp in refetching:
                        break
                    message = self._to_message(tp, record)
                    if await self._admitted(tp, message, refetching):
                        taken.setdefault(intake, []).append(message)
        finally:  # what the ledger admitted goes to the agent, also when a refetch fails or is cancelled
            for intake, messages in taken.items():
                intake.offer(self, messages)

    def verify_event_path(self, now: float, tp: Any) -> None:
        """Faust's livelock check of *tp* (every few commit intervals); for the lookup lane's partitions,
        whether the lane's pump still takes.

        Faust's check reads its own consumer's fetch state, and that consumer keeps the lane's
        partitions paused: every check would log "has not sent fetch request" for each of them.
        Faust's further checks of a partition (its stream idle, its commit not advancing) are not
        made for the lane's; the worker's watch of unacked records covers a stuck handler
        (``stream/unacked.py``). While the flow is suspended (a rebalance, table recovery) the pump
        takes nothing by design, and the check starts over when it resumes.
        """
        lane = self._lookup_lane()
        if lane is None or not lane.owns(tp):
            super().verify_event_path(now, tp)
            return
        if not self.flow_active:
            self._lane_took_at = now
            return
        idle_s = now - self._lane_took_at
        timeout_s = self.app.conf.stream_processing_timeout
        if idle_s >= timeout_s and now - self._lane_stall_logged_at >= timeout_s:
            self._lane_stall_logged_at = now  # the pump is one for all the lane's partitions
            logger.error(
                "%s: the lookup lane's pump has taken nothing for %.0f s (a full intake, or a stuck fetch)", tp, idle_s
            )

    async def on_stop(self) -> None:
        """Faust's stop; then the lookup lane's pump and consumer stop too."""
        await super().on_stop()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None
        lane = getattr(self.app, "lookup_lane", None)
        if isinstance(lane, LookupLane):
            await lane.stop()

    def lag(self, topics: Collection[str] | None = None) -> dict[Any, int]:
        """Per input partition (of *topics*, None: all): records not done, the partition's high
        watermark (as of its last fetch) less the ledger's lowest offset not done."""
        lags: dict[Any, int] = {}
        for tp, low in self._ledger.low_waters().items():
            if topics is not None and tp.topic not in topics:
                continue
            try:
                high = self.highwater(tp)
            except Exception:  # noqa: BLE001, S112  # revoked meanwhile, or not started: no figure, never a failed check
                continue
            if high is not None:
                lags[tp] = max(0, high - low)
        return lags

    def highwater(self, tp: Any) -> Any:
        """Faust's high watermark of *tp*; the lookup lane's for the partitions it fetches."""
        lane = self._lookup_lane()
        if lane is not None and lane.owns(tp):
            return lane.highwater(tp)
        return super().highwater(tp)

    def _stale_past_start(self, expected: int | None, offset: int) -> bool:
        """A refused record at or past the next offset of a partition started in this generation."""
        return (
            expected is not None and offset >= expected and self._ledger.generation == self.app.consumer_generation_id
        )

    async def _refetch(self, tp: Any, found: int) -> None:
        expected = self._ledger.next_offset(tp) or 0  # REFETCH comes only for a partition with a start
        logger.info("%s: records from %d arrived where %d was next; fetching again from there", tp, found, expected)
        try:
            await super().seek_wait({tp: expected})  # Faust's: moves the consumer, not the ledger
            self._seek_lane({tp: expected})
        except SEEK_ERRORS as exc:  # a rebalance took the partition, or the broker is slow
            self._ledger.refetch_failed(tp)  # the same jump again is not proof of a gap
            logger.info("%s: no refetch (%r)", tp, exc)

    async def seek_to_committed(self) -> Mapping[Any, int]:
        """Faust's seek to the committed offsets; then the ledger is restarted for this generation and
        every input partition is sought to its start, in that order.

        The start is the group's commit, the ledger's mark of a kept partition if later, or the
        earliest offset without a commit. The seek always follows the restart, also where the
        commit already put the consumer there: the fetcher runs during this method (Faust resumes
        the partitions before it seeks), and records it fetched at the commit before the ledger
        knew the start were dropped; without a second seek a partition that then goes quiet keeps
        them unhandled for good (a worker restarted near the end of a load lost half of it).

        A seek started in an older generation (Faust's fetcher seeks when a rebalance stops the
        flow) changes nothing once a newer generation is assigned: its assignment is stale, and
        the new generation's own seek, which always follows, is the one that counts.
        """
        generation = self.app.consumer_generation_id
        committed = await super().seek_to_committed()
        starts = await self._input_starts(committed)
        if self.app.consumer_generation_id != generation:
            logger.info(
                "a seek begun in generation %s ended in %s: left to the new one",
                generation,
                self.app.consumer_generation_id,
            )
            return committed
        self._ledger.restart(starts, generation)
        try:
            await super().seek_wait(starts)
        except SEEK_ERRORS as exc:  # taken away, or the broker is slow: records out of place are refetched
            logger.info("seek to the starts not confirmed (%r)", exc)
        await self._place_lane(starts)
        resumed = {tp: start for tp, start in starts.items() if start != (committed.get(tp) or 0)}
        if resumed:  # a kept partition resumed from what is done, or one without a commit started past 0
            logger.info(
                "started where the group has not committed: %s",
                ", ".join(f"{tp.topic}[{tp.partition}]@{o}" for tp, o in resumed.items()),
            )
        return committed

    async def _input_starts(self, committed: Mapping[Any, int | None]) -> dict[Any, int]:
        """The start of every assigned input partition (seek_to_committed says which); *committed*: the group's."""
        assigned = self.assignment()
        inputs = {tp: offset for tp, offset in committed.items() if self._ledgered(tp) and tp in assigned}
        starts: dict[Any, int] = {}
        for tp, offset in inputs.items():
            sought = offset if offset is not None and offset > 0 else None
            mark = self._ledger.low_water(tp)
            start = mark if mark is not None and (sought is None or mark > sought) else sought
            if start is not None:
                starts[tp] = start
        new = [tp for tp in inputs if tp not in starts]
        if new:
            starts.update(await self._earliest_or_zero(new))
        return starts

    async def _earliest_or_zero(self, partitions: list[Any]) -> dict[Any, int]:
        """The earliest offset of each of *partitions*; 0 where the broker does not say."""
        try:
            earliest = await self.earliest_offsets(*partitions)
        except SEEK_ERRORS as exc:  # the broker did not answer: the log's beginning is safe
            logger.info("earliest offsets not known (%r); starting %d partitions at 0", exc, len(partitions))
            earliest = {}
        return {tp: earliest.get(tp) or 0 for tp in partitions}

    def resume_flow(self) -> None:
        """Faust's resume_flow; then every input partition goes back to its lowest offset not done.

        Faust resumes its flow control just before this, and that empties every stream's queue
        (mode's FlowControlEvent.resume clears them). At the end of a rebalance that comes after
        the seek to the committed offsets: records the fetcher handed out in between were thrown
        away unhandled, never acked, and would hold the commit without being fetched again
        (a failover window lost 20 so). They are fetched again; what an agent had already taken
        is handed out twice (at-least-once).
        """
        super().resume_flow()
        for intake in self._intakes.values():  # emptied like Faust's stream queues: the rewind below refetches them
            intake.clear()
        generation = self.app.consumer_generation_id
        if self._ledger.generation != generation:
            return  # resumed in the middle of a rebalance, before this generation's seek: it restarts the ledger
        marks = self._ledger.rewind()
        if marks:
            self._rewinding = asyncio.ensure_future(self._seek_back(marks, generation))

    async def _seek_back(self, marks: Mapping[Any, int], generation: int) -> None:
        if self.app.consumer_generation_id != generation:
            return  # another rebalance: its own seek decides
        try:
            await super().seek_wait(marks)  # Faust's: the ledger is already rewound
            self._seek_lane(marks)
        except SEEK_ERRORS as exc:  # taken away, or slow: records out of place are refetched
            logger.info("seek back to what is not done not confirmed (%r)", exc)
        except Exception:  # a task nobody awaits: say it, the next record past the mark refetches
            logger.exception("seek back to what is not done failed")

    async def seek_wait(self, partitions: Mapping[Any, int | None]) -> None:
        """Faust's seek_wait, a negative or unknown offset meaning "from the beginning".

        Table recovery maps only −1 to 0 before it seeks the changelog; during a rolling restart
        on the embedded broker it asked for None (`make faults`, twice), and aiokafka's
        ValueError("Offset must be a positive integer") crashed the worker.
        """
        offsets = from_the_beginning(partitions)
        await super().seek_wait(offsets)
        self._note_seeks(offsets)

    async def seek(self, partition: Any, offset: int) -> None:
        """Faust's seek; the ledger delivers *partition* from *offset* on."""
        await super().seek(partition, offset)
        self._note_seeks({partition: offset})

    def _note_seeks(self, offsets: Mapping[Any, int]) -> None:
        for tp, offset in offsets.items():
            if self._ledgered(tp):
                self._ledger.seeked(tp, offset)
        self._seek_lane(offsets)

    def _seek_lane(self, offsets: Mapping[Any, int]) -> None:
        """The lookup lane fetches its partitions of *offsets* from there too (the ledger expects them)."""
        lane = self._lookup_lane()
        if lane is not None:
            lane.seek(offsets)

    async def _place_lane(self, starts: Mapping[Any, int]) -> None:
        """A new generation's starts: the lookup lane fetches its partitions of them, Faust's consumer no longer.

        Faust's aiokafka consumer keeps them assigned (it is the group member, and commits them)
        but paused, so its fetches leave them out; aiokafka makes a fresh, unpaused state for every
        assignment, and this runs after each one.
        """
        lane = getattr(self.app, "lookup_lane", None)
        if not isinstance(lane, LookupLane):
            return
        try:
            await lane.start()
        except SEEK_ERRORS as exc:  # the broker did not answer: Faust's consumer keeps fetching them
            logger.warning("the lookup lane's consumer did not start (%r); lookups share the worker's fetch", exc)
            return
        mine = [tp for tp in starts if lane.owns(tp)]
        try:
            await self._thread.call_thread(_pause, self._thread._ensure_consumer(), mine)
        except Exception:  # its fetches then include them too; their records are never taken from it
            logger.exception("the lookup lane's partitions were not paused in the worker's consumer")
        lane.place(starts)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.ensure_future(self._pump_lane(lane))
        logger.info("lookup lane: %d partitions fetched by a consumer of their own", len(mine))

    def ack(self, message: Any) -> bool:
        """Faust's ack; the ledger counts the message done only if a stream handed it to an agent.

        Faust's streams also ack what they skip without handing it on: events of an older
        generation and events taken while flow control is off (a rebalance); they skip them before
        they mark them ``tracked``. Counted done, such an offset would let the commit, or the resume
        after the rebalance, pass a record nobody handled. (warmline's input topics are raw bytes,
        so the conductor's acks of undecodable messages, also untracked, do not occur.)
        """
        newly = bool(super().ack(message))
        if message.acked and message.tracked:
            self._ledger.done(message.tp, message.offset)
        return newly

    def oldest_unacked(self) -> dict[Any, tuple[int, float]]:
        """Per input partition: the oldest record handed out and not acked, and when (``stream/unacked.py``)."""
        return self._ledger.oldest_pending()

    def _new_offset(self, tp: Any) -> int | None:
        """The ledger's low-water mark of *tp* (Faust's own choice for partitions it does not track).

        Faust commits the first run of consecutive acked offsets, its gaps counted as acked. Its
        guard against a hole at the head of that run fires only for a hole of two or more, or not
        at all before the first commit of an assignment (faust-streaming#606): with a slow lookup
        at offset N in the handler pool and N+1 answered at once, it commits N+2, and a worker
        stopped before N is answered loses N. Faust's acked list below the mark is dropped.
        """
        mark = self._ledger.low_water(tp)
        if mark is None:
            if not self._ledgered(tp):
                return super()._new_offset(tp)
            # An input partition with no start in this generation yet (a rebalance under way):
            # nothing to commit. Acks of handlers still running from before refill Faust's list
            # after its revocation emptied it; Faust would commit past a lower one still running.
            self._acked.pop(tp, None)
            self._acked_index.pop(tp, None)
            self._gap.pop(tp, None)
            return None
        acked = self._acked[tp]
        if acked and min(acked) < mark:
            self._acked_index[tp].difference_update(offset for offset in acked if offset < mark)
            acked[:] = [offset for offset in acked if offset >= mark]
        self._gap.pop(tp, None)
        return mark


def _log_gap(tp: Any, expected: int, found: int) -> None:
    """The ledger crossed a real gap of *tp* (the same jump seen again after a refetch)."""
    logger.info("%s: offsets %d..%d are not in the log; going on from %d", tp, expected, found - 1, found)


async def _pause(consumer: aiokafka.AIOKafkaConsumer, partitions: list[Any]) -> None:
    """Pause *partitions* in *consumer* (run in the consumer's own thread)."""
    assigned = consumer.assignment()
    consumer.pause(*(aiokafka.TopicPartition(tp.topic, tp.partition) for tp in partitions if tp in assigned))


def oldest_unacked_of(app: Any) -> dict[Any, tuple[int, float]]:
    """The app's consumer's oldest unacked records (none before it exists, or without a delivery ledger).

    Faust's ``app.consumer`` would create a consumer when there is none yet: a scrape must not.
    """
    consumer = getattr(app, "_consumer", None)
    return consumer.oldest_unacked() if isinstance(consumer, TunedConsumer) else {}


def consumer_lag_of(app: Any, topics: Collection[str] | None = None) -> dict[Any, int]:
    """The app's consumer's lag per input partition (none before it exists; see TunedConsumer.lag)."""
    consumer = getattr(app, "_consumer", None)
    return consumer.lag(topics) if isinstance(consumer, TunedConsumer) else {}


class StableProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer on a client whose metadata never drops a known topic; its flush (before
    every commit and rebalance) and its stop first hand over what the tables' changelog writers hold."""

    @property
    def _producer_type(self) -> type[aiokafka.AIOKafkaProducer]:
        return StableMetadataProducer

    async def flush(self) -> None:
        """Hand over what the changelog writers hold, then Faust's flush."""
        await flush_writers(self.app.tables.values())
        await super().flush()

    async def on_stop(self) -> None:
        """Hand over what the changelog writers hold (bounded), then Faust's stop (which flushes aiokafka)."""
        await stop_writers(self.app.tables.values())
        await super().on_stop()


class TunedTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport using TunedConsumer and StableProducer."""

    Consumer: ClassVar[Any] = TunedConsumer
    Producer: ClassVar[Any] = StableProducer
