"""Fakes that implement warmline's Protocols (type-checked against them) for unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from faust.types import EventT

from warmline.agents.kafka_io import InboundEvent, Outbox
from warmline.bootstrap import build_runtime
from warmline.cache.l1 import L1, TableL1
from warmline.cache.l2 import L2
from warmline.errors import L2Unavailable, SourceUnavailable
from warmline.models import CacheEntry, Customer, LookupKey
from warmline.settings import Settings
from warmline.sources.base import Source, SourceResult
from warmline.stream.ownership import Ownership
from warmline.worker import Runtime


class FakeClock:
    """A settable clock: tests move time instead of sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def customer(cid: str = "C-000001", phone: str = "+14155550123", email: str = "ada@example.com") -> Customer:
    """A small valid Customer."""
    return Customer(customer_id=cid, name="Ada Lovelace", phones=(phone,), emails=(email,), tier="vip")


class FakeSource:
    """Answers from a dict; can be slowed down, broken, or gated on an event."""

    name = "fake"

    def __init__(self, records: dict[str, Customer] | None = None, delay_s: float = 0.0) -> None:
        self.records = records or {}
        self.delay_s = delay_s
        self.calls: list[str] = []
        self.down = False
        self.gate: asyncio.Event | None = None

    async def lookup(self, key: LookupKey) -> SourceResult:
        self.calls.append(str(key))
        if self.gate is not None:
            await self.gate.wait()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.down:
            raise SourceUnavailable("fake source is down")
        found = self.records.get(str(key))
        return SourceResult(found, 1 if found else 0)

    async def ping(self) -> None:
        if self.down:
            raise SourceUnavailable("fake source is down")

    async def aclose(self) -> None:
        return None


class FakeL2:
    """An in-memory L2 that can be switched off."""

    def __init__(self) -> None:
        self.data: dict[str, CacheEntry] = {}
        self.down = False
        self.writes = 0

    def _check(self) -> None:
        if self.down:
            raise L2Unavailable("fake redis is down")

    async def get(self, key: LookupKey) -> CacheEntry | None:
        self._check()
        return self.data.get(str(key))

    async def put(self, key: LookupKey, entry: CacheEntry, keep_s: float) -> None:
        self._check()
        self.writes += 1
        self.data[str(key)] = entry

    async def delete(self, key: LookupKey) -> None:
        self._check()
        self.data.pop(str(key), None)

    async def put_many(self, items: Sequence[tuple[LookupKey, CacheEntry, float]]) -> None:
        self._check()
        self.writes += len(items)
        for key, entry, _ in items:
            self.data[str(key)] = entry

    async def mget(self, keys: Sequence[LookupKey]) -> list[CacheEntry | None]:
        self._check()
        return [self.data.get(str(k)) for k in keys]

    async def delete_customer(self, customer_id: str) -> None:
        self._check()
        for k in [k for k, e in self.data.items() if e.customer and e.customer.customer_id == customer_id]:
            del self.data[k]


class FakeOutbox:
    """Records what would be produced; deliveries resolve only when the test says so."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.deliveries: list[asyncio.Future[None]] = []

    def _delivery(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.deliveries.append(future)
        return future

    async def send(self, topic: str, key: bytes | None, value: bytes, **kw: Any) -> asyncio.Future[None]:
        self.sent.append({"topic": topic, "key": key, "value": orjson.loads(value), **kw})
        return self._delivery()

    async def dead_letter(self, event: InboundEvent, reason: str) -> asyncio.Future[None]:
        self.sent.append({"topic": "dlq", "reason": reason})
        return self._delivery()

    async def rekey(self, event: InboundEvent, topic: str, owner_key: str, partition: int) -> asyncio.Future[None]:
        self.sent.append({"topic": topic, "key": owner_key, "partition": partition})
        return self._delivery()

    def deliver_all(self) -> None:
        for future in self.deliveries:
            if not future.done():
                future.set_result(None)


@dataclass
class FakeMessage:
    """A consumed record as agents read it (warmline.agents.kafka_io.InboundMessage)."""

    value: bytes
    topic: str = "lookup-request"
    partition: int = 0
    offset: int = 7
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: float = 0.0


class FakeEvent:
    """A consumed event (InboundEvent) over *body* (bytes, or an object sent as JSON); counts its acks."""

    def __init__(self, body: object) -> None:
        self.message = FakeMessage(body if isinstance(body, bytes) else orjson.dumps(body))
        self.acks = 0

    def ack(self) -> bool:
        self.acks += 1
        return True


class FakeOwnership:
    """Every key hashes to partition 3; this worker owns *owned*."""

    def __init__(self, owned: set[int]) -> None:
        self._owned = frozenset(owned)

    def partition_of(self, key: str) -> int:
        return 3

    def owned(self) -> frozenset[int]:
        return self._owned

    def owns(self, key: str) -> bool:
        return self.partition_of(key) in self._owned


def fake_runtime(
    source: Source | None = None,
    *,
    l2: L2 | None = None,
    clock: Callable[[], float] | None = None,
    **settings: Any,
) -> Runtime:
    """bootstrap.build_runtime with fakes: *source* (a FakeSource), no Redis unless *l2*, no TTL jitter, a FakeClock."""
    return build_runtime(
        Settings(**{"redis_url": "", "ttl_jitter": 0, **settings}),
        source=source if source is not None else FakeSource(),
        l2=l2,
        clock=clock if clock is not None else FakeClock(),
    )


class RecordingMapping(MutableMapping[str, CacheEntry | None]):
    """A mapping, as a Faust table is one, that counts writes (sets and deletes): L1 reads must
    never write (the changelog). *data* is what it holds, to change without counting."""

    def __init__(self) -> None:
        self.data: dict[str, CacheEntry | None] = {}
        self.writes = 0

    def __getitem__(self, key: str) -> CacheEntry | None:
        return self.data[key]

    def __setitem__(self, key: str, value: CacheEntry | None) -> None:
        self.writes += 1
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]
        self.writes += 1

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


# Static checks: the fakes satisfy the Protocols (mypy verifies these assignments).
_source: Source = FakeSource()
_l2: L2 = FakeL2()
_l1: L1 = TableL1({}, 10)
_outbox: Outbox = FakeOutbox()
_ownership: Ownership = FakeOwnership(set())
_event: InboundEvent = FakeEvent(b"{}")


def _faust_event_is_inbound(event: EventT[bytes]) -> InboundEvent:
    return event  # what Faust hands the agents satisfies the Protocol the handlers take
