"""Hostile messages for the three input topics: seeded mutations of valid ones, each labelled as it is made.

Whether a message is valid is decided here, from the wire contract as docs/protocol.md states it
(``CONTRACT``, ``conforms``), never by asking warmline's parser (this module imports nothing of
warmline's): a parser that accepted bad input fails the fault suite's flood and
tests/unit/test_contract_oracle.py instead of agreeing with itself. docs/faults.md, "Hostile
messages", has the rest.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Headers = list[tuple[str, bytes]]
#: The request id (and correlation id) every generated message carries: h-<n>.
HOSTILE_ID = re.compile(rb"^h-(\d+)")
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


def refused_reply_topic(topic: str, forbidden: str) -> bool:
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
            refused = valid and refused_reply_topic(reply_topic_of(value, headers, reply_topic), forbidden)
            item.expect_dlq = not valid or refused
            item.expect_reply = valid or _salvageable(value, headers)
        else:
            item.expect_dlq = not valid
        yield item
