"""Hostile messages: seeded mutations of valid ones for the three input topics, what each must get, their tally.

Whether a message is valid is decided here as it is made, from the wire contract as docs/protocol.md
states it (``CONTRACT``, ``conforms``), never by asking warmline's parser: a parser that accepted bad
input fails the run instead of agreeing with itself. docs/faults.md, "Hostile messages", has the rest.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from harness.kafka import from_start
from harness.pacing import open_loop

Headers = list[tuple[str, bytes]]
HOSTILE_ID = re.compile(rb"^h-(\d+)")
#: Tenths of a second of hostile messages the driver may have sent and not seen confirmed (5 s).
MAX_UNCONFIRMED_TENTHS = 50
PLACEMENT_SEED = 20261127
#: docs/protocol.md: "Messages over 64 KiB, non-JSON, or JSON of the wrong shape go to lookup-dlq".
MAX_MESSAGE_BYTES = 64 * 1024

#: Mutation → weight; the huge ones are rare so 100k messages stay a few hundred MB.
MUTATIONS: dict[str, float] = {
    "wrong_type": 12,
    "huge_string": 6,
    "deep_nesting": 8,
    "invalid_utf8": 10,
    "nul_bytes": 10,
    "numbers_as_strings": 10,
    "one_mb_value": 0.1,
    "duplicate_keys": 10,
    "bad_headers": 10,
    "truncated": 8,
    "unknown_field": 6,
    "empty_or_null": 3,
    "not_an_object": 5,
}


@dataclass
class Hostile:
    """One generated message and what the run expects of it."""

    n: int
    topic: str  # lookup_request | call_started | customer_changed
    mutation: str
    value: bytes | None
    headers: Headers
    expect_dlq: bool = False
    expect_reply: bool = False


def _base(topic: str, n: int, reply_topic: str) -> dict[str, Any]:
    if topic == "lookup_request":
        return {"request_id": f"h-{n}", "by": "customer_id", "value": "C-000123", "reply_to": reply_topic}
    if topic == "call_started":
        return {"call_id": f"h-{n}", "caller": "+14155550123", "customer_id": "C-000123"}
    return {"customer_id": "C-900001"}


def _raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


#: The mutations whose bytes are never a JSON object of the contract's shape, whatever they hit.
BROKEN = frozenset({"deep_nesting", "invalid_utf8", "truncated", "empty_or_null", "not_an_object", "one_mb_value"})


BROKEN_BODY = "\x00broken"  # marks a body whose bytes are not JSON


def _mutate(rng: random.Random, body: dict[str, Any], mutation: str, forbidden: bytes) -> tuple[bytes | None, Headers]:  # noqa: C901  # one branch per mutation reads best
    """The mutated message; *body* is left as the fields a reader would decode (a duplicate key:
    the last occurrence, as JSON parsers take it), or ``BROKEN_BODY`` when the bytes are not JSON."""
    fields = [k for k in body if k != "request_id"] or list(body)
    name = rng.choice(fields)
    if mutation == "wrong_type":
        body[rng.choice(list(body))] = rng.choice([123, 1.5, True, None, [], {"a": 1}, -1])
    elif mutation == "huge_string":
        body[rng.choice(list(body))] = "x" * rng.choice([129, 321, 5_000, 60_000])
    elif mutation == "deep_nesting":
        depth = rng.choice([50, 600, 5_000])
        raw = _raw(body)
        return raw[:-1] + f', "{name}": '.encode() + b"[" * depth + b"]" * depth + b"}", []
    elif mutation == "invalid_utf8":
        raw = _raw(body)
        cut = raw.index(b'"', raw.index(b":") + 3) if rng.random() < 0.5 else len(raw) // 2
        return raw[:cut] + rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]) + raw[cut:], []
    elif mutation == "nul_bytes":
        if rng.random() < 0.5:
            body[name] = str(body[name]) + "\u0000tail"  # an escaped NUL: valid JSON
        else:
            raw = _raw(body)
            at = raw.index(b'"', raw.index(b":")) + 2
            body[BROKEN_BODY] = True
            return raw[:at] + b"\x00" + raw[at:], []  # a raw NUL inside a string: invalid JSON
    elif mutation == "numbers_as_strings":
        if "max_age_s" not in body and "request_id" in body:
            body[rng.choice(["max_age_s", "timeout_ms"])] = rng.choice(["300", "2000", "1e3"])
        else:
            body[name] = rng.choice([123456, 4155550123, 1.0])
    elif mutation == "one_mb_value":
        body[name] = "y" * 1_000_000
    elif mutation == "duplicate_keys":
        raw = _raw(body)
        extra = rng.choice([42, "other", None])
        encoded = f'"{name}": {json.dumps(extra)}'.encode()
        if rng.random() < 0.5:
            return raw[:1] + encoded + b", " + raw[1:], []  # the original, later, counts
        body[name] = extra
        return raw[:-1] + b", " + encoded + b"}", []
    elif mutation == "bad_headers":
        return _raw(body), _bad_headers(rng, body, forbidden)
    elif mutation == "truncated":
        raw = _raw(body)
        return raw[: rng.randrange(1, len(raw) - 1)], []
    elif mutation == "unknown_field":
        body[rng.choice(["extra", "__proto__", "requestId", "💥"])] = rng.choice([1, "x", None])
    elif mutation == "empty_or_null":
        return rng.choice([b"", None, b"null", b"{}"]), []
    elif mutation == "not_an_object":
        return rng.choice([b"[]", b'"text"', b"42", b"true", b"[{}]", b"\x00\x01\x02", b"\xef\xbb\xbf{}"]), []
    return _raw(body), []


def _bad_headers(rng: random.Random, body: dict[str, Any], forbidden: bytes) -> Headers:
    n = str(body.get("request_id", body.get("call_id", "h-x")))
    choice = rng.randrange(6)
    if choice == 0:
        return [("kafka_replyTopic", b"\xff\xfebad")]
    if choice == 1:
        return [("kafka_replyTopic", rng.choice([forbidden, b"__consumer_offsets", b"no spaces allowed"]))]
    if choice == 2:
        return [("kafka_replyPartition", rng.choice([b"\x00\x01", b"", b"\x00\x00\x00\x00\x00"]))]
    if choice == 3:
        return [("kafka_correlationId", n.encode() + b"-" + b"z" * rng.choice([10, 5000]))]
    if choice == 4:
        return [("\xff", b"x"), ("", b""), ("kafka_correlationId", n.encode())]
    return [("kafka_replyPartition", b"\x00\x00\x00\x00"), ("kafka_correlationId", n.encode())] * 2


@dataclass(frozen=True)
class Field:
    """One field of a wire message as docs/protocol.md states it."""

    kind: str  # "str", "enum", "number", "int"
    required: bool = False
    low: int = 0  # shortest string / smallest number
    high: int = 0  # longest string / largest number (0: no bound)
    choices: tuple[str, ...] = ()
    pattern: str = ""


#: The three input messages, field by field (docs/protocol.md and the README's topic table).
CONTRACT: dict[str, dict[str, Field]] = {
    "lookup_request": {
        "request_id": Field("str", True, 1, 128),
        "by": Field("enum", True, choices=("phone", "email", "customer_id")),
        "value": Field("str", True, 1, 320),
        "reply_to": Field("str", False, 1, 249, pattern=r"[A-Za-z0-9._-]+"),
        "max_age_s": Field("number", False, 0),
        "timeout_ms": Field("int", False, 1, 600_000),
    },
    "call_started": {
        "call_id": Field("str", True, 1, 128),
        "caller": Field("str", True, 1, 320),
        "dialed": Field("str", False, 0, 320),
        "queue": Field("str", False, 0, 128),
        "customer_id": Field("str", False, 0, 128),
    },
    "customer_changed": {"customer_id": Field("str", True, 1, 128)},
}


def _field_ok(spec: Field, value: Any) -> bool:
    if value is None:
        return not spec.required  # an optional field may be null
    if spec.kind in ("str", "enum"):
        if not isinstance(value, str):
            return False
        if spec.kind == "enum":
            return value in spec.choices
        fits = spec.low <= len(value) <= spec.high
        return fits and (not spec.pattern or re.fullmatch(spec.pattern, value) is not None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False  # no strings for numbers, no booleans
    if spec.kind == "int" and not isinstance(value, int):
        return False
    return value >= spec.low and (not spec.high or value <= spec.high)


def _customer_id_ok(value: str) -> bool:
    """docs/protocol.md: a customer id is non-empty printable text without spaces."""
    cid = value.strip()
    return bool(cid) and all(c.isprintable() and not c.isspace() for c in cid)


def _phone_ok(value: str) -> bool:
    """A phone as a caller sends it: digits with optional +, spaces, dots, dashes, parentheses; 10–15 digits."""
    digits = re.sub(r"[\s().+-]", "", value)
    return re.fullmatch(r"\+?[\d\s().-]+", value) is not None and digits.isdigit() and 10 <= len(digits) <= 15


def conforms(topic: str, body: dict[str, Any]) -> bool:
    """Whether decoded *body* is a valid message for *topic*: the contract's fields and nothing else,
    and a key warmline can pre-warm or evict (a lookup-request's key is checked later: an invalid
    key gets an ``invalid`` reply, not a dead letter)."""
    spec = CONTRACT[topic]
    if BROKEN_BODY in body or set(body) - set(spec):
        return False
    if any(name not in body for name, f in spec.items() if f.required):
        return False
    if not all(_field_ok(spec[name], value) for name, value in body.items()):
        return False
    if topic == "call_started":
        return _customer_id_ok(body["customer_id"]) if body.get("customer_id") else _phone_ok(body["caller"])
    if topic == "customer_changed":
        return _customer_id_ok(body["customer_id"])
    return True


def _salvageable(value: bytes | None, headers: Headers) -> bool:
    if any(k == "kafka_correlationId" for k, _ in headers):
        return True
    if value is None or len(value) > MAX_MESSAGE_BYTES:
        return False
    try:
        data = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    rid = data.get("request_id") if isinstance(data, dict) else None
    return isinstance(rid, str) and 0 < len(rid) <= 128


def reply_topic_of(value: bytes | None, headers: Headers, default: str) -> str:
    """Where warmline sends the reply of a valid request: the Spring header, reply_to, or *default*."""
    raw = dict(headers).get("kafka_replyTopic")
    try:
        spring = raw.decode() if raw else None
    except UnicodeDecodeError:
        spring = None  # an undecodable header is ignored
    return spring or json.loads(value or b"{}").get("reply_to") or default


def _refused(topic: str, forbidden: str) -> bool:
    """A reply topic warmline refuses: one it reads, an internal one, or a name Kafka rejects."""
    return topic == forbidden or topic.startswith("__") or not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", topic)


def generate(count: int, topics: dict[str, str], seed: int = 20261126) -> Iterator[Hostile]:
    """*count* hostile messages, the same ones for the same *seed* (*topics*: the run's wire topic names)."""
    reply_topic, forbidden = topics["lookup_reply"], topics["call_started"]
    rng = random.Random(seed)  # reproducible test data
    names, weights = list(MUTATIONS), list(MUTATIONS.values())
    for n in range(count):
        topic = rng.choices(["lookup_request", "call_started", "customer_changed"], [2, 1, 1])[0]
        mutation = rng.choices(names, weights)[0]
        body = _base(topic, n, reply_topic)
        value, headers = _mutate(rng, body, mutation, forbidden.encode())
        item = Hostile(n, topic, mutation, value, headers)
        fits = value is not None and len(value) <= MAX_MESSAGE_BYTES
        valid = fits and mutation not in BROKEN and conforms(topic, body)
        if topic == "lookup_request":
            refused = valid and _refused(reply_topic_of(value, headers, reply_topic), forbidden)
            item.expect_dlq = not valid or refused
            item.expect_reply = valid or _salvageable(value, headers)
        else:
            item.expect_dlq = not valid
        yield item


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
