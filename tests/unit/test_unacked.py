"""The unacked watch: a record that holds its partition's commit shows as a gauge per topic and one WARNING."""

from __future__ import annotations

import logging

import pytest
from faust.types import TP

from warmline.stream.unacked import UnackedWatch

A0, A1, B0 = TP("lookup-request", 0), TP("lookup-request", 1), TP("call-started", 0)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_gauge_shows_each_topic_s_longest_wait() -> None:
    clock = _Clock()
    oldest = {A0: (7, 990.0), A1: (3, 940.0), B0: (12, 999.5)}
    watch = UnackedWatch(lambda: oldest, clock)
    assert watch.ages_by_topic() == {"lookup-request": 60.0, "call-started": 0.5}
    oldest.clear()
    assert watch.ages_by_topic() == {}


def test_a_record_that_stays_the_oldest_is_logged_once_and_again_only_after_it_cleared(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = _Clock()  # t = 1000
    oldest = {A0: (7, 900.0), A1: (3, 990.0)}
    watch = UnackedWatch(lambda: oldest, clock)

    def at(t: float) -> int:
        clock.now = t
        return watch.report_stuck(after_s=60)

    with caplog.at_level(logging.WARNING, logger="warmline.stream.unacked"):
        assert at(1000) == 0  # first seen now, however long ago they were handed out
        oldest[A1] = (4, 995.0)  # A1 moves on, A0 does not
        assert at(1030) == 0
        assert at(1060) == 1  # A0@7 has been the oldest for 60 s: logged
        assert at(1075) == 1  # still stuck: not logged again
        assert at(1090) == 2  # A1@4 too
        oldest[A0] = (8, 1100.0)  # 7 was acked
        assert at(1105) == 1
        oldest[A0] = (7, 1106.0)  # read again after a rebalance, and stuck again: news again
        assert at(1110) == 1
        assert at(1170) == 2
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(",")[0] for line in lines] == [
        "lookup-request[0]@7",
        "lookup-request[1]@4",
        "lookup-request[0]@7",
    ]
    assert lines[0].startswith("lookup-request[0]@7, handed to a stream 160 s ago, is still not acked")


def test_a_backlog_is_no_stuck_record(caplog: pytest.LogCaptureFixture) -> None:
    # Every partition is minutes behind, but its oldest record moves on between checks.
    clock = _Clock()
    oldest = {A0: (100, 800.0)}
    watch = UnackedWatch(lambda: oldest, clock)
    with caplog.at_level(logging.WARNING, logger="warmline.stream.unacked"):
        for step in range(10):
            oldest[A0] = (100 + step, 800.0 + step)
            clock.now = 1000.0 + 15 * step
            assert watch.report_stuck(after_s=60) == 0
    assert caplog.records == []
    assert watch.ages_by_topic() == {"lookup-request": 1135.0 - 809.0}  # the gauge shows the lag
