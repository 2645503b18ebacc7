"""The platforms' webhook stores through a producer of its own and answers only once the broker has its records."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from warmline.http.events import EventStore
from warmline.platforms import load_mappings
from warmline.platforms.calls import platform_payload
from warmline.platforms.ingress import PlatformIngress
from warmline.platforms.registry import MemoryCallRegistry

from ..fakes import FakeOwnership

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms"
MAPPINGS = load_mappings()


class _Producer:
    """Records what was sent; each delivery resolves when the test says."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, int | None]] = []
        self.deliveries: list[asyncio.Future[Any]] = []

    async def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> asyncio.Future[Any]:
        self.sent.append((topic, key, partition))
        self.deliveries.append(asyncio.get_running_loop().create_future())
        return self.deliveries[-1]


def _calls(fixture: str) -> Any:
    return MAPPINGS.recognize(platform_payload((FIXTURES / fixture).read_bytes()))


def _store(producer: _Producer) -> tuple[EventStore, PlatformIngress]:
    ingress = PlatformIngress(MAPPINGS, MemoryCallRegistry(), "US")
    return EventStore(ingress, producer, FakeOwnership(set()), "app-call-started-repartition"), ingress


async def test_the_answer_waits_until_the_broker_has_the_record() -> None:
    producer = _Producer()
    store, _ = _store(producer)
    storing = asyncio.create_task(store.store(_calls("connect_lambda.json")))
    while not producer.deliveries:
        await asyncio.sleep(0)
    assert producer.sent == [("app-call-started-repartition", b"phone:+14155550123", 3)]  # the owner's partition
    await asyncio.sleep(0.01)
    assert not storing.done()  # queued for the broker is not stored
    producer.deliveries[0].set_result(None)
    (dispatch,) = await storing
    assert dispatch.outcome == "queued"


async def test_a_record_the_broker_refused_puts_back_the_parked_events_it_let_through() -> None:
    producer = _Producer()
    store, ingress = _store(producer)
    await ingress.route_all(_calls("connect_contact_event_connected_lowercase.json"))  # no number: parked
    storing = asyncio.create_task(store.store(_calls("connect_lambda.json")))
    while len(producer.deliveries) < 2:  # the queued call and its parked answer
        await asyncio.sleep(0)
    producer.deliveries[0].set_result(None)
    producer.deliveries[1].set_exception(ConnectionError("broker down"))
    with pytest.raises(ConnectionError):
        await storing
    _, answered = await ingress.route_all(_calls("connect_lambda.json"))  # the platform retries
    assert answered.outcome == "answered" and answered.replayed
