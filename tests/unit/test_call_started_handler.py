"""The call-started handler with fakes: a lone event warmed by the batch timer, a burst in batches, acks after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from warmline.agents.call_started import WARM_BATCH_SIZE, CallStartedHandler
from warmline.agents.kafka_io import HandlerPool
from warmline.metrics import Metrics
from warmline.models import CacheEntry, LookupKey

from ..fakes import FakeEvent, FakeL2, FakeOutbox, FakeOwnership, FakeSource, customer, fake_runtime


class CountingL2(FakeL2):
    def __init__(self) -> None:
        super().__init__()
        self.mgets: list[int] = []
        self.put_manys: list[int] = []

    async def mget(self, keys: Sequence[LookupKey]) -> list[CacheEntry | None]:
        self.mgets.append(len(keys))
        return await super().mget(keys)

    async def put_many(self, items: Sequence[tuple[LookupKey, CacheEntry, float]]) -> None:
        self.put_manys.append(len(items))
        await super().put_many(items)


def _handler(source: FakeSource, l2: CountingL2) -> tuple[CallStartedHandler, HandlerPool]:
    runtime = fake_runtime(source, l2=l2, clock=time.time, l1_max_entries=10_000)
    pool = HandlerPool(1000)
    handler = CallStartedHandler(
        runtime.lookups,
        Metrics(),
        FakeOutbox(),
        pool,
        FakeOwnership({3}),  # every key is ours
        "repartition",
        call_max_age_s=900,
        on_warm=None,
        rekeyed=False,
    )
    return handler, pool


def _event(i: int) -> Any:
    event = FakeEvent({"call_id": f"c-{i}", "caller": "x", "customer_id": f"C-{i:06d}"})
    event.message.topic = "call-started"
    event.message.timestamp = time.time()
    return event


async def _settle(pool: HandlerPool) -> None:
    while len(pool):
        await asyncio.gather(*list(pool._tasks))


async def test_a_lone_event_is_warmed_by_the_batch_timer_and_acked_after() -> None:
    source = FakeSource({"customer_id:C-000001": customer("C-000001")})
    source.gate = asyncio.Event()
    l2 = CountingL2()
    handler, pool = _handler(source, l2)
    event = _event(1)
    await handler.handle(event)
    await asyncio.wait_for(_until(lambda: source.calls), 5)  # no flush() call: the batch timer started it
    assert event.acks == 0  # the source has not answered: not acked yet
    source.gate.set()
    await _settle(pool)
    assert event.acks == 1
    assert "customer_id:C-000001" in l2.data


async def test_a_burst_is_warmed_in_batches_with_one_mget_and_one_pipeline_each() -> None:
    n = WARM_BATCH_SIZE * 3
    source = FakeSource({f"customer_id:C-{i:06d}": customer(f"C-{i:06d}") for i in range(n)})
    source.gate = asyncio.Event()  # hold the first warms so the burst finds them in flight
    l2 = CountingL2()
    handler, pool = _handler(source, l2)
    events = [_event(i) for i in range(n)]
    for event in events:
        await handler.handle(event)
    await handler._batch.flush()
    source.gate.set()
    await _settle(pool)
    assert all(e.acks == 1 for e in events)
    assert len(source.calls) == n and len(l2.data) == n
    assert max(l2.mgets) == WARM_BATCH_SIZE  # the burst after the first WARM_BATCH_SIZE went in full batches
    assert len(l2.mgets) < n  # fewer round trips than events
    assert sum(l2.put_manys) == n


async def _until(check: Any) -> None:
    while not check():
        await asyncio.sleep(0.001)
