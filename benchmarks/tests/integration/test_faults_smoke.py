"""`make faults` in small: two workers under load, one worker SIGKILLed and restarted, 3,000 hostile messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.faults.load import Rates
from benchmarks.faults.run import Plan, run

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH")


async def test_kill_9_and_a_hostile_flood_lose_nothing_and_stall_nothing(tmp_path: Path) -> None:
    plan = Plan(
        rates=Rates(kafka=30, http=10, calls=4),
        baseline_s=3,
        faults=["kill -9 worker"],
        after_s=5,
        hostile=3_000,
        durable=False,
        partitions=4,  # the flood is small; fewer partitions, a shorter rebalance after the kill
        http_fuzz_examples=0,  # schemathesis has its own test (test_openapi_schemathesis.py)
    )
    report = (await run(tmp_path, plan)).report
    logs = f"worker logs: {report['logs']}"
    kill, flood = report["faults"]
    assert kill["fault"] == "kill -9 worker" and kill["during"]["sent"] > 0, logs
    for row in (kill, flood):
        assert (row["during"]["lost"], row["after"]["lost"]) == (0, 0), (row, logs)  # a reply for each, within 30 s
        assert (row["during"]["not_sent"], row["after"]["not_sent"]) == (0, 0), row
    assert report["whole_run"]["replied"] == report["whole_run"]["sent"]

    hostile = report["hostile"]
    assert hostile["sent"] == 3_000
    # Positive signals: every message that is not a valid one is in the DLQ, every parseable
    # lookup-request got its reply, and the workers' group committed every input partition.
    # On failure, the keys that tell a late reader from a lost letter first (pytest cuts long messages).
    keys = ("dead_letters_missing", "uncommitted_at_end", "dlq_reread", "examples_missing_dlq")
    why = {k: hostile.get(k) for k in keys}
    assert hostile["dead_letters_missing"] == 0 and hostile["dead_letters_unexpected"] == 0, (why, logs)
    assert hostile["replies_missing"] == 0 and hostile["replies_unexpected"] == 0, hostile
    assert hostile["stalled_partitions"] == 0, hostile["uncommitted_at_end"]
    assert report["crashed_workers"] == [], logs
    scan = report["leak_scan"]  # every worker log line and dead letter's metadata: no phone, e-mail or secret
    assert scan["scanned"]["dead-letter metadata"]["lines"] == hostile["dead_letters"], scan  # one line a letter
    assert scan["scanned"]["worker-0"]["bytes"] > 0 and scan["scanned"]["worker-1"]["bytes"] > 0, scan
    assert scan["leaks"] == {}, scan["examples"]
