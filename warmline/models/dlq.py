"""DeadLetter: what warmline could not process, with the reason and the (capped) original."""

from __future__ import annotations

import base64
import time

from pydantic import Field

from .base import WireModel

#: Original payloads are kept up to this size in a dead letter; the rest is cut.
MAX_ORIGINAL_BYTES = 16 * 1024


class DeadLetter(WireModel):
    """A message that went to the DLQ."""

    reason: str
    topic: str
    partition: int | None = None
    offset: int | None = None
    received_at: float = Field(default_factory=time.time)
    original_b64: str
    original_size: int
    truncated: bool

    @classmethod
    def build(
        cls, reason: str, topic: str, value: bytes | None, partition: int | None = None, offset: int | None = None
    ) -> DeadLetter:
        """Capture *value* (size-capped, base64 so any bytes survive JSON)."""
        raw = value or b""
        kept = raw[:MAX_ORIGINAL_BYTES]
        return cls(
            reason=reason[:1000],
            topic=topic,
            partition=partition,
            offset=offset,
            original_b64=base64.b64encode(kept).decode("ascii"),
            original_size=len(raw),
            truncated=len(kept) < len(raw),
        )
