"""Events from the outside world: CallStarted, CustomerChanged."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from .base import WireModel
from .keys import KeyKind, LookupKey, normalize

_SHORT = 128
_VALUE = 320


class CallStarted(WireModel):
    """A call entered a queue (telephony event bus)."""

    call_id: str = Field(min_length=1, max_length=_SHORT)
    caller: str = Field(min_length=1, max_length=_VALUE)
    dialed: str | None = Field(default=None, max_length=_VALUE)
    queue: str | None = Field(default=None, max_length=_SHORT)
    started_at: datetime | None = None
    customer_id: str | None = Field(default=None, max_length=_SHORT)

    def lookup_key(self, region: str) -> LookupKey:
        """The key to pre-warm: the IVR's customer id when known, else the caller's phone."""
        if self.customer_id:
            return normalize(KeyKind.CUSTOMER_ID, self.customer_id, region)
        return normalize(KeyKind.PHONE, self.caller, region)


class CustomerChanged(WireModel):
    """Upstream says a customer changed: drop it from every tier."""

    customer_id: str = Field(min_length=1, max_length=_SHORT)
