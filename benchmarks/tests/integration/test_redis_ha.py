"""A Redis Sentinel failover under load, in small (`make faults` runs it and a Cluster one longer:
benchmarks/faults/redis_ha.py): two workers with L2 on a Sentinel set as an ACL user, Kafka and
HTTP lookups plus lookups only L2 can answer; the primary is SIGKILLed. Nothing is lost, and L2
answers again once the sentinels have promoted the replica.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.faults.load import Rates
from benchmarks.faults.redis_ha import HaPlan, ha_fault, verdict
from harness.redis_servers import REDIS_CLI, REDIS_SERVER

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None or REDIS_CLI is None, reason="needs redis-server and redis-cli on PATH"
)


@pytest.mark.timeout(180)
async def test_a_sentinel_failover_under_load_loses_nothing_and_l2_answers_again(tmp_path: Path) -> None:
    plan = HaPlan(rates=Rates(kafka=12, http=6, calls=1, l2_only=6), baseline_s=3, after_s=6, partitions=4)
    row, _, _ = await ha_fault(tmp_path, "sentinel", plan)
    logs = f"logs under {tmp_path}"
    assert row["replica_had_every_write"] and row["failed_over"], (row, logs)
    assert row["during_failover"]["sent"] > 0  # the load ran through the failover
    whole = row["whole_run"]
    assert (whole["lost"], whole["not_sent"]) == (0, 0), (whole, logs)
    assert whole["replied"] == whole["sent"] >= 20 * (plan.baseline_s + plan.after_s)
    assert row["l2_hits"]["before_kill"] > 0  # the L2-only keys did come from L2 before the kill…
    assert row["l2_hits"]["after_failover"] > 0, (row["l2_hits"], logs)  # …and do again from the new primary
    assert row["redis_breakers_open_max"] > 0  # the kill was felt: the workers' L2 breakers opened
    assert row["worker_tracebacks"] == 0 and row["crashed_workers"] == [], logs
    assert not row["leak_scan"]["leaks"], row["leak_scan"]["examples"]
    assert verdict(row) == {"nothing_lost": True, "failed_over": True, "l2_hits_after_failover": True, "no_leak": True}
