"""LookupRequest and LookupReply, with their status and tier enums."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

import orjson
from pydantic import AfterValidator, Field

from .base import WireModel
from .customer import Customer
from .keys import LookupKey, normalize
from .protocol import is_topic_name

_SHORT = 128


def _topic_name(name: str) -> str:
    if not is_topic_name(name):
        raise ValueError("not a valid Kafka topic name")
    return name


TopicName = Annotated[str, AfterValidator(_topic_name)]


class LookupStatus(StrEnum):
    """Outcome of a lookup (docs/protocol.md, "Reply")."""

    OK = "ok"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    ERROR = "error"


class CacheTier(StrEnum):
    """Where an answer came from."""

    L1 = "l1"
    L2 = "l2"
    UPSTREAM = "upstream"


class LookupRequest(WireModel):
    """A client's lookup over Kafka."""

    request_id: str = Field(min_length=1, max_length=_SHORT)
    reply_to: TopicName | None = None
    by: Literal["phone", "email", "customer_id"]
    value: str = Field(min_length=1, max_length=320)
    max_age_s: float | None = Field(default=None, ge=0)
    timeout_ms: int | None = Field(default=None, ge=1, le=600_000)

    def lookup_key(self, region: str) -> LookupKey:
        """Normalize (by, value); raises InvalidMessage for a value that is not a valid key."""
        return normalize(self.by, self.value, region)


class LookupReply(WireModel):
    """The answer to one lookup, on Kafka and over HTTP."""

    request_id: str | None = None
    status: LookupStatus
    source: CacheTier | None = None
    customer: Customer | None = None
    matches: int = 0
    age_s: float | None = None
    stale: bool = False
    took_ms: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A LookupReply whose customer is still the cached JSON bytes.

    The hot path encodes it with orjson, embedding those bytes as they are; ``to_reply()`` gives
    the validated model for in-process callers (LLM tool, CLI) that want fields.
    """

    status: LookupStatus
    request_id: str | None = None
    source: CacheTier | None = None
    customer_json: bytes | None = None
    matches: int = 0
    age_s: float | None = None
    stale: bool = False
    took_ms: float = 0.0
    error: str | None = None

    @property
    def customer(self) -> Customer | None:
        """The customer, decoded."""
        return None if self.customer_json is None else Customer.model_validate_json(self.customer_json)

    def to_json(self) -> bytes:
        """The LookupReply JSON (its fields, in its order), without re-encoding the customer."""
        raw = orjson.Fragment(self.customer_json) if self.customer_json is not None else None
        # Spelled out (half the cost of a comprehension over _REPLY_FIELDS); a test keeps the order.
        return orjson.dumps(
            {
                "request_id": self.request_id,
                "status": self.status,
                "source": self.source,
                "customer": raw,
                "matches": self.matches,
                "age_s": self.age_s,
                "stale": self.stale,
                "took_ms": self.took_ms,
                "error": self.error,
            }
        )

    def to_reply(self) -> LookupReply:
        """The validated wire model."""
        return LookupReply(**{name: getattr(self, name) for name in _REPLY_FIELDS})


#: The reply's wire fields; Answer carries the same names (a test keeps them equal).
_REPLY_FIELDS = tuple(LookupReply.model_fields)
