"""The tuned transport: table recovery never seeks a changelog to a negative offset."""

from __future__ import annotations

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
