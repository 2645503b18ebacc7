"""LookupRequest and LookupReply, with their status and tier enums."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from .base import WireModel
from .customer import Customer
from .keys import LookupKey, normalize

_SHORT = 128
_TOPIC = 249  # Kafka's limit on topic names


class LookupStatus(StrEnum):
    """Outcome of a lookup (DESIGN §2)."""

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
    reply_to: str | None = Field(default=None, min_length=1, max_length=_TOPIC, pattern=r"^[A-Za-z0-9._-]+$")
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
