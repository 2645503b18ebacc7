"""The tuned transport: no negative seeks; input records handed out in order; no commit past a record not done."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace

import pytest
from faust.types import TP, Message

from warmline.stream.transport import TunedConsumer, from_the_beginning


def test_negative_offsets_mean_the_beginning() -> None:
    a, b, c, d = TP("t", 0), TP("t", 1), TP("t", 2), TP("t", 3)
    assert from_the_beginning({a: -2, b: -1, c: 7, d: None}) == {a: 0, b: 0, c: 7, d: 0}


INPUT, OTHER_INPUT, CHANGELOG = TP("lookup-request", 0), TP("lookup-request", 1), TP("l1-changelog", 0)


def _message(tp: TP, offset: int, generation: int | None = None) -> Message:
    """A fetched record as Faust's consumer holds it: not yet tracked (a stream sets that when it
    hands the event to an agent)."""
    message = Message(tp.topic, tp.partition, offset, 0.0, 0, None, None, b"", None, tp=tp, generation_id=generation)
    message.tracked = False
    return message


def _handled(consumer: TunedConsumer, message: Message) -> bool:
    """An agent took *message* from its stream and is done with it."""
    message.tracked = True
    return consumer.ack(message)


class _Topics:
    def acks_enabled_for(self, topic: str) -> bool:
        return not topic.endswith("-changelog")


class _Thread:
    """The consumer thread: committed offsets, the assignment, and the seeks asked of it."""

    def __init__(self, committed: dict[TP, int | None]) -> None:
        self.committed = committed
        self.seeks: list[dict[TP, int]] = []
        self.assigned: set[TP] = set(committed)
        self.seek_error: Exception | None = None
        # What happens while aiokafka looks the commits up (one request per partition): the
        # fetcher runs, a rebalance moves on.
        self.during_seek_to_committed: Callable[[], Awaitable[None]] | None = None

    async def seek_to_committed(self) -> dict[TP, int | None]:
        committed = {tp: offset for tp, offset in self.committed.items() if tp in self.assigned}
        if self.during_seek_to_committed is not None:
            await self.during_seek_to_committed()
        return committed

    def assignment(self) -> set[TP]:
        return set(self.assigned)

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        self.seeks.append(dict(partitions))
        if self.seek_error is not None:
            raise self.seek_error

    async def earliest_offsets(self, *partitions: TP) -> dict[TP, int]:
        return dict.fromkeys(partitions, 3)


def bare_consumer(app: SimpleNamespace, thread: object) -> TunedConsumer:
    """A TunedConsumer made without Faust's __init__ (no app, no broker): *app* and *thread* stand in
    for Faust's app and aiokafka's consumer thread, with only what the code under test reads."""
    consumer = TunedConsumer.__new__(TunedConsumer)
    # Faust declares both as concrete classes (no Protocol to satisfy); they are plain instance
    # attributes, so fill the instance dict the way __init__ would.
    vars(consumer).update(app=app, _thread=thread)
    return consumer


def _consumer(
    committed: dict[TP, int | None] | None = None, clock: Callable[[], float] = time.monotonic, **app: object
) -> tuple[TunedConsumer, _Thread]:
    """A TunedConsumer with the bookkeeping Faust's ack and commit read, over a fake thread (no app, no broker)."""
    from collections import defaultdict

    from intervaltree import IntervalTree

    from warmline.stream.delivery import DeliveryLedger

    thread = _Thread(committed or {})
    consumer = bare_consumer(SimpleNamespace(topics=_Topics(), consumer_generation_id=1, **app), thread)
    consumer._ledger = DeliveryLedger(clock)
    consumer._rewinding = None
    consumer._pump = None
    consumer._lane_took_at = clock()
    consumer._lane_stall_logged_at = float("-inf")
    consumer._acked = defaultdict(list)
    consumer._acked_index = defaultdict(set)
    consumer._gap = defaultdict(IntervalTree)
    consumer._committed_offset = defaultdict(lambda: None)
    consumer._unacked_messages = set()  # Faust's is a WeakSet of Messages
    consumer._n_acked = 0
    consumer._waiting_for_ack = None
    consumer._read_offset = defaultdict(lambda: None)
    return consumer, thread


async def _rebalance(consumer: TunedConsumer, thread: _Thread, committed: dict[TP, int | None]) -> None:
    """A new generation assigns the partitions of *committed*, whose commits they are."""
    consumer.app.consumer_generation_id += 1
    thread.committed, thread.assigned = dict(committed), set(committed)


async def _handed_out(consumer: TunedConsumer, batch: list[Message], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The offsets TunedConsumer.getmany hands out of *batch* (what Faust's own getmany yields)."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    async def faust_getmany(self: TunedConsumer, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        for message in batch:
            if message.generation_id is None:  # Faust labels a record when it converts it, after the fetch
                message.generation_id = consumer.app.consumer_generation_id
            yield message.tp, message

    monkeypatch.setattr(faust_aiokafka.Consumer, "getmany", faust_getmany)
    return [message.offset async for _, message in consumer.getmany(timeout=1.0)]


async def test_a_batch_from_before_the_seek_is_fetched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sought to the committed offset 10; the consumer thread then hands over a batch it fetched
    # from 25 before the seek. Faust alone delivers it, marks 11..24 as a gap and commits past them.
    consumer, thread = _consumer({INPUT: 10, CHANGELOG: None})
    await consumer.seek_to_committed()
    stale = [_message(INPUT, 25), _message(CHANGELOG, 7), _message(INPUT, 26)]
    assert await _handed_out(consumer, stale, monkeypatch) == [7]  # the changelog is not ledgered
    assert thread.seeks == [{INPUT: 10}, {INPUT: 10}]  # the start, then the refetch
    assert consumer._new_offset(INPUT) == 10
    assert await _handed_out(consumer, [_message(INPUT, 10), _message(INPUT, 11)], monkeypatch) == [10, 11]


async def test_a_partition_without_a_commit_starts_over_where_the_last_generation_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # aiokafka does not seek a partition with no committed offset: its position stays past
    # records fetched last generation. Offsets 5 and 6 were handed out, 6 was never acked.
    consumer, thread = _consumer({INPUT: None, OTHER_INPUT: None})
    await consumer.seek_to_committed()  # first assignment: both start at their earliest offset (3)
    assert thread.seeks == [{INPUT: 3, OTHER_INPUT: 3}]
    five, six = _message(INPUT, 5), _message(INPUT, 6)
    await consumer.seek_wait({INPUT: 5})
    assert await _handed_out(consumer, [five, six], monkeypatch) == [5, 6]
    _handled(consumer, five)
    thread.seeks.clear()
    await _rebalance(consumer, thread, {INPUT: None, OTHER_INPUT: None})  # kept both; still nothing committed
    await consumer.seek_to_committed()
    assert {tp: offset for seek in thread.seeks for tp, offset in seek.items()} == {INPUT: 6, OTHER_INPUT: 3}
    fetched_again = [_message(INPUT, 6), _message(INPUT, 7)]  # fetched in the new generation
    assert await _handed_out(consumer, fetched_again, monkeypatch) == [6, 7]


async def test_records_before_the_seek_after_an_assignment_are_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # Newly assigned, flow already on, the seek to the committed offsets not done yet: the
    # consumer stood at the log end (136) while 104..135 were never handled (a SIGSTOP fault lost
    # them when 136 became the partition's start). Nothing is handed out before the seek.
    consumer, thread = _consumer({INPUT: 104})
    assert await _handed_out(consumer, [_message(INPUT, 136), _message(INPUT, 137)], monkeypatch) == []
    await consumer.seek_to_committed()
    assert thread.seeks == [{INPUT: 104}] and consumer._new_offset(INPUT) == 104
    assert await _handed_out(consumer, [_message(INPUT, 104)], monkeypatch) == [104]


async def test_a_partition_kept_through_a_rebalance_goes_on_from_what_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    # Committed 10; 10-13 handed out since, 10 and 11 acked. The group's commit is older than
    # what this consumer knows is done: it goes on from 12, not from 10 (two duplicates fewer).
    consumer, thread = _consumer({INPUT: 10})
    await consumer.seek_to_committed()
    batch = [_message(INPUT, offset) for offset in (10, 11, 12, 13)]
    assert await _handed_out(consumer, batch, monkeypatch) == [10, 11, 12, 13]
    _handled(consumer, batch[0])
    _handled(consumer, batch[1])
    await _rebalance(consumer, thread, {INPUT: 10})
    await consumer.seek_to_committed()
    assert thread.seeks[-1] == {INPUT: 12}
    fetched_again = [_message(INPUT, 12), _message(INPUT, 13)]
    assert await _handed_out(consumer, fetched_again, monkeypatch) == [12, 13]


async def test_what_a_stream_skips_unhandled_is_not_done(monkeypatch: pytest.MonkeyPatch) -> None:
    # Faust's streams ack the events they skip (fetched in an older generation, or taken while
    # flow control is off) without marking them tracked. Counted done, 10 would be committed, or
    # resumed past after the rebalance, though no agent handled it.
    consumer, thread = _consumer({INPUT: 10})
    await consumer.seek_to_committed()
    batch = [_message(INPUT, 10), _message(INPUT, 11)]
    assert await _handed_out(consumer, batch, monkeypatch) == [10, 11]
    consumer.ack(batch[0])  # skipped by the stream
    assert _handled(consumer, batch[1])
    assert consumer._new_offset(INPUT) == 10
    await _rebalance(consumer, thread, {INPUT: 10})
    await consumer.seek_to_committed()
    assert thread.seeks[-1] == {INPUT: 10}  # resumed from the commit, 10, not past it


async def test_a_start_whose_seek_is_not_confirmed_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiokafka.errors import KafkaTimeoutError

    consumer, thread = _consumer({INPUT: 10})
    await consumer.seek_to_committed()
    batch = [_message(INPUT, offset) for offset in (10, 11, 12)]
    assert await _handed_out(consumer, batch, monkeypatch) == [10, 11, 12]
    for message in batch[:2]:
        _handled(consumer, message)
    thread.seek_error = KafkaTimeoutError()  # aiokafka moved, the position wait did not finish
    await _rebalance(consumer, thread, {INPUT: 10})
    await consumer.seek_to_committed()
    assert thread.seeks[-1] == {INPUT: 12}
    stale = [_message(INPUT, 20), _message(INPUT, 21)]  # fetched before the seek: not a new course
    assert await _handed_out(consumer, stale, monkeypatch) == []
    assert consumer._ledger.next_offset(INPUT) == 12


@pytest.mark.parametrize("committed", [None, 10])
async def test_a_commit_never_passes_a_message_still_being_handled(
    committed: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Offset 10 is a slow lookup in the handler pool; 11-13 were answered at once. Faust alone
    # commits 14 (faust-streaming#606): a worker stopped before 10 is answered would lose it.
    consumer, _ = _consumer({INPUT: committed})
    await consumer.seek_to_committed()
    await consumer.seek_wait({INPUT: 10})
    batch = [_message(INPUT, offset) for offset in (10, 11, 12, 13)]
    assert await _handed_out(consumer, batch, monkeypatch) == [10, 11, 12, 13]
    for message in batch[1:]:
        assert _handled(consumer, message)
    assert consumer._new_offset(INPUT) == 10
    _handled(consumer, batch[0])
    assert consumer._new_offset(INPUT) == 14
    assert consumer._acked[INPUT] == [] and not consumer._acked_index[INPUT]  # Faust's list does not grow


async def test_the_worker_consumer_seeks_its_thread_to_no_negative_offset() -> None:
    consumer, thread = _consumer()
    await consumer.seek_wait({TP("l1-changelog", 3): None, TP("l1-changelog", 2): 5})  # what recovery asked for
    assert thread.seeks == [{TP("l1-changelog", 3): 0, TP("l1-changelog", 2): 5}]


def test_partitions_the_ledger_does_not_track_are_faust_s() -> None:
    consumer, _ = _consumer()
    consumer._acked[CHANGELOG].extend([3, 4, 5])
    assert consumer._new_offset(CHANGELOG) == 6


async def test_a_record_handed_out_and_never_acked_is_reported_with_its_age(monkeypatch: pytest.MonkeyPatch) -> None:
    from warmline.stream.unacked import UnackedWatch

    now = [50.0]
    consumer, _ = _consumer({INPUT: 10}, clock=lambda: now[0])
    await consumer.seek_to_committed()
    batch = [_message(INPUT, 10), _message(INPUT, 11)]
    assert await _handed_out(consumer, batch, monkeypatch) == [10, 11]
    _handled(consumer, batch[1])  # 10 hangs in its handler
    now[0] = 125.0
    watch = UnackedWatch(consumer.oldest_unacked, clock=lambda: now[0])
    assert consumer.oldest_unacked() == {INPUT: (10, 50.0)}
    assert watch.ages_by_topic() == {"lookup-request": 75.0}
    assert watch.report_stuck(after_s=60) == 0  # first seen as the oldest
    now[0] = 185.0
    assert watch.report_stuck(after_s=60) == 1  # still the oldest 60 s later
    _handled(consumer, batch[0])
    assert watch.ages_by_topic() == {} and watch.report_stuck(after_s=60) == 0


async def test_the_metric_reads_the_app_s_consumer_and_creates_none(monkeypatch: pytest.MonkeyPatch) -> None:
    from warmline.stream.transport import oldest_unacked_of

    consumer, _ = _consumer({INPUT: 10}, clock=lambda: 5.0)
    await consumer.seek_to_committed()
    assert await _handed_out(consumer, [_message(INPUT, 10)], monkeypatch) == [10]
    assert oldest_unacked_of(SimpleNamespace(_consumer=consumer)) == {INPUT: (10, 5.0)}
    app = SimpleNamespace(_consumer=None)
    assert oldest_unacked_of(app) == {} and app._consumer is None


async def test_records_fetched_at_the_commit_before_the_restart_are_fetched_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 19's lost half: a restarted worker's fetcher ran while its seek looked the commits up.
    # aiokafka had already moved the consumer to the commit (104), so 104 and 105 arrived before
    # the ledger knew the start and were dropped; the load then ended, no later record came to
    # show the hole, and 104.. stayed unhandled with the commit at 104 for good.
    consumer, thread = _consumer({INPUT: 104})
    early: list[int] = []

    async def fetcher_runs() -> None:
        early.extend(await _handed_out(consumer, [_message(INPUT, 104), _message(INPUT, 105)], monkeypatch))

    thread.during_seek_to_committed = fetcher_runs
    await consumer.seek_to_committed()
    assert early == []  # the start was not known yet
    assert thread.seeks == [{INPUT: 104}]  # so the consumer goes back to it after the restart
    assert await _handed_out(consumer, [_message(INPUT, 104), _message(INPUT, 105)], monkeypatch) == [104, 105]


async def test_a_seek_begun_in_an_older_generation_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # A rebalance stops the flow; Faust's fetcher then seeks to the commits of the assignment it
    # still has (generation 1: both partitions) while generation 2 assigns OTHER_INPUT alone and
    # its own seek restarts the ledger. The older seek ending last must not bring back INPUT (its
    # stale mark would later be a start past records nobody handled) nor drop OTHER_INPUT.
    consumer, thread = _consumer({INPUT: 10, OTHER_INPUT: 0})
    await consumer.seek_to_committed()
    assert await _handed_out(consumer, [_message(INPUT, 10)], monkeypatch) == [10]

    async def generation_two_is_assigned_and_sought() -> None:
        thread.during_seek_to_committed = None
        await _rebalance(consumer, thread, {OTHER_INPUT: 5})
        await consumer.seek_to_committed()

    thread.during_seek_to_committed = generation_two_is_assigned_and_sought
    thread.seeks.clear()
    await consumer.seek_to_committed()  # the older one, ending last
    assert thread.seeks == [{OTHER_INPUT: 5}]  # generation 2's seek only
    assert consumer._ledger.next_offset(INPUT) is None  # INPUT is not ours any more
    assert await _handed_out(consumer, [_message(OTHER_INPUT, 5)], monkeypatch) == [5]


async def test_a_partition_handed_away_and_given_back_starts_from_the_group_s_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer, thread = _consumer({INPUT: 10, OTHER_INPUT: 0})
    await consumer.seek_to_committed()
    batch = [_message(INPUT, offset) for offset in (10, 11, 12)]
    assert await _handed_out(consumer, batch, monkeypatch) == [10, 11, 12]
    for message in batch:
        _handled(consumer, message)
    await _rebalance(consumer, thread, {OTHER_INPUT: 0})  # INPUT handed away; its next owner commits 11
    await consumer.seek_to_committed()
    await _rebalance(consumer, thread, {INPUT: 11, OTHER_INPUT: 0})  # and given back
    thread.seeks.clear()
    await consumer.seek_to_committed()
    assert thread.seeks == [{INPUT: 11, OTHER_INPUT: 3}]  # the commit, not this worker's old mark (13)


async def test_records_of_a_new_generation_wait_for_its_seek(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer, thread = _consumer({INPUT: 10})
    await consumer.seek_to_committed()
    await _rebalance(consumer, thread, {INPUT: 10})  # kept, but generation 2 has not sought yet
    assert await _handed_out(consumer, [_message(INPUT, 10), _message(INPUT, 11)], monkeypatch) == []
    await consumer.seek_to_committed()
    assert await _handed_out(consumer, [_message(INPUT, 10), _message(INPUT, 11)], monkeypatch) == [10, 11]


async def test_a_jump_is_crossed_only_after_a_refetch_that_happened(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiokafka.errors import KafkaTimeoutError

    consumer, thread = _consumer({INPUT: 10})
    await consumer.seek_to_committed()
    thread.seek_error = KafkaTimeoutError()
    jump = [_message(INPUT, 14)]
    assert await _handed_out(consumer, jump, monkeypatch) == []  # refetch asked, not confirmed
    assert await _handed_out(consumer, jump, monkeypatch) == []  # so 14 again is no proof of a gap
    thread.seek_error = None
    assert await _handed_out(consumer, jump, monkeypatch) == []  # this refetch happens
    assert await _handed_out(consumer, jump, monkeypatch) == [14]  # and 14 came again: 10..13 are not in the log


def _flow_events(consumer: TunedConsumer) -> None:
    """What Faust's resume_flow sets (the helper builds the consumer without Faust's __init__)."""
    import asyncio

    consumer.flow_active = False
    consumer.can_resume_flow = asyncio.Event()
    consumer.suspend_flow = asyncio.Event()


async def test_a_flow_resume_hands_out_again_what_it_threw_away(monkeypatch: pytest.MonkeyPatch) -> None:
    # A failover window lost 20: after the seek at the end of a rebalance, 11 and 12 were handed to
    # the stream; Faust then resumed its flow control, which empties every stream's queue. They
    # were never handled, never acked, and held the commit without being fetched again.
    consumer, thread = _consumer({INPUT: 10})
    _flow_events(consumer)
    await consumer.seek_to_committed()
    batch = [_message(INPUT, offset) for offset in (10, 11, 12)]
    assert await _handed_out(consumer, batch, monkeypatch) == [10, 11, 12]
    _handled(consumer, batch[0])  # an agent had taken 10; 11 and 12 were still queued
    consumer.resume_flow()
    assert consumer._rewinding is not None
    await consumer._rewinding
    assert thread.seeks[-1] == {INPUT: 11}
    assert await _handed_out(consumer, batch[1:], monkeypatch) == [11, 12]
    assert consumer._new_offset(INPUT) == 11


async def test_a_flow_resume_before_the_generation_s_seek_leaves_the_ledger_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer, thread = _consumer({INPUT: 10})
    _flow_events(consumer)
    await consumer.seek_to_committed()
    await _rebalance(consumer, thread, {INPUT: 10})
    thread.seeks.clear()
    consumer.resume_flow()  # Faust resumes the flow to read changelogs before it seeks the streams
    assert consumer._rewinding is None and thread.seeks == []


async def test_a_poll_that_spans_a_rebalance_counts_its_records_for_their_own_generation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One poll began in generation 1 and returned after generation 2 had restarted the ledger and
    # sought to 10: its records were fetched for generation 2 (Faust labels them so) and are
    # handed out. Records labelled with generation 1 at or past the start were fetched before the
    # seek: the consumer may stand past them, so the partition is fetched again from 10.
    consumer, thread = _consumer({INPUT: 10})
    await consumer.seek_to_committed()
    await _rebalance(consumer, thread, {INPUT: 10})
    await consumer.seek_to_committed()
    thread.seeks.clear()
    assert await _handed_out(consumer, [_message(INPUT, 10, generation=1)], monkeypatch) == []
    assert thread.seeks == [{INPUT: 10}]
    assert await _handed_out(consumer, [_message(INPUT, 10, generation=2)], monkeypatch) == [10]


async def test_faust_s_read_offset_filter_is_off_for_what_the_ledger_hands_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # Faust's drain loop drops records below _read_offset; a refetch racing its bookkeeping left
    # it past records the ledger had just handed out again (review of issue 19's fix).
    consumer, _ = _consumer({INPUT: 10})
    await consumer.seek_to_committed()
    consumer._read_offset[INPUT] = 50
    assert await _handed_out(consumer, [_message(INPUT, 10)], monkeypatch) == [10]
    assert consumer._read_offset[INPUT] is None


def test_an_input_partition_with_no_start_commits_nothing() -> None:
    # A rebalance under way: a handler still running from before acks 51 after Faust emptied its
    # list; Faust alone would commit 52 past a lower record still being handled.
    consumer, _ = _consumer()
    consumer._acked[INPUT].append(51)
    consumer._acked_index[INPUT].add(51)
    assert consumer._new_offset(INPUT) is None
    assert INPUT not in consumer._acked and INPUT not in consumer._acked_index
