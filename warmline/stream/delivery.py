"""Which offsets of each input partition were handed to a stream, and which are done.

The one owner of "what is done" per partition. Faust commits the acked offsets it has seen and
treats any jump in offsets as a log gap that it commits over; a jump also happens when a batch
fetched before a seek is handed out after it. Records nobody handled were committed that way.
The ledger keeps, per partition, the next offset it must hand out and the offsets handed out and
not acked yet, so that

- a record past the next offset is not handed out; the partition is fetched again from there
  (``REFETCH``); only the same jump seen again after a confirmed refetch is a real gap
  (transaction markers, compaction) and is crossed;
- a record before it (already handed out, or before the seek) is dropped (``SKIP``);
- the offset to commit is the lowest one not done: the oldest handed out and not acked, or the
  next one when all are done. Nothing is committed past a record still being handled
  (faust-streaming#606) or past one never handed out. A record never acked holds the commit
  until the next rebalance, which reads it again; ``oldest_pending`` says since when each
  partition's oldest record has waited, so a held commit shows in metrics and logs.

What survives a rebalance, and what is reset (every rule has a test in tests/unit):

- **Started per generation.** Nothing is handed out in a consumer generation until the ledger
  was restarted *for that generation*: a record of an older generation's course, or fetched
  before the new generation's start is known, is dropped (the consumer seeks to the start right
  after the restart, so a dropped record is fetched again).
- **A restart replaces everything.** Partitions not assigned in the new generation are
  forgotten; a partition handed away and given back later starts from the group's commit.
- **A kept partition** (assigned in the generation before and in this one) goes on from what
  this worker knows is done, when that is past the group's commit: every offset below its mark
  was handed out by this worker and acked.
- **No commit** (new partition): it starts at the partition's earliest offset.
- **A flow resume rewinds.** Faust empties every stream's queue when it resumes the flow at the
  end of a rebalance, after the seek: records handed out and still queued are gone unhandled.
  Each resume sends every partition back to its lowest offset not done (``rewind``).

Plain bookkeeping: the consumer (``stream/transport.py``) calls it; no I/O here.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


class Verdict(enum.Enum):
    """What to do with a fetched record."""

    DELIVER = "deliver"
    SKIP = "skip"
    REFETCH = "refetch"


@dataclass
class _Partition:
    next: int
    # offset → when it was handed out; admit() adds offsets in increasing order, so the first key is the lowest
    pending: dict[int, float] = field(default_factory=dict)
    suspected_jump: tuple[int, int] | None = None  # (next, offset) of a jump seen once


class DeliveryLedger(Generic[P]):
    """The delivery state of each partition; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._partitions: dict[P, _Partition] = {}
        self._generation: int | None = None  # the consumer generation the partitions were started for
        self._clock = clock

    def restart(self, starts: Mapping[P, int], generation: int = 0) -> None:
        """Generation *generation* assigned exactly the partitions of *starts*: deliver each from its start."""
        self._partitions = {tp: _Partition(offset) for tp, offset in starts.items()}
        self._generation = generation

    def seeked(self, tp: P, offset: int) -> None:
        """The consumer was moved to *offset*: deliver from there; what was handed out is moot."""
        self._partitions[tp] = _Partition(offset)

    def admit(self, tp: P, offset: int, generation: int | None = 0) -> Verdict:
        """Whether the record at *offset* may be handed to a stream in *generation* (and record it if so)."""
        state = self._partitions.get(tp)
        if state is None or generation != self._generation:  # no start known in this generation yet
            return Verdict.SKIP
        if offset < state.next:
            return Verdict.SKIP
        if offset > state.next:
            jump = (state.next, offset)
            if state.suspected_jump != jump:
                state.suspected_jump = jump
                return Verdict.REFETCH
        state.suspected_jump = None
        state.next = offset + 1
        state.pending[offset] = self._clock()
        return Verdict.DELIVER

    @property
    def generation(self) -> int | None:
        """The consumer generation the ledger was last restarted for (None: never)."""
        return self._generation

    def rewind(self) -> dict[P, int]:
        """Deliver every partition again from its lowest offset not done; returns those offsets.

        For when what was handed out may have been thrown away unhandled (Faust's flow resume empties
        the streams' queues): the records handed out and not acked are handed out again.
        """
        marks = {tp: self.low_water(tp) or 0 for tp in self._partitions}
        self._partitions = {tp: _Partition(offset) for tp, offset in marks.items()}
        return marks

    def refetch_failed(self, tp: P) -> None:
        """The seek back to the next offset did not happen: the jump seen must not count as seen twice."""
        state = self._partitions.get(tp)
        if state is not None:
            state.suspected_jump = None

    def next_offset(self, tp: P) -> int | None:
        """The next offset *tp* must hand out (None: not tracked)."""
        state = self._partitions.get(tp)
        return None if state is None else state.next

    def done(self, tp: P, offset: int) -> None:
        """The record at *offset* was acked."""
        state = self._partitions.get(tp)
        if state is not None:
            state.pending.pop(offset, None)

    def low_water(self, tp: P) -> int | None:
        """The offset to commit: the lowest not done (None: not tracked)."""
        state = self._partitions.get(tp)
        if state is None:
            return None
        return next(iter(state.pending)) if state.pending else state.next

    def low_waters(self) -> dict[P, int]:
        """low_water() of every tracked partition."""
        return {
            tp: next(iter(state.pending)) if state.pending else state.next for tp, state in self._partitions.items()
        }

    def oldest_pending(self) -> dict[P, tuple[int, float]]:
        """Per partition with records handed out and not done: the oldest one's offset and hand-out time."""
        return {tp: next(iter(state.pending.items())) for tp, state in self._partitions.items() if state.pending}
