"""Warm-at-answer from the platforms' own answered events, and events without a number joined to their call.

The Amazon Connect sequence uses the fixtures of tests/fixtures/platforms (the contact-flow Lambda
event carries the number; the EventBridge contact events do not).
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from warmline.agents.call_started import CallStartedHandler
from warmline.agents.kafka_io import HandlerPool
from warmline.lookups import LookupService
from warmline.metrics import Metrics
from warmline.models import CacheTier, LookupKey, parse_key
from warmline.platforms import PlatformCall, load_mappings
from warmline.platforms.calls import CallAnswered, platform_payload
from warmline.platforms.ingress import Dispatch, PlatformIngress
from warmline.platforms.registry import CallRegistry, CallState, MemoryCallRegistry, RedisCallRegistry
from warmline.prewarm.bulk import LIVE_POLICY, WarmOrigin
from warmline.prewarm.warm_at_answer import AnswerStats
from warmline.sources.base import Priority

from ..fakes import FakeEvent, FakeL2, FakeOutbox, FakeOwnership, FakeSource, customer, fake_runtime

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms"
MAPPINGS = load_mappings()
CONTACT = "4a573372-1f28-4e26-b97b-000000000001"


def _call(fixture: str) -> PlatformCall:
    (call,) = MAPPINGS.recognize(platform_payload((FIXTURES / fixture).read_bytes()))
    return call


@pytest.fixture(name="registry", params=["memory", "redis"])
async def _registry(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[CallRegistry]:
    if request.param == "memory":
        yield MemoryCallRegistry()
        return
    client = aioredis.Redis.from_url(redis_url)
    prefix = f"warmline:v1:test-{uuid.uuid4().hex[:8]}:"
    yield RedisCallRegistry(client, prefix, ttl_s=60)
    keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=10_000)]  # the shared Redis is large
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_a_connect_answer_before_its_number_waits_and_follows_the_lambda_event(registry: CallRegistry) -> None:
    ingress = PlatformIngress(MAPPINGS, registry, "US")
    (waiting,) = await ingress.route(_call("connect_contact_event_connected_lowercase.json"))
    assert (waiting.outcome, waiting.record) == ("waiting_for_caller", None)  # no number in EventBridge events
    queued, answered = await ingress.route(_call("connect_lambda.json"))
    assert (queued.outcome, queued.owner_key, answered.outcome) == ("queued", "phone:+14155550123", "answered")
    assert answered.replayed and answered.owner_key == "phone:+14155550123"
    record = orjson.loads(answered.record or b"")
    assert record["type"] == "call-answered" and record["call_id"] == CONTACT
    assert record["agent"].endswith("/agent/a1") and record["queued_at"] is not None  # the Lambda event queued it
    (late_queued,) = await ingress.route(_call("connect_contact_event_queued.json"))  # now matched by contact id
    assert (late_queued.outcome, late_queued.owner_key) == ("queued", "phone:+14155550123")
    (again,) = await ingress.route(_call("connect_contact_event_connected_lowercase.json"))  # EventBridge repeats
    assert (again.outcome, again.owner_key) == ("answered", "phone:+14155550123")


async def test_an_event_streams_answer_without_a_number_joins_its_task(registry: CallRegistry) -> None:
    ingress = PlatformIngress(MAPPINGS, registry, "US")
    created, accepted = MAPPINGS.recognize(platform_payload((FIXTURES / "twilio_event_streams.json").read_bytes()))
    accepted = type(accepted)(**{**accepted.__dict__, "call_id": created.call_id})  # the same task, answered
    (queued,) = await ingress.route(created)
    (answered,) = await ingress.route(accepted)
    assert (queued.owner_key, answered.owner_key) == ("phone:+14155550199", "phone:+14155550199")
    record = CallAnswered.model_validate_json(answered.record or b"")
    assert record.queued_at == datetime(2026, 12, 2, 9, 2, tzinfo=UTC)  # the platform's own queued time
    assert record.answered_at == datetime(2026, 12, 2, 9, 2, 30, tzinfo=UTC)


async def test_a_call_s_answer_is_claimed_once(registry: CallRegistry) -> None:
    assert await registry.claim_answer("connect", CONTACT) is True
    assert await registry.claim_answer("connect", CONTACT) is False
    assert await registry.claim_answer("genesys", CONTACT) is True  # another platform's call


async def test_parked_events_put_back_are_let_through_again(registry: CallRegistry) -> None:
    ingress = PlatformIngress(MAPPINGS, registry, "US")
    await ingress.route(_call("connect_contact_event_connected_lowercase.json"))
    _, answered = await ingress.route(_call("connect_lambda.json"))
    await ingress.restore([answered])  # its record did not reach the broker
    _, again = await ingress.route(_call("connect_lambda.json"))  # the platform retries
    assert again.replayed and again.outcome == "answered"


def _down_redis() -> aioredis.Redis:
    """A real client of a port nobody listens on: every command is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return aioredis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)


async def test_without_redis_a_numbered_event_still_warms_and_a_numberless_one_is_refused() -> None:
    from warmline.errors import RegistryUnavailable

    ingress = PlatformIngress(MAPPINGS, RedisCallRegistry(_down_redis(), "p:"), "US")
    (queued,) = await ingress.route(_call("connect_lambda.json"))
    assert queued.outcome == "queued" and queued.owner_key == "phone:+14155550123"
    with pytest.raises(RegistryUnavailable, match="call registry"):
        await ingress.route(_call("connect_contact_event_connected_lowercase.json"))


def test_answer_stats_count_tiers_waits_and_answers_before_queued() -> None:
    metrics = Metrics()
    stats = AnswerStats(metrics)
    stats.answered("twilio", "WQ1", CacheTier.L1, answered_at=130.0, queued_at=100.0, warmed_at=100.25)
    stats.answered("twilio", "WQ1", CacheTier.L2, answered_at=50.0, queued_at=20.0, warmed_at=None)
    stats.answered("twilio", None, None, answered_at=10.0, queued_at=None, warmed_at=None)  # answered first
    stats.repeated("twilio")
    snap = stats.snapshot()["twilio"]
    assert snap["answered"] == 3 and snap["warm"] == {"l1": 1, "l2": 1, "cold": 1}
    assert snap["warm_at_answer_ratio"] == 0.3333 and snap["answered_before_queued"] == 1
    assert snap["repeated_answers"] == 1 and snap["queues"]["WQ1"] == {"answered": 2, "l1": 1}
    assert snap["queued_to_warm_ms"]["p50"] == 250.0 and snap["queue_wait_ms"]["p99"] == 30000.0
    assert metrics.calls_answered.labels("twilio", "cold")._value.get() == 1
    assert metrics.queued_to_warm.labels("twilio")._sum.get() == 0.25


def _owner(
    clock: list[float], brief_ready: Any = None, source: FakeSource | None = None
) -> tuple[CallStartedHandler, FakeOutbox, LookupService]:
    lookups = fake_runtime(source, l2=FakeL2(), clock=time.time, l1_max_entries=1000).lookups
    lookups.warmth._wall = lambda: clock[0]
    outbox = FakeOutbox()
    handler = CallStartedHandler(
        lookups,
        Metrics(),
        outbox,
        HandlerPool(100),
        FakeOwnership({3}),
        "call-started-repartition",
        call_max_age_s=900,
        on_warm=None,
        rekeyed=True,
        platforms=PlatformIngress(MAPPINGS, MemoryCallRegistry(), "US", brief_ready),
    )
    return handler, outbox, lookups


def _answered(call_id: str, key: str, queued_at: float | None, answered_at: float) -> FakeEvent:
    record = CallAnswered(
        platform="twilio",
        call_id=call_id,
        key=key,
        queue="WQ1",
        answered_at=datetime.fromtimestamp(answered_at, UTC),
        queued_at=datetime.fromtimestamp(queued_at, UTC) if queued_at is not None else None,
    )
    event = FakeEvent(record.to_json())
    event.message.topic = "call-started-repartition"
    event.message.timestamp = time.time()
    return event


async def _warm_as_call_started(lookups: LookupService, key: LookupKey) -> None:
    """What the call-started agent does for a queued caller."""
    await lookups.warm_many([key], Priority.LIVE, origin=WarmOrigin.CALL_STARTED, policy=LIVE_POLICY)


async def test_the_owner_counts_each_answer_once_in_the_tier_it_found() -> None:
    clock = [1000.0]
    handler, outbox, lookups = _owner(clock)
    warm, cold = "phone:+14155550101", "phone:+14155550102"
    lookups.begin_prewarm(parse_key(warm))
    await _warm_as_call_started(lookups, parse_key(warm))  # warmed at clock 1000
    first = _answered("WT1", warm, queued_at=999.5, answered_at=1030.0)
    await handler.handle(first)
    await handler.handle(_answered("WT1", warm, queued_at=999.5, answered_at=1030.0))  # redelivered
    await handler.handle(_answered("WT2", cold, queued_at=None, answered_at=1031.0))  # before its queued event
    assert outbox.sent == [] and first.acks == 1
    snap = lookups.stats()["warm_at_answer"]["platforms"]["twilio"]
    assert snap["warm"] == {"l1": 1, "l2": 0, "cold": 1} and snap["repeated_answers"] == 1
    assert snap["answered_before_queued"] == 1
    assert snap["queued_to_warm_ms"]["p50"] == 500.0 and snap["queue_wait_ms"]["p50"] == 30500.0


async def test_an_answer_for_a_record_only_in_l2_counts_l2() -> None:
    handler, _, lookups = _owner([0.0])
    key = parse_key("phone:+14155550103")
    await _warm_as_call_started(lookups, key)
    lookups.cache.l1.delete(str(key))  # as if another worker had warmed it: in L2 only
    await handler.handle(_answered("WT3", str(key), queued_at=None, answered_at=5.0))
    assert lookups.stats()["warm_at_answer"]["platforms"]["twilio"]["warm"]["l2"] == 1


class _FlakyRegistry(MemoryCallRegistry):
    """Fails for one call id while told to (a Redis timeout in the middle of a message)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def park(self, platform: str, call_id: str, event: bytes) -> None:
        from warmline.errors import RegistryUnavailable

        if self.down and call_id == "another-contact":
            raise RegistryUnavailable("call registry (Redis): timeout")
        await super().park(platform, call_id, event)


async def test_a_message_that_cannot_be_matched_puts_back_what_it_took() -> None:
    from warmline.errors import RegistryUnavailable

    registry = _FlakyRegistry()
    ingress = PlatformIngress(MAPPINGS, registry, "US")
    await ingress.route(_call("connect_contact_event_connected_lowercase.json"))  # parked
    registry.down = True
    other = _call("connect_contact_event_queued.json")
    other = type(other)(**{**other.__dict__, "call_id": "another-contact"})  # no number, so it needs the registry
    with pytest.raises(RegistryUnavailable):
        await ingress.route_all([_call("connect_lambda.json"), other])  # the first took the parked answer
    registry.down = False
    _, answered = await ingress.route(_call("connect_lambda.json"))  # the whole message, retried
    assert answered.outcome == "answered" and answered.replayed


async def test_the_brief_is_checked_for_a_found_caller_at_answer() -> None:
    asked: list[str] = []

    async def brief_ready(found: Any) -> bool:
        asked.append(found.customer_id)
        return True

    known = "phone:+14155550104"
    source = FakeSource({known: customer()})
    handler, _, lookups = _owner([0.0], brief_ready, source)
    for key in (known, "phone:+14155550105"):  # the second is in no directory: no one to brief
        await _warm_as_call_started(lookups, parse_key(key))
        await handler.handle(_answered(f"WT-{key[-3:]}", key, queued_at=None, answered_at=5.0))
    snap = lookups.stats()["warm_at_answer"]["platforms"]["twilio"]
    assert asked == [customer().customer_id] and snap["brief_ready_at_answer_ratio"] == 1.0
    assert snap["warm"]["l1"] == 2  # a caller in no directory is a warm negative entry: answered at once


async def test_the_memory_registry_forgets_a_call_after_its_ttl() -> None:
    now = [0.0]
    registry = MemoryCallRegistry(clock=lambda: now[0], ttl_s=60)
    await registry.note("connect", CONTACT, caller="+14155550123", customer_id=None, queued_at=1.0)
    now[0] = 59.0
    state, _ = await registry.note("connect", CONTACT, caller=None, customer_id=None, queued_at=None)
    assert state.caller == "+14155550123"  # touched at 59: kept
    now[0] = 120.0
    state, _ = await registry.note("connect", CONTACT, caller=None, customer_id=None, queued_at=None)
    assert not state.identified  # 61 s untouched: forgotten


def test_queues_beyond_the_reported_fifty_are_summed_as_other() -> None:
    stats = AnswerStats()
    for q in range(55):
        stats.answered("genesys", f"q{q}", CacheTier.L1, answered_at=1.0, queued_at=0.0, warmed_at=0.5)
    queues = stats.snapshot()["genesys"]["queues"]
    assert len(queues) == 51 and queues["other"] == {"answered": 5, "l1": 5} and queues["q49"]["answered"] == 1


class _SlowRegistry(MemoryCallRegistry):
    """Answers ``note`` only once told to (a Redis round trip in progress)."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = asyncio.Event()
        self.noting = asyncio.Event()

    async def note(self, platform: str, call_id: str, **state: Any) -> tuple[CallState, list[bytes]]:
        self.noting.set()
        await self.answer.wait()
        return await super().note(platform, call_id, **state)


async def test_a_queued_call_s_record_leaves_before_the_registry_answers_and_its_parked_answer_after() -> None:
    registry = _SlowRegistry()
    ingress = PlatformIngress(MAPPINGS, registry, "US")
    registry.answer.set()
    await ingress.route(_call("connect_contact_event_connected_lowercase.json"))  # the answer came first: parked
    registry.answer.clear()
    registry.noting.clear()
    sent: list[Dispatch] = []

    async def send(d: Dispatch) -> None:
        sent.append(d)

    routing = asyncio.create_task(ingress.route_all([_call("connect_lambda.json")], send))
    await registry.noting.wait()
    assert [d.outcome for d in sent] == ["queued"]  # on its way to the broker while the registry is asked
    registry.answer.set()
    dispatches = await routing
    assert [d.outcome for d in sent] == ["queued", "answered"]  # the owner gets them in that order
    assert dispatches == sent and sent[1].replayed  # each handed over once


async def test_a_failed_send_puts_back_the_parked_events_taken() -> None:
    registry = MemoryCallRegistry()
    ingress = PlatformIngress(MAPPINGS, registry, "US")
    await ingress.route(_call("connect_contact_event_connected_lowercase.json"))  # parked

    async def broker_down(d: Dispatch) -> None:
        if d.replayed:
            raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        await ingress.route_all([_call("connect_lambda.json")], broker_down)
    _, answered = await ingress.route(_call("connect_lambda.json"))  # the platform retries
    assert answered.outcome == "answered" and answered.replayed


async def test_a_queued_call_sent_early_is_not_sent_again_when_the_registry_is_down() -> None:
    ingress = PlatformIngress(MAPPINGS, RedisCallRegistry(_down_redis(), "p:"), "US")
    sent: list[Dispatch] = []

    async def send(d: Dispatch) -> None:
        sent.append(d)

    dispatches = await ingress.route_all([_call("connect_lambda.json")], send)
    assert [d.outcome for d in sent] == ["queued"] and dispatches == sent
