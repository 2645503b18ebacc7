"""Wire models: strict parsing, one error type, key normalization."""

from __future__ import annotations

import contextlib
import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warmline.errors import InvalidMessage
from warmline.models import (
    CacheEntry,
    CallStarted,
    CustomerChanged,
    DeadLetter,
    KeyKind,
    LookupReply,
    LookupRequest,
    LookupStatus,
    normalize,
    parse,
    parse_key,
)
from warmline.models.dlq import MAX_ORIGINAL_BYTES

from ..fakes import customer

GOOD = {"request_id": "r-1", "by": "phone", "value": "(415) 555-0123"}


def test_lookup_request_parses_with_defaults() -> None:
    req = parse(LookupRequest, orjson.dumps(GOOD))
    assert req.request_id == "r-1"
    assert req.reply_to is None
    assert str(req.lookup_key("US")) == "phone:+14155550123"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({**GOOD, "by": "fax"}, "by"),
        ({"by": "phone", "value": "1"}, "request_id"),
        ({**GOOD, "value": "x" * 400}, "value"),
        ({**GOOD, "request_id": 5}, "request_id"),
        ({**GOOD, "surprise": True}, "surprise"),
        ({**GOOD, "reply_to": "bad topic!"}, "reply_to"),
        ({**GOOD, "timeout_ms": -1}, "timeout_ms"),
    ],
)
def test_lookup_request_rejects_bad_fields(body: dict[str, object], needle: str) -> None:
    with pytest.raises(InvalidMessage) as err:
        parse(LookupRequest, orjson.dumps(body))
    assert needle in err.value.reason


@pytest.mark.parametrize("raw", [b"", b"not json", b'{"request_id": "r-1", "by": "ph', b"[1,2]", b"\xff\xfe", b"null"])
def test_garbage_bytes_raise_invalid_message(raw: bytes) -> None:
    with pytest.raises(InvalidMessage):
        parse(LookupRequest, raw)


def test_oversized_message_is_refused_before_parsing() -> None:
    raw = orjson.dumps({**GOOD, "value": "1" * 200_000})
    with pytest.raises(InvalidMessage, match="exceeds"):
        parse(LookupRequest, raw)


def test_none_is_an_invalid_message() -> None:
    with pytest.raises(InvalidMessage, match="empty"):
        parse(CallStarted, None)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_invalid_message(raw: bytes) -> None:
    for model in (LookupRequest, CallStarted, CustomerChanged):
        with contextlib.suppress(InvalidMessage):
            parse(model, raw)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["request_id", "by", "value", "reply_to", "timeout_ms", "x"]),
        st.one_of(st.text(max_size=30), st.integers(), st.none(), st.booleans(), st.floats()),
    )
)
def test_arbitrary_json_objects_only_ever_raise_invalid_message(obj: dict[str, object]) -> None:
    try:
        req = parse(LookupRequest, json.dumps(obj).encode())  # stdlib: also writes NaN and huge ints
    except InvalidMessage:
        return
    with contextlib.suppress(InvalidMessage):
        req.lookup_key("US")


@pytest.mark.parametrize(
    ("by", "value", "expected"),
    [
        ("phone", "(415) 555-0123", "phone:+14155550123"),
        ("phone", "+44 20 7946 0958", "phone:+442079460958"),
        ("phone", "011 44 20 7946 0958", "phone:+442079460958"),
        ("email", "  Ada@Example.COM ", "email:ada@example.com"),
        ("customer_id", "  C-000123 ", "customer_id:C-000123"),
    ],
)
def test_normalize(by: str, value: str, expected: str) -> None:
    assert str(normalize(by, value, "US")) == expected


@pytest.mark.parametrize(
    ("by", "value"),
    [
        ("phone", "12"),
        ("phone", "hello"),
        ("email", "no-at.example"),
        ("email", "a@b"),
        ("customer_id", "a b"),
        ("customer_id", " "),
        ("fax", "1"),
    ],
)
def test_normalize_rejects(by: str, value: str) -> None:
    with pytest.raises(InvalidMessage):
        normalize(by, value, "US")


def test_default_region_applies_to_national_numbers() -> None:
    assert normalize("phone", "030 1234567", "DE").value == "+49301234567"


def test_parse_key_round_trips_and_redacts() -> None:
    key = parse_key("email:Ada@Example.com")
    assert key.kind is KeyKind.EMAIL
    assert parse_key(str(key)) == key
    assert "ada" not in key.redacted
    with pytest.raises(InvalidMessage):
        parse_key("no-colon")


def test_call_started_prefers_customer_id() -> None:
    call = parse(CallStarted, orjson.dumps({"call_id": "c", "caller": "4155550123", "customer_id": "C-9"}))
    assert str(call.lookup_key("US")) == "customer_id:C-9"
    call = parse(
        CallStarted, orjson.dumps({"call_id": "c", "caller": "4155550123", "started_at": "2026-11-25T10:00:00Z"})
    )
    assert str(call.lookup_key("US")) == "phone:+14155550123"


def test_cache_entry_round_trip_and_rejects() -> None:
    entry = CacheEntry.of(customer(), fetched_at=10.0, expires_at=20.0, matches=2)
    assert CacheEntry.from_bytes(entry.to_bytes()) == entry
    negative = CacheEntry.of(None, 1.0, 2.0, 0)
    assert not CacheEntry.from_bytes(negative.to_bytes()).found
    for bad in (
        b"nope",
        b"{}",
        orjson.dumps({**entry.to_dict(), "v": 99}),
        orjson.dumps({**entry.to_dict(), "customer": {"x": 1}}),
    ):
        with pytest.raises(InvalidMessage):
            CacheEntry.from_bytes(bad)


def test_dead_letter_caps_the_original() -> None:
    letter = DeadLetter.build("too big", "lookup-request", b"x" * (MAX_ORIGINAL_BYTES + 10), 3, 42)
    assert letter.truncated and letter.original_size == MAX_ORIGINAL_BYTES + 10
    assert parse(DeadLetter, letter.to_json()) == letter


def test_reply_json_shape() -> None:
    reply = LookupReply(request_id="r", status=LookupStatus.NOT_FOUND)
    data = orjson.loads(reply.to_json())
    assert set(data) == {"request_id", "status", "source", "customer", "matches", "age_s", "stale", "took_ms", "error"}
    assert data["status"] == "not_found"


def test_answer_json_is_the_reply_json() -> None:
    from warmline.models import Answer, CacheTier

    entry = CacheEntry.of(customer(), 1.0, 2.0)
    answer = Answer(LookupStatus.OK, "r", CacheTier.L1, entry.customer_json, 1, 3.5, False, 0.01, None)
    assert parse(LookupReply, answer.to_json()) == answer.to_reply()
    assert list(orjson.loads(answer.to_json())) == list(LookupReply.model_fields)  # every field, in order
    assert answer.to_reply().customer == customer()
    empty = Answer(LookupStatus.TIMEOUT, error="late")
    assert parse(LookupReply, empty.to_json()) == LookupReply(status=LookupStatus.TIMEOUT, error="late")
