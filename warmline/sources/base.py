"""The Source protocol every upstream implements, its result type and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Protocol

from ..errors import WarmlineError
from ..models import Customer, LookupKey, LookupStatus


class Priority(IntEnum):
    """Lower runs first: a caller waiting in a queue goes ahead of background warming."""

    LIVE = 0
    BACKGROUND = 1


class SourceError(WarmlineError):
    """The upstream failed to answer; never cached. ``kind`` labels the failure in metrics."""

    status: ClassVar[LookupStatus] = LookupStatus.ERROR

    def __init__(self, message: str = "", kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind or type(self).__name__


class SourceUnavailable(SourceError):
    """The upstream cannot be reached (refused, 5xx, breaker open)."""

    status: ClassVar[LookupStatus] = LookupStatus.UNAVAILABLE
    retriable: ClassVar[bool] = True


class SourceTimeout(SourceError):
    """The upstream did not answer in time."""

    status: ClassVar[LookupStatus] = LookupStatus.TIMEOUT
    retriable: ClassVar[bool] = True


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
