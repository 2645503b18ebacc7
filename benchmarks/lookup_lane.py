"""A plain aiokafka client's unkeyed L1-hit lookups against a bare two-hop aiokafka echo, same broker, interleaved.

The floor is produce → an aiokafka echo (its consumer fetching one partition, 5 ms fetch wait)
→ a second topic → the client reads it back: what a request→reply costs on the broker with
nothing but two hops. The worker's own Faust consumer fetches every input partition at once (48
at 8 partitions); with the lookup lane's consumer (``WARMLINE_LOOKUP_LANE_CONSUMER``) lookups
are fetched by a consumer of their own (16 partitions: lookup-request and its repartition
topic). A diagnostic row gives the echo's cost when its consumer fetches 48 partitions, one busy.
"""

from __future__ import annotations

import time
import uuid

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from warmline.commands.embedded_broker import create_topics

from .serving import EchoFloor
from .stack import BenchStack
from .stats import Result, p99_against_floor

IDS = [f"C-{i:06d}" for i in range(1, 51)]


class UnkeyedClient:
    """Unkeyed lookup requests from a plain aiokafka producer; replies read from a topic of its own."""

    def __init__(self, bootstrap: str, request_topic: str) -> None:
        self.bootstrap, self.request_topic = bootstrap, request_topic
        self.reply_topic = f"aio-replies-{uuid.uuid4().hex[:6]}"

    async def __aenter__(self) -> UnkeyedClient:
        await create_topics(self.bootstrap, [self.reply_topic], 1)
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=0)
        self.replies = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, fetch_max_wait_ms=5)
        await self.producer.start()
        await self.replies.start()
        tp = TopicPartition(self.reply_topic, 0)
        self.replies.assign([tp])
        await self.replies.seek_to_end(tp)
        await self.replies.position(tp)
        return self

    async def lookup(self, cid: str) -> dict[str, object]:
        """One request, unkeyed (aiokafka picks the partition), and its reply."""
        rid = uuid.uuid4().hex
        body = {"request_id": rid, "by": "customer_id", "value": cid, "reply_to": self.reply_topic}
        await self.producer.send(self.request_topic, orjson.dumps(body))
        while True:
            for records in (await self.replies.getmany(timeout_ms=1000)).values():
                for r in records:
                    reply: dict[str, object] = orjson.loads(r.value)
                    if reply.get("request_id") == rid:
                        return reply

    async def __aexit__(self, *exc: object) -> None:
        await self.replies.stop()
        await self.producer.stop()


async def _warm(url: str) -> None:
    async with aiohttp.ClientSession() as s:
        body = {"lookups": [{"by": "customer_id", "value": c} for c in IDS], "concurrency": 50}
        async with s.post(f"{url}/v1/lookup/batch", json=body) as resp:
            assert resp.status == 200


async def unkeyed_vs_echo(stack: BenchStack, n: int, label: str = "", bound: float = 1.3) -> list[Result]:
    """Unkeyed L1 hits from a plain aiokafka client vs the bare two-hop echo, one sample of each in turn."""
    await _warm(stack.url)
    floor, ours = [], []
    async with (
        EchoFloor(stack.tansu.bootstrap) as echo,
        UnkeyedClient(stack.tansu.bootstrap, stack.topics["lookup_request"]) as client,
    ):
        for i in range(20):  # settle connections
            await echo.round_trip()
            await client.lookup(IDS[i % len(IDS)])
        for i in range(n):
            floor.append(await echo.round_trip())
            t0 = time.perf_counter()
            reply = await client.lookup(IDS[i % len(IDS)])
            ours.append(time.perf_counter() - t0)
            assert reply["source"] == "l1", reply
    return p99_against_floor(
        f"bare two-hop aiokafka echo, one partition fetched (floor){label}",
        f"Kafka request→reply, L1 hit, unkeyed, plain aiokafka client{label}",
        floor,
        ours,
        bound,
    )


async def echo_width(stack: BenchStack, n: int, wide: int = 48) -> list[Result]:
    """Diagnostic: the bare echo whose consumer fetches 1 partition vs *wide* (one busy), interleaved."""
    narrow_s, wide_s = [], []
    async with EchoFloor(stack.tansu.bootstrap) as narrow, EchoFloor(stack.tansu.bootstrap, wide - 1) as broad:
        for _ in range(20):
            await narrow.round_trip()
            await broad.round_trip()
        for _ in range(n):
            narrow_s.append(await narrow.round_trip())
            wide_s.append(await broad.round_trip())
    rows = p99_against_floor(
        "bare two-hop aiokafka echo, one partition fetched (diagnostic floor)",
        f"bare two-hop aiokafka echo, {wide} partitions fetched, one busy (diagnostic)",
        narrow_s,
        wide_s,
        float("inf"),
    )
    rows[1].target, rows[1].met = "diagnostic", None
    return rows


async def lookup_lane(stack: BenchStack, n: int) -> list[Result]:
    """The unkeyed rows with the lookup lane's consumer on (the default) and off, then the width diagnostic."""
    results = await unkeyed_vs_echo(stack, n)
    await stack.restart_worker(WARMLINE_LOOKUP_LANE_CONSUMER="false")
    results += await unkeyed_vs_echo(stack, n, label=", lookup lane consumer off")
    await stack.restart_worker(WARMLINE_LOOKUP_LANE_CONSUMER="true")
    results += await echo_width(stack, n)
    return results
