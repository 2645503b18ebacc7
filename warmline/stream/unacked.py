"""How long the oldest record of each input partition has waited for its ack: a held commit, made visible.

The consumer's delivery ledger (``stream/delivery.py``) commits no further than the oldest
record handed to a stream and not acked. A record that is never acked (a handler that hangs,
a bug) therefore holds its partition's commit until the next rebalance, which reads the
partition again from there: a duplicate, not a loss, but a growing lag nothing else shows. This
module turns the ledger's oldest hand-out times into a gauge per topic (during a backlog it
also counts the time records wait in the stream's buffer: it is lag, too) and one WARNING per
record that stays its partition's oldest for ``STUCK_AFTER_S``: a backlog moves the oldest
record on; a stuck one does not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

#: A record that stays its partition's oldest unacked one this long is reported (handlers wait
#: seconds at most: source timeout, forwarding, produce; the shutdown grace is 5 s by default).
STUCK_AFTER_S = 60.0

#: (offset, monotonic time it was handed out) of the oldest unacked record, per partition.
OldestUnacked = Mapping[Any, tuple[int, float]]


class UnackedWatch:
    """Reads *oldest* (the consumer's ledger) for the ``warmline_oldest_unacked_seconds`` gauge and the log."""

    def __init__(self, oldest: Callable[[], OldestUnacked], clock: Callable[[], float] = time.monotonic) -> None:
        self._oldest = oldest
        self._clock = clock
        self._oldest_seen: dict[Any, tuple[int, float]] = {}  # partition → (its oldest offset, first seen)
        self._reported: set[tuple[Any, int]] = set()

    def ages_by_topic(self) -> dict[str, float]:
        """Seconds the oldest unacked record of each topic has waited (topics with none are absent)."""
        now = self._clock()
        ages: dict[str, float] = {}
        for tp, (_offset, since) in self._oldest().items():
            ages[tp.topic] = max(ages.get(tp.topic, 0.0), now - since)
        return ages

    def report_stuck(self, after_s: float = STUCK_AFTER_S) -> int:
        """Log, once, each record that has been its partition's oldest unacked one for *after_s* (as far as
        these calls saw); return how many are stuck now."""
        now = self._clock()
        oldest = self._oldest()
        seen: dict[Any, tuple[int, float]] = {}
        for tp, (offset, _since) in oldest.items():
            previous = self._oldest_seen.get(tp)
            seen[tp] = previous if previous is not None and previous[0] == offset else (offset, now)
        self._oldest_seen = seen
        stuck = {(tp, offset) for tp, (offset, first) in seen.items() if now - first >= after_s}
        for tp, offset in stuck - self._reported:
            logger.warning(
                "%s[%d]@%d, handed to a stream %.0f s ago, is still not acked: the partition's commit waits "
                "for it (the next rebalance reads it again)",
                tp.topic,
                tp.partition,
                offset,
                now - oldest[tp][1],
            )
        self._reported = stuck  # a record acked (or read again) since may be reported anew
        return len(stuck)
