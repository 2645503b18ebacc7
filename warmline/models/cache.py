"""CacheEntry: a cached answer (customer or not-found) with its timestamps, and its JSON codec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .base import InvalidMessage
from .customer import Customer

#: Bumped when the stored shape changes; entries of another version are treated as misses.
ENTRY_VERSION = 1


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One cached answer; ``customer is None`` means the source said not-found."""

    customer: Customer | None
    fetched_at: float
    """Epoch seconds when the source produced this answer."""
    expires_at: float
    """Epoch seconds after which the entry is stale (still servable within max-stale)."""
    matches: int = 1
    version: int = ENTRY_VERSION

    @property
    def found(self) -> bool:
        """True unless this is a negative (not-found) entry."""
        return self.customer is not None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        return {
            "v": self.version,
            "customer": self.customer.model_dump(mode="json") if self.customer else None,
            "fetched_at": self.fetched_at,
            "expires_at": self.expires_at,
            "matches": self.matches,
        }

    def to_bytes(self) -> bytes:
        """Encode as JSON bytes (never pickle)."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> CacheEntry:
        """Decode the JSON-ready form; raise InvalidMessage for anything else."""
        try:
            if data.get("v") != ENTRY_VERSION:
                raise InvalidMessage(f"cache entry version {data.get('v')!r} != {ENTRY_VERSION}")
            raw = data["customer"]
            return cls(
                customer=Customer.model_validate(raw, strict=False) if raw is not None else None,
                fetched_at=float(data["fetched_at"]),
                expires_at=float(data["expires_at"]),
                matches=int(data.get("matches", 1)),
            )
        except InvalidMessage:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise InvalidMessage(f"bad cache entry: {e}") from None

    @classmethod
    def from_bytes(cls, raw: bytes) -> CacheEntry:
        """Decode JSON bytes; raise InvalidMessage for anything else."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise InvalidMessage(f"bad cache entry: {e}") from None
        return cls.from_dict(data)
