"""Which offsets of each input partition were handed to a stream, and which are done.

Faust commits the acked offsets it has seen and treats any jump in offsets as a log gap: it marks
the skipped offsets acked and commits over them. A jump also happens when a batch fetched before
a rebalance's seek is handed out after it, or when Faust's ``getmany`` drops the rest of a batch
at a generation change after the consumer's position moved past it; then records nobody handled
are committed and lost (rolling restarts in ``make faults``). The ledger keeps, per partition,
the next offset it must hand out and the offsets handed out and not acked yet, so that

- a record past the next offset is not handed out; the partition is fetched again from there
  (``REFETCH``); only the same jump seen twice in a row is a real gap (transaction markers,
  compaction) and is crossed;
- a record before it (already handed out, or before the seek) is dropped (``SKIP``), and so is
  every record of a partition whose start is not known yet: after an assignment Faust can let
  records through before it seeks to the committed offsets, from wherever the consumer stands
  (seen: the log end, in a SIGSTOP fault); the seek that follows fetches them again;
- the offset to commit is the lowest one not done: the oldest handed out and not acked, or the
  next one when all are done. Nothing is committed past a record still being handled
  (faust-streaming#606) or past one never handed out. A record never acked holds the commit
  until the next seek (a rebalance), which reads it again; ``oldest_pending`` says since when
  each partition's oldest record has waited, so a held commit shows in metrics and logs.

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
        self._clock = clock

    def restart(self, starts: Mapping[P, int]) -> None:
        """After a seek of every assigned partition: deliver each from *starts*, forget the rest."""
        self._partitions = {tp: _Partition(offset) for tp, offset in starts.items()}

    def seeked(self, tp: P, offset: int) -> None:
        """The consumer was moved to *offset*: deliver from there; what was handed out is moot."""
        self._partitions[tp] = _Partition(offset)

    def admit(self, tp: P, offset: int) -> Verdict:
        """Whether the record at *offset* may be handed to a stream now (and record it if so)."""
        state = self._partitions.get(tp)
        if state is None:  # no start known yet (records fetched before the seek after an assignment)
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

    def oldest_pending(self) -> dict[P, tuple[int, float]]:
        """Per partition with records handed out and not done: the oldest one's offset and hand-out time."""
        return {tp: next(iter(state.pending.items())) for tp, state in self._partitions.items() if state.pending}
