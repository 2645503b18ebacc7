"""The hostile flood: sending harness.hostile's messages, and the tally of what came back for them.

docs/faults.md, "Hostile messages", has what each must get and how the run checks it.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from harness.hostile import HOSTILE_ID, Headers, Hostile
from harness.kafka import from_start
from harness.pacing import open_loop

#: Tenths of a second of hostile messages the driver may have sent and not seen confirmed (5 s).
MAX_UNCONFIRMED_TENTHS = 50
PLACEMENT_SEED = 20261127


@dataclass
class Tally:
    """What came back for the hostile messages."""

    sent: dict[tuple[str, int, int], Hostile] = field(default_factory=dict)  # (topic, partition, offset)
    by_id: dict[int, Hostile] = field(default_factory=dict)
    replies: Counter[int] = field(default_factory=Counter)
    reply_status: Counter[str] = field(default_factory=Counter)
    dead: Counter[tuple[str, int, int]] = field(default_factory=Counter)
    letter_metadata: list[str] = field(default_factory=list)  # a line per dead letter, for the leak scan
    unmatched_replies: int = 0

    def take_reply(self, body: Any, headers: Headers) -> None:
        rid = body.get("request_id") if isinstance(body, dict) else None
        found = HOSTILE_ID.match(rid.encode()) if isinstance(rid, str) else None
        if found is None:
            corr = dict(headers).get("kafka_correlationId")
            found = HOSTILE_ID.match(corr) if corr else None
        if found is None:
            self.unmatched_replies += 1
            return
        self.replies[int(found.group(1))] += 1
        self.reply_status[str(body.get("status"))] += 1

    def take_letter(self, record: Any) -> None:
        """Count a DLQ record by the (topic, partition, offset) it names; keep its metadata for the leak scan."""
        letter = orjson.loads(record.value or b"{}")
        self.dead[(letter.get("topic"), letter.get("partition"), letter.get("offset"))] += 1
        self.letter_metadata.append(metadata_line(letter, record.headers))

    def report(self) -> dict[str, Any]:
        items = list(self.by_id.values())
        dlq_expected = {k for k, h in self.sent.items() if h.expect_dlq}
        dlq_got = set(self.dead)
        reply_expected = {h.n for h in items if h.expect_reply}
        missing_dlq = dlq_expected - dlq_got
        missing_reply = reply_expected - set(self.replies)
        return {
            "sent": len(items),
            "sent_by_topic": dict(Counter(h.topic for h in items)),
            "sent_by_mutation": dict(Counter(h.mutation for h in items)),
            "expected_dead_letters": len(dlq_expected),
            "dead_letters": sum(self.dead.values()),
            "dead_letters_missing": len(missing_dlq),
            "dead_letters_unexpected": len(dlq_got - dlq_expected),
            "dead_letters_duplicated": sum(c - 1 for c in self.dead.values() if c > 1),
            "expected_replies": len(reply_expected),
            "replies": sum(self.replies.values()),
            "replies_missing": len(missing_reply),
            "replies_unexpected": len(set(self.replies) - reply_expected),
            "replies_duplicated": sum(c - 1 for c in self.replies.values() if c > 1),
            "reply_status": dict(self.reply_status),
            "neither_answered_nor_dead_lettered": sum(
                1
                for k, h in self.sent.items()
                if k not in dlq_got and h.n not in self.replies and (h.expect_dlq or h.expect_reply)
            ),
            "examples_missing_dlq": [
                {"n": self.sent[k].n, "topic": k[0], "mutation": self.sent[k].mutation}
                for k in sorted(missing_dlq)[:10]
            ],
            "examples_unexpected_dlq": [
                {"n": self.sent[k].n, "topic": k[0], "mutation": self.sent[k].mutation}
                for k in sorted(dlq_got - dlq_expected, key=str)[:10]
                if k in self.sent
            ],
            "examples_missing_reply": [
                {"n": n, "mutation": self.by_id[n].mutation} for n in sorted(missing_reply)[:10]
            ],
        }


async def send_all(
    bootstrap: str,
    topics: dict[str, str],
    items: list[Hostile],
    tally: Tally,
    rate: float,
    budget_s: float,
    sticky: bool = True,
) -> None:
    """Produce *items* (unkeyed) at about *rate* per second, a tenth of a second's at a time, for at most
    *budget_s*; record each one's (topic, partition, offset). Batched (linger 5 ms): Tansu's offsets of
    batched records are right, only its end offsets are not, and nothing here reads those (docs/faults.md).

    *sticky*: a tenth's messages of a topic go to one partition drawn at random, as the Java client and
    librdkafka place unkeyed records; otherwise each its own random partition (aiokafka's default).
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_request_size=2 * 1024 * 1024)
    await producer.start()
    loop = asyncio.get_running_loop()
    unconfirmed: list[asyncio.Task[None]] = []  # tenths handed to the producer, their offsets not back yet

    async def record(part: list[Hostile], futures: list[asyncio.Future[Any]]) -> None:
        for h, meta in zip(part, await asyncio.gather(*futures), strict=True):
            tally.sent[(topics[h.topic], meta.partition, meta.offset)] = h
            tally.by_id[h.n] = h

    try:
        counts = {name: len(await producer.partitions_for(name)) for name in sorted({topics[h.topic] for h in items})}
        placement = random.Random(PLACEMENT_SEED)  # reproducible test data
        chunk = max(1, int(rate / 10))
        stop_at = loop.time() + budget_s
        async for k in open_loop(rate / chunk, count=len(range(0, len(items), chunk))):
            if loop.time() > stop_at:
                break
            part = items[k * chunk : (k + 1) * chunk]
            sticky_to = {name: placement.randrange(n) for name, n in counts.items()}
            futures = [
                await producer.send(
                    topics[h.topic],
                    h.value,
                    key=b"tombstone" if h.value is None else None,  # Kafka wants a key or a value
                    headers=list(h.headers) or None,
                    partition=sticky_to[topics[h.topic]] if sticky else None,
                )
                for h in part
            ]
            # Open loop: the next tenth goes out on schedule while this one's offsets come back,
            # up to MAX_UNCONFIRMED_TENTHS behind (then the broker's pace is the driver's).
            unconfirmed.append(asyncio.create_task(record(part, futures)))
            if len(unconfirmed) > MAX_UNCONFIRMED_TENTHS:
                await unconfirmed.pop(0)
        await asyncio.gather(*unconfirmed)  # a send that failed fails the run
    finally:
        await producer.stop()  # flushes what was handed over, so every recording task can finish
        await asyncio.gather(*unconfirmed, return_exceptions=True)


def last_offsets(tally: Tally) -> dict[str, int]:
    """Per input partition, the offset after the last hostile message sent to it ("topic[p]")."""
    ends: dict[str, int] = {}
    for topic, partition, offset in tally.sent:
        name = f"{topic}[{partition}]"
        ends[name] = max(ends.get(name, 0), offset + 1)
    return ends


def metadata_line(letter: dict[str, Any], headers: Any) -> str:
    """A dead letter's fields and headers as decoded text on one line, for the leak scan; not its payload (kept by
    design, docs/protocol.md). Joined by " | ": by spaces, a timestamp's digits ran on into the next field's."""
    fields = [f"{name}={value}" for name, value in letter.items() if name != "original_b64"]
    fields += [f"{name}={value.decode(errors='replace')}" for name, value in headers or ()]
    return " | ".join(fields).replace("\n", " ").replace("\r", " ")


async def reread_dead_letters(
    bootstrap: str, topic: str, partitions: int, quiet_s: float = 5.0, max_s: float = 20.0
) -> tuple[set[Any], bool]:
    """The (topic, partition, offset) every DLQ record names, read again from the beginning by a fresh
    consumer: tells a dead letter the live reader missed from one that is not on the broker.

    Reads until nothing new arrived for *quiet_s* after the first record, or *max_s* in all; the
    flag says whether it stopped because it was quiet (False: cut short, the set may be partial).
    """
    named: set[Any] = set()
    loop = asyncio.get_running_loop()
    start = last_new = loop.time()
    async with from_start(bootstrap, [topic], partitions) as consumer:
        while loop.time() - start < max_s:
            if named and loop.time() - last_new >= quiet_s:
                return named, True
            for records in (await consumer.getmany(timeout_ms=200)).values():
                last_new = loop.time()
                for record in records:
                    letter = orjson.loads(record.value or b"{}")
                    named.add((letter.get("topic"), letter.get("partition"), letter.get("offset")))
    return named, False
