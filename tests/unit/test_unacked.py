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


def test_a_stuck_record_is_logged_once_and_again_only_after_it_cleared(caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    oldest = {A0: (7, 900.0), A1: (3, 990.0)}  # 100 s and 10 s old
    watch = UnackedWatch(lambda: oldest, clock)
    with caplog.at_level(logging.WARNING, logger="warmline.stream.unacked"):
        assert watch.report_stuck(after_s=60) == 1
        assert watch.report_stuck(after_s=60) == 1  # still stuck: not logged again
        clock.now += 60  # A1 passes the threshold now
        assert watch.report_stuck(after_s=60) == 2
        oldest[A0] = (8, clock.now)  # 7 was acked; 8 just handed out
        assert watch.report_stuck(after_s=60) == 1
        oldest[A0] = (7, 900.0)  # read again after a rebalance, stuck again: news again
        assert watch.report_stuck(after_s=60) == 2
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(" was ")[0] for line in lines] == [
        "lookup-request[0]@7",
        "lookup-request[1]@3",
        "lookup-request[0]@7",
    ]
    assert "100 s ago" in lines[0]
