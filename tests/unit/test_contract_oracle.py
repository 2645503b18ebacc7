"""harness/hostile.py labels each message it makes from the documented contract; warmline's parser agrees.

The generator must not ask warmline which messages are valid (it would then test routing, not
validation); this test is where the two meet: every label the generator makes is compared with
warmline's parse and key normalization, so a parser that accepted what the contract refuses (or
refused what it allows) fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import BaseModel

from harness import hostile
from warmline.errors import InvalidMessage
from warmline.models import CallStarted, CustomerChanged, KeyKind, LookupRequest, normalize, parse

TOPICS = {"lookup_reply": "lookup-reply", "call_started": "call-started"}
MODELS: dict[str, type[BaseModel]] = {
    "lookup_request": LookupRequest,
    "call_started": CallStarted,
    "customer_changed": CustomerChanged,
}


def _warmline_accepts(topic: str, value: bytes | None) -> bool:
    try:
        model = parse(MODELS[topic], value)
        if isinstance(model, CallStarted):
            model.lookup_key("US")
        if isinstance(model, CustomerChanged):
            normalize(KeyKind.CUSTOMER_ID, model.customer_id, "US")
    except InvalidMessage:
        return False
    return True


def test_the_generator_does_not_import_warmline() -> None:
    tree = ast.parse(Path(hostile.__file__).read_text())
    modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if m.split(".")[0] == "warmline"]


def test_every_label_matches_warmline_s_parser() -> None:
    items = list(hostile.generate(3_000, TOPICS))
    disagreements = []
    for h in items:
        accepted = _warmline_accepts(h.topic, h.value)
        dead = not accepted
        if accepted and h.topic == "lookup_request":  # valid, but a refused reply topic is dead-lettered too
            topic = hostile.reply_topic_of(h.value, h.headers, "lookup-reply")
            dead = hostile.refused_reply_topic(topic, "call-started")
        if h.expect_dlq != dead:
            disagreements.append((h.n, h.topic, h.mutation, h.value[:120] if h.value else h.value))
    assert not disagreements, disagreements[:10]
    # Both kinds are there in numbers: the comparison is not vacuous.
    assert sum(h.expect_dlq for h in items) > 1_000
    assert sum(not h.expect_dlq for h in items) > 300


@pytest.mark.parametrize(
    ("topic", "body", "valid"),
    [
        ("lookup_request", {"request_id": "r", "by": "phone", "value": "x"}, True),  # a bad key is a reply
        ("lookup_request", {"request_id": "r", "by": "phone", "value": "x", "reply_to": None}, True),
        ("lookup_request", {"request_id": "r", "by": "fax", "value": "x"}, False),
        ("lookup_request", {"request_id": "", "by": "phone", "value": "x"}, False),
        ("lookup_request", {"request_id": "r", "by": "phone", "value": "x", "timeout_ms": "2000"}, False),
        ("lookup_request", {"request_id": "r", "by": "phone", "value": "x", "timeout_ms": True}, False),
        ("lookup_request", {"request_id": "r", "by": "phone", "value": "x", "reply_to": "a b"}, False),
        ("call_started", {"call_id": "c", "caller": "+14155550123"}, True),
        ("call_started", {"call_id": "c", "caller": "not a phone"}, False),
        ("call_started", {"call_id": "c", "caller": "not a phone", "customer_id": "C-1"}, True),
        ("call_started", {"call_id": "c", "caller": "+14155550123", "customer_id": "C-1\x00"}, False),
        ("customer_changed", {"customer_id": "C 1"}, False),
        ("customer_changed", {"customer_id": "C-1", "extra": 1}, False),
    ],
)
def test_the_contract_by_hand(topic: str, body: dict[str, object], valid: bool) -> None:
    assert hostile.conforms(topic, body) is valid
