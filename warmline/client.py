"""LookupClient: the Kafka request/reply protocol of docs/protocol.md over plain aiokafka (no Faust)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from types import TracebackType
from typing import Self

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from .errors import InvalidMessage
from .models import LookupReply, LookupStatus, normalize, parse
from .settings import TOPIC_LOOKUP_REPLY, TOPIC_LOOKUP_REQUEST
from .stream.security import KafkaConnection

logger = logging.getLogger(__name__)


class LookupClient:
    """Sends LookupRequests and matches LookupReplies by request_id.

    The client reads every partition of its reply topic from the end (no consumer group), so
    give each client process its own ``reply_topic`` when many clients share a cluster.
    """

    def __init__(
        self,
        bootstrap: str | KafkaConnection,
        *,
        request_topic: str = TOPIC_LOOKUP_REQUEST,
        reply_topic: str = TOPIC_LOOKUP_REPLY,
        region: str = "US",
        fetch_max_wait_ms: int = 500,
    ) -> None:
        self._connection = KafkaConnection.of(bootstrap)
        self._request_topic = request_topic
        self.reply_topic = reply_topic
        self._region = region
        self._fetch_wait_ms = fetch_max_wait_ms
        self._pending: dict[str, asyncio.Future[LookupReply]] = {}
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect, and position the reply reader at the end of the reply topic."""
        self._producer = AIOKafkaProducer(**self._connection.kwargs(), linger_ms=0)
        self._consumer = AIOKafkaConsumer(
            **self._connection.kwargs(), enable_auto_commit=False, fetch_max_wait_ms=self._fetch_wait_ms
        )
        await self._producer.start()
        await self._consumer.start()
        partitions = await self._reply_partitions()
        tps = [TopicPartition(self.reply_topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:  # resolve positions now: a reply may arrive before the first fetch
            await self._consumer.position(tp)
        self._reader = asyncio.create_task(self._read_replies(), name="warmline-client-replies")

    def _started(self) -> tuple[AIOKafkaProducer, AIOKafkaConsumer]:
        if self._producer is None or self._consumer is None:
            raise RuntimeError("LookupClient is not started: use `async with LookupClient(...)` or call start()")
        return self._producer, self._consumer

    async def _reply_partitions(self) -> set[int]:
        _, consumer = self._started()
        for _ in range(50):
            partitions = consumer.partitions_for_topic(self.reply_topic)
            if partitions:
                return set(partitions)
            await consumer.topics()  # refresh metadata (and let auto-creation happen)
            await asyncio.sleep(0.1)
        raise RuntimeError(f"reply topic {self.reply_topic!r} does not exist")

    async def stop(self) -> None:
        """Cancel pending lookups and disconnect."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for future in self._pending.values():
            future.cancel()
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    async def _read_replies(self) -> None:
        _, consumer = self._started()
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    self._received(record)

    def _received(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """One record of the reply topic (a subclass may also note its metadata, e.g. timestamps)."""
        self._dispatch(record.value)

    def _dispatch(self, raw: bytes | None) -> None:
        try:
            reply = parse(LookupReply, raw)
        except InvalidMessage as e:
            logger.warning("ignoring unparseable reply: %s", e.reason)
            return
        future = self._pending.get(reply.request_id or "")
        if future is not None and not future.done():
            future.set_result(reply)

    async def lookup(
        self,
        by: str,
        value: str,
        *,
        timeout_ms: int = 5000,
        max_age_s: float | None = None,
        request_id: str | None = None,
    ) -> LookupReply:
        """One lookup; a missing reply becomes a ``timeout`` reply, never an exception."""
        producer, _ = self._started()
        rid = request_id or uuid.uuid4().hex
        try:
            key: bytes | None = str(normalize(by, value, self._region)).encode()
        except InvalidMessage:
            key = None  # the worker answers `invalid` with its reason
        body: dict[str, object] = {
            "request_id": rid,
            "reply_to": self.reply_topic,
            "by": by,
            "value": value,
            "timeout_ms": timeout_ms,
        }
        if max_age_s is not None:
            body["max_age_s"] = max_age_s
        future: asyncio.Future[LookupReply] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        started = time.perf_counter()
        try:
            await producer.send(self._request_topic, orjson.dumps(body), key=key)
            async with asyncio.timeout(timeout_ms / 1000 + 0.5):  # the worker's own timeout reply comes first
                return await future
        except TimeoutError:
            took = (time.perf_counter() - started) * 1000
            return LookupReply(request_id=rid, status=LookupStatus.TIMEOUT, error="no reply", took_ms=round(took, 3))
        finally:
            self._pending.pop(rid, None)
