"""The Source protocol every upstream implements and its result type (its errors are in errors.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from ..models import Customer, LookupKey


class Priority(IntEnum):
    """Lower runs first: a caller waiting in a queue goes ahead of background warming."""

    LIVE = 0
    BACKGROUND = 1


@dataclass(frozen=True, slots=True)
class SourceResult:
    """What a source found for a key: the best match (or None) and how many matched."""

    customer: Customer | None
    matches: int = 0


class Source(Protocol):
    """An upstream system of record."""

    name: str

    async def lookup(self, key: LookupKey) -> SourceResult:
        """Resolve *key*; raise SourceError (or a subclass) when the upstream fails."""
        ...

    async def ping(self) -> None:
        """Raise SourceUnavailable when the upstream is not usable."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...
