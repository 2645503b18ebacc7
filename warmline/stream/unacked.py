"""How long the oldest record of each input partition has waited for its ack: a held commit, made visible.

The consumer's delivery ledger (``stream/delivery.py``) commits no further than the oldest
record handed out and not acked. A record that is never acked (a handler that hangs, a bug)
therefore holds its partition's commit until the next rebalance, which reads the partition
again from there: a duplicate, not a loss, but a growing lag nothing else shows. This module
turns the ledger's oldest hand-out times into a gauge per topic and one WARNING per record
that has waited longer than ``STUCK_AFTER_S``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

#: A record handed out this long ago and not acked is reported (handlers wait seconds at most:
#: source timeout, forwarding, produce; the shutdown grace is 5 s by default).
STUCK_AFTER_S = 60.0

#: (offset, monotonic time it was handed out) of the oldest unacked record, per partition.
OldestUnacked = Mapping[Any, tuple[int, float]]


class UnackedWatch:
    """Reads *oldest* (the consumer's ledger) for the ``warmline_oldest_unacked_seconds`` gauge and the log."""

    def __init__(self, oldest: Callable[[], OldestUnacked], clock: Callable[[], float] = time.monotonic) -> None:
        self._oldest = oldest
        self._clock = clock
        self._reported: set[tuple[Hashable, int]] = set()

    def ages_by_topic(self) -> dict[str, float]:
        """Seconds the oldest unacked record of each topic has waited (topics with none are absent)."""
        now = self._clock()
        ages: dict[str, float] = {}
        for tp, (_offset, since) in self._oldest().items():
            ages[tp.topic] = max(ages.get(tp.topic, 0.0), now - since)
        return ages

    def report_stuck(self, after_s: float = STUCK_AFTER_S) -> int:
        """Log each record unacked for *after_s* or longer, once; return how many are stuck now."""
        now = self._clock()
        stuck = {(tp, offset): now - since for tp, (offset, since) in self._oldest().items() if now - since >= after_s}
        for (tp, offset), age in stuck.items():
            if (tp, offset) not in self._reported:
                logger.warning(
                    "%s[%d]@%d was handed to a handler %.0f s ago and is not acked: the partition's commit "
                    "waits for it (the next rebalance reads it again)",
                    tp.topic,
                    tp.partition,
                    offset,
                    age,
                )
        self._reported = set(stuck)  # a record acked (or read again) since may be reported anew
        return len(stuck)
