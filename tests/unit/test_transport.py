"""The tuned transport: table recovery never seeks a changelog to a negative offset."""

from __future__ import annotations

import pytest
from faust.types import TP

from warmline.stream.transport import TunedConsumer, from_the_beginning


def test_negative_offsets_mean_the_beginning() -> None:
    a, b, c, d = TP("t", 0), TP("t", 1), TP("t", 2), TP("t", 3)
    assert from_the_beginning({a: -2, b: -1, c: 7, d: None}) == {a: 0, b: 0, c: 7, d: 0}


async def test_the_worker_consumer_seeks_its_thread_to_no_negative_offset() -> None:
    seeks: list[dict[TP, int]] = []

    class Thread:  # the consumer thread Faust's Consumer.seek_wait delegates to
        async def seek_wait(self, partitions: dict[TP, int]) -> None:
            seeks.append(dict(partitions))

    consumer = TunedConsumer.__new__(TunedConsumer)  # no app, no broker: only the seek path
    consumer._thread = Thread()
    await consumer.seek_wait({TP("l1-changelog", 3): None, TP("l1-changelog", 2): 5})  # what recovery asked for
    assert seeks == [{TP("l1-changelog", 3): 0, TP("l1-changelog", 2): 5}]


class _Message:
    def __init__(self, tp: TP, offset: int, acked: bool = False) -> None:
        self.tp, self.offset, self.acked = tp, offset, acked


def _consumer_with(tp: TP, committed: int | None, acked: list[int], in_flight: list[_Message]) -> TunedConsumer:
    """A TunedConsumer with only the bookkeeping Faust's commit reads (no app, no broker)."""
    from collections import defaultdict

    from intervaltree import IntervalTree

    consumer = TunedConsumer.__new__(TunedConsumer)
    consumer._acked = defaultdict(list, {tp: list(acked)})
    consumer._acked_index = defaultdict(set, {tp: set(acked)})
    consumer._gap = defaultdict(IntervalTree)
    consumer._committed_offset = defaultdict(lambda: None, {tp: committed})
    consumer._unacked_messages = set(in_flight)  # type: ignore[assignment]  # Faust's is a WeakSet of Messages
    return consumer


@pytest.mark.parametrize("committed", [None, 0, 10])
def test_a_commit_never_passes_a_message_still_being_handled(committed: int | None) -> None:
    # Offset 10 is a slow lookup in the handler pool; 11-13 were answered at once. Faust alone
    # commits 14 (faust-streaming#606): a worker stopped before 10 is answered would lose it.
    tp = TP("lookup-request", 0)
    slow = _Message(tp, 10)
    consumer = _consumer_with(tp, committed, [11, 12, 13], [slow, _Message(TP("other", 0), 2)])
    assert consumer._new_offset(tp) is None
    assert sorted(consumer._acked[tp]) == [11, 12, 13]  # kept for the commit after 10 is done
    slow.acked = True
    consumer._acked[tp].append(10)
    assert consumer._new_offset(tp) == 14


def test_offsets_before_the_oldest_unanswered_message_are_committed() -> None:
    tp = TP("lookup-request", 1)
    consumer = _consumer_with(tp, 5, [5, 6, 7, 9, 10], [_Message(tp, 8), _Message(tp, 4, acked=True)])
    assert consumer._new_offset(tp) == 8
    assert sorted(consumer._acked[tp]) == [9, 10]


def test_without_messages_in_flight_faust_decides() -> None:
    tp = TP("lookup-request", 2)
    consumer = _consumer_with(tp, 3, [3, 4, 5], [])
    assert consumer._new_offset(tp) == 6
