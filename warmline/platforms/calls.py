"""A platform's raw message → the payload the mappings read; a PlatformCall → what its owner gets:
warmline's CallStarted for a queued call, the internal CallAnswered for an answered one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from pydantic import Field

from ..errors import InvalidMessage
from ..models import CallStarted, WireModel
from .mapping import CallEventKind, PlatformCall


def platform_payload(raw: bytes | None) -> Any:
    """JSON (an object or an array of events), else form fields (Twilio's callbacks), else None."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        fields = parse_qsl(raw.decode(), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    return dict(fields) or None


def as_call_started(call: PlatformCall) -> CallStarted | None:
    """The CallStarted a queued call stands for (None: not queued, or nothing to warm by)."""
    if call.kind is not CallEventKind.QUEUED or not (call.caller or call.customer_id):
        return None
    try:
        return CallStarted(
            call_id=call.call_id[:128],
            caller=(call.caller or call.customer_id or "")[:320],
            queue=call.queue[:128] if call.queue else None,
            started_at=call.at,
            customer_id=call.customer_id[:128] if call.customer_id else None,
        )
    except ValueError:  # pydantic's ValidationError: a field the wire model refuses
        return None


@dataclass(frozen=True)
class ToWarm:
    """What becomes of one platform call: the CallStarted to publish to the key's owner (if any)."""

    started: CallStarted | None
    owner_key: str | None
    outcome: str  # queued | answered | ended | queued_without_caller | invalid_caller (the metric's label)


def to_warm(call: PlatformCall, region: str) -> ToWarm:
    """Decide for *call*: a queued call with a caller becomes a CallStarted keyed by its lookup key."""
    started = as_call_started(call)
    if started is None:
        queued = call.kind is CallEventKind.QUEUED
        return ToWarm(None, None, "queued_without_caller" if queued else call.kind.value)
    try:
        key = str(started.lookup_key(region))
    except InvalidMessage:
        return ToWarm(None, None, "invalid_caller")
    return ToWarm(started, key, call.kind.value)


class CallAnswered(WireModel):
    """An agent picked up a platform's call: sent to the caller's owner on warmline's call-started
    repartition topic (beside CallStarted, which this shape can never be taken for)."""

    type: Literal["call-answered"] = "call-answered"
    platform: str = Field(min_length=1, max_length=64)
    call_id: str = Field(min_length=1, max_length=128)
    key: str = Field(min_length=1, max_length=400)  # the caller's lookup key, e.g. phone:+14155550123
    queue: str | None = Field(default=None, max_length=400)
    agent: str | None = Field(default=None, max_length=400)
    answered_at: datetime | None = None  # the platform's time of the answer
    queued_at: datetime | None = None  # the platform's time of the call's first queued event, when known
