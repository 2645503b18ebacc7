"""A platform's raw message → the payload the mappings read; a queued PlatformCall → warmline's CallStarted."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson

from ..models import CallStarted
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
