"""Steady load over Kafka and HTTP, with every request and every reply written down in a Ledger."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from harness.kafka import Record, TopicReader
from harness.pacing import open_loop

from .hostile import Tally

logger = logging.getLogger(__name__)

#: A request without a reply after this long is lost.
LOST_AFTER_S = 30.0
#: Known ("hot") customer ids: warmed before the faults start, so every fault tests serving from cache.
HOT_KEYS = [f"C-{i:06d}" for i in range(1, 401)]


@dataclass
class Sent:
    """One lookup: when it was sent, how, and what came back."""

    rid: str
    channel: str  # kafka | http
    t: float
    hot: bool
    worker: int | None = None  # the HTTP target
    t_reply: float | None = None
    status: str | None = None
    replies: int = 0
    not_sent: bool = False  # the client could not hand it to the broker within LOST_AFTER_S
    where: tuple[int, int] | None = None  # a Kafka request's (partition, offset) on the request topic


@dataclass
class Ledger:
    """Every lookup of the run by request id; times are seconds since *t0* (monotonic)."""

    t0: float = field(default_factory=time.monotonic)
    sent: dict[str, Sent] = field(default_factory=dict)
    foreign_replies: int = 0

    def now(self) -> float:
        return time.monotonic() - self.t0

    def add(self, rid: str, channel: str, hot: bool, worker: int | None = None) -> Sent:
        entry = Sent(rid, channel, self.now(), hot, worker)
        self.sent[rid] = entry
        return entry

    def reply(self, rid: str, status: str) -> None:
        entry = self.sent.get(rid)
        if entry is None:
            self.foreign_replies += 1
            return
        entry.replies += 1
        if entry.replies == 1:
            entry.t_reply = self.now()
            entry.status = status

    def pending(self) -> int:
        return sum(1 for s in self.sent.values() if s.replies == 0 and not s.not_sent)


def read_replies(bootstrap: str, topics: list[str], partitions: int, ledger: Ledger, hostile: Tally) -> TopicReader:
    """Reads the run's reply topics from their beginning: a reply to the ledger, a hostile one to the tally."""

    def take(record: Record) -> None:
        try:
            body = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError:
            ledger.foreign_replies += 1
            return
        rid = body.get("request_id") if isinstance(body, dict) else None
        if isinstance(rid, str) and not rid.startswith("h-"):
            ledger.reply(rid, str(body.get("status")))
        else:
            hostile.take_reply(body, list(record.headers or ()))

    return TopicReader(bootstrap, topics, take, partitions, request_timeout_ms=10_000)


@dataclass
class Rates:
    """Offered load per second: the default is what the 2-core machine sustains while shared (docs/faults.md)."""

    kafka: float = 40.0
    http: float = 20.0
    calls: float = 5.0
    cold_share: float = 0.1  # lookups of keys never seen before (a source call each)
    # Lookups of keys only L2 holds (the run wrote them there; no worker has asked for them), each asked
    # once, Kafka and HTTP in turn: an answer from L2 or, while L2 is away, from the source (redis_ha.py).
    l2_only: float = 0.0


class LoadGenerator:
    """Open-loop load: requests are sent on schedule whether or not earlier ones were answered."""

    def __init__(
        self,
        bootstrap: str,
        topics: dict[str, str],
        worker_urls: Sequence[str],
        ledger: Ledger,
        rates: Rates,
        api_token: str,
        l2_only_keys: Sequence[str] = (),
    ) -> None:
        self.api_token = api_token
        self.topics = topics
        self.worker_urls = list(worker_urls)
        self.ledger = ledger
        self.rates = rates
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, linger_ms=0, max_batch_size=1, request_timeout_ms=int(LOST_AFTER_S * 1000)
        )
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._cold = itertools.count(500_000)
        self._rr = itertools.count()
        self._rng = random.Random(11)  # load mix, not security
        self._l2_only = iter(l2_only_keys)
        self._l2_only_turn = itertools.count()

    async def start(self) -> None:
        await self.producer.start()
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=LOST_AFTER_S), headers={"Authorization": f"Bearer {self.api_token}"}
        )

    def run(self) -> None:
        """Start the paced loops."""
        self._tasks = [
            asyncio.create_task(self._paced(self.rates.kafka, lambda: self._kafka_lookup(*self._key()))),
            asyncio.create_task(self._paced(self.rates.http, lambda: self._http_lookup(*self._key()))),
            asyncio.create_task(self._paced(self.rates.calls, self._call_one)),
            asyncio.create_task(self._paced(self.rates.l2_only, self._l2_only_one)),
        ]

    async def pause(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def stop(self) -> None:
        await self.pause()
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=LOST_AFTER_S + 5)
        for task in list(self._inflight):
            task.cancel()
        if self._session is not None:
            await self._session.close()
        await self.producer.stop()

    def _key(self) -> tuple[str, bool]:
        if self._rng.random() < self.rates.cold_share:
            return f"C-{next(self._cold):06d}", False
        return self._rng.choice(HOT_KEYS), True

    async def _paced(self, rate: float, one: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if rate <= 0:
            return
        async for _ in open_loop(rate):
            task = asyncio.create_task(one())
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _produce(self, topic: str, value: bytes) -> tuple[int, int] | None:
        """Hand *value* to the broker, retrying through an outage for LOST_AFTER_S: where it went, or None."""
        deadline = time.monotonic() + LOST_AFTER_S
        while time.monotonic() < deadline:
            try:
                meta = await asyncio.wait_for(self.producer.send_and_wait(topic, value), deadline - time.monotonic())
                return meta.partition, meta.offset
            except (KafkaError, TimeoutError) as e:
                logger.info("produce to %s: %r; retrying", topic, e)
                await asyncio.sleep(0.2)
        return None

    async def _kafka_lookup(self, value: str, hot: bool) -> None:
        rid = f"k{uuid.uuid4().hex[:16]}"
        entry = self.ledger.add(rid, "kafka", hot)
        body = {"request_id": rid, "by": "customer_id", "value": value, "timeout_ms": 2000}
        entry.where = await self._produce(self.topics["lookup_request"], orjson.dumps(body))
        entry.not_sent = entry.where is None

    async def _l2_only_one(self) -> None:
        value = next(self._l2_only, None)
        if value is None:
            logger.warning("the L2-only keys are used up")
            return
        lookup = self._kafka_lookup if next(self._l2_only_turn) % 2 else self._http_lookup
        await lookup(value, True)

    async def _http_lookup(self, value: str, hot: bool) -> None:
        rid = f"w{uuid.uuid4().hex[:16]}"
        first = next(self._rr) % len(self.worker_urls)
        self.ledger.add(rid, "http", hot, worker=first)
        assert self._session is not None
        for attempt in range(2):  # a load balancer's one retry on another worker when a connection fails
            url = self.worker_urls[(first + attempt) % len(self.worker_urls)]
            try:
                async with self._session.get(
                    f"{url}/v1/lookup", params={"customer_id": value}, headers={"X-Request-ID": rid}
                ) as resp:
                    raw = await resp.read()
            except aiohttp.ClientConnectionError:
                continue
            except TimeoutError:
                return  # no answer within LOST_AFTER_S: lost
            try:
                status = str(orjson.loads(raw).get("status"))
            except (orjson.JSONDecodeError, AttributeError):
                status = f"http_{resp.status}"
            self.ledger.reply(rid, status)
            return

    async def _call_one(self) -> None:
        n = next(self._cold)
        body = {"call_id": uuid.uuid4().hex, "caller": f"+1415{n:07d}", "customer_id": f"C-{n:06d}"}
        await self._produce(self.topics["call_started"], orjson.dumps(body))
