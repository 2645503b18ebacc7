"""A Redis HA topology's failover wait: over as soon as its check says so, or not within the time given."""

from __future__ import annotations

from harness.redis_ha import Topology
from warmline.cache.redis_client import RedisConfig


def _topology(answers: list[bool]) -> Topology:
    return Topology("sentinel", {}, 1, 2, RedisConfig("redis://127.0.0.1:1/0"), failed_over=lambda: answers.pop(0))


async def test_the_wait_ends_when_the_check_first_says_the_failover_is_over() -> None:
    answers = [False, False, True, False]
    assert await _topology(answers).wait_failed_over(within_s=60) is True
    assert answers == [False]  # asked three times, not again after the first yes


async def test_a_failover_that_never_ends_is_reported_as_not_over() -> None:
    assert await _topology([False] * 100).wait_failed_over(within_s=0.3) is False
