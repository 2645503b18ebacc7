"""CacheEntry: a cached answer (customer or not-found) with its timestamps, and its JSON codec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from ..errors import InvalidMessage
from .customer import Customer

#: Bumped when the stored shape changes; entries of another version are treated as misses.
ENTRY_VERSION = 1


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One cached answer; ``customer_json is None`` means the source said not-found.

    The customer is kept as its JSON bytes, not as a model: 100k L1 entries take ~45 MB instead
    of ~180 MB, and replies embed the bytes as they are (orjson.Fragment) instead of re-encoding.
    """

    customer_json: bytes | None
    fetched_at: float
    """Epoch seconds when the source produced this answer."""
    expires_at: float
    """Epoch seconds after which the entry is stale (still servable within max-stale)."""
    matches: int = 1
    customer_id: str | None = None
    version: int = ENTRY_VERSION

    @classmethod
    def of(cls, customer: Customer | None, fetched_at: float, expires_at: float, matches: int = 1) -> CacheEntry:
        """An entry holding *customer* (None: not found)."""
        if customer is None:
            return cls(None, fetched_at, expires_at, matches)
        return cls(customer.model_dump_json().encode(), fetched_at, expires_at, matches, customer.customer_id)

    @property
    def found(self) -> bool:
        """True unless this is a negative (not-found) entry."""
        return self.customer_json is not None

    @property
    def customer(self) -> Customer | None:
        """The customer, decoded (for the few places that need fields, not bytes)."""
        return None if self.customer_json is None else Customer.model_validate_json(self.customer_json)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (the customer as an orjson.Fragment: dump it with orjson)."""
        return {
            "v": self.version,
            "customer": orjson.Fragment(self.customer_json) if self.customer_json is not None else None,
            "fetched_at": self.fetched_at,
            "expires_at": self.expires_at,
            "matches": self.matches,
        }

    def to_bytes(self) -> bytes:
        """Encode as JSON bytes (never pickle)."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> CacheEntry:
        """Decode (and validate) the JSON-ready form; raise InvalidMessage for anything else."""
        try:
            if data.get("v") != ENTRY_VERSION:
                raise InvalidMessage(f"cache entry version {data.get('v')!r} != {ENTRY_VERSION}")
            raw = data["customer"]
            customer = Customer.model_validate(raw, strict=False) if raw is not None else None
            return cls.of(customer, float(data["fetched_at"]), float(data["expires_at"]), int(data.get("matches", 1)))
        except InvalidMessage:
            raise
        except (AttributeError, KeyError, TypeError, ValueError, ValidationError) as e:
            raise InvalidMessage(f"bad cache entry: {e}") from None

    @classmethod
    def from_bytes(cls, raw: bytes | str) -> CacheEntry:
        """Decode JSON bytes; raise InvalidMessage for anything else."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise InvalidMessage(f"bad cache entry: {e}") from None
        return cls.from_dict(data)
