"""An offset left unacked after a failed produce is never committed past, even once Faust forgets it.

Faust tracks the messages it waits for in a WeakSet: a message nobody references any more (the
handler gave up on it) drops out of it, and Faust alone then commits past its offset
(faust-streaming#606) — a lookup lost. The delivery ledger holds the offsets handed out and not
acked by number, per partition, so the commit stays at the abandoned one until a rebalance
hands it out again.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import Message

from warmline.agents.kafka_io import ack_when_delivered
from warmline.stream.transport import TunedConsumer

from .test_transport import INPUT, _consumer, _handed_out, _handled, _message, _rebalance


class _Event:
    """What ack_when_delivered reads of a Faust event: its message, and ack() as a stream's agent acks."""

    def __init__(self, consumer: TunedConsumer, message: Message) -> None:
        self.message, self._consumer = message, consumer

    def ack(self) -> None:
        _handled(self._consumer, self.message)


def _delivery(ok: bool) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    if ok:
        future.set_result(None)
    else:
        future.set_exception(RuntimeError("produce failed"))
    return future


async def _abandon_offset_10(consumer: TunedConsumer, monkeypatch: pytest.MonkeyPatch) -> weakref.ref[Message]:
    """Hand out 10–13; the reply to 10 fails to produce, 11–13 are delivered; then drop every
    reference to 10's message, as the handler that gave up on it does."""
    consumer._unacked_messages = weakref.WeakSet()  # Faust's own kind of set
    await consumer.seek_to_committed()
    await consumer.seek_wait({INPUT: 10})
    batch = [_message(INPUT, offset) for offset in (10, 11, 12, 13)]
    assert await _handed_out(consumer, batch, monkeypatch) == [10, 11, 12, 13]
    monkeypatch.undo()  # the fake fetch holds the batch
    for message in batch:
        consumer._unacked_messages.add(message)  # what Faust's track_message does
        ack_when_delivered(_Event(consumer, message), _delivery(message.offset != 10))
    await asyncio.sleep(0)  # the delivery callbacks run
    await asyncio.sleep(0)
    forgotten = weakref.ref(batch[0])
    del batch, message
    gc.collect()
    return forgotten


async def test_a_failed_produce_holds_the_commit_after_faust_forgot_the_message(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    consumer, thread = _consumer({INPUT: 10})
    forgotten = await _abandon_offset_10(consumer, monkeypatch)
    assert "produce failed" in caplog.text and "left unacked for redelivery" in caplog.text
    assert forgotten() is None and len(consumer._unacked_messages) == 0  # Faust waits for nothing any more
    assert consumer._new_offset(INPUT) == 10  # ... and yet nothing is committed past 10
    assert consumer.oldest_unacked()[INPUT][0] == 10  # and the held commit shows (stream/unacked.py)
    await _rebalance(consumer, thread, {INPUT: 10})  # the partition is kept: 10 is handed out again
    await consumer.seek_to_committed()
    assert thread.seeks[-1] == {INPUT: 10}


async def test_faust_alone_would_commit_past_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same with Faust's own commit offset: the positive control that the test above can fail.
    consumer, _ = _consumer({INPUT: 10})
    await _abandon_offset_10(consumer, monkeypatch)
    monkeypatch.setattr(TunedConsumer, "_new_offset", faust_aiokafka.Consumer._new_offset)
    assert consumer._new_offset(INPUT) == 14
