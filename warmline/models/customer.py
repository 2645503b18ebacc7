"""Customer: the record a lookup returns."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import WireModel


class Customer(WireModel):
    """A resolved customer (docs/protocol.md); only allow-listed fields ever reach it."""

    customer_id: str
    entity_id: str | None = None
    name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    status: str | None = None
    tier: str | None = None
    language: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
