"""docs/faults.md quotes the committed Redis HA run (benchmarks/results/redis-ha.json) as it is."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_documented_redis_ha_figures_are_the_committed_run() -> None:
    run = json.loads((ROOT / "benchmarks" / "results" / "redis-ha.json").read_text())
    doc = (ROOT / "docs" / "faults.md").read_text()
    assert {row["redis"]["kind"] for row in run["faults"]} == {"sentinel", "cluster"}
    for row in run["faults"]:
        sent = row["whole_run"]
        assert row["goal"] == {
            "nothing_lost": True,
            "failed_over": True,
            "l2_hits_after_failover": True,
            "no_leak": True,
        }
        quoted = (
            f"| {row['fault']} | **{sent['lost']} of {sent['sent']:,}** | {row['failover_s']:.1f} s | "
            f"{row['l2_hit_again_s_after_failover']:.1f} s ({row['l2_hit_again_s_after_kill']:.1f} s) | "
            f"{row['l2_hits']['after_failover']:.0f} | {row['redis_breakers_open_max']:.0f} of 2 | "
            f"{row['not_ready_samples']} of {row['samples']} samples |"
        )
        assert quoted in doc, quoted
    sentinel, cluster = (next(r for r in run["faults"] if r["redis"]["kind"] == k) for k in ("sentinel", "cluster"))
    prose = " ".join(doc.split())  # the text as read, line breaks aside
    during = (
        f"p99 {sentinel['during_failover']['p99_ms']:.0f} ms (Sentinel) and {cluster['during_failover']['p99_ms']:.0f}"
        f" ms (Cluster), against {sentinel['baseline']['p99_ms']:.0f} and {cluster['baseline']['p99_ms']:.0f} ms"
    )
    assert during in prose, during
    back = (
        f"{sentinel['l2_hit_again_s_after_failover']:.1f} s (Sentinel) and "
        f"{cluster['l2_hit_again_s_after_failover']:.1f} s (Cluster) after the failover"
    )
    assert back in prose, back
    errors = (
        f"{cluster['l2_errors']['before_kill']:.0f} L2 errors before the kill "
        f"(the Sentinel ones {sentinel['l2_errors']['before_kill']:.0f})"
    )
    assert errors in prose, errors


def test_operations_quotes_the_committed_failover_times() -> None:
    run = json.loads((ROOT / "benchmarks" / "results" / "redis-ha.json").read_text())
    took = {row["redis"]["kind"]: row["failover_s"] for row in run["faults"]}
    prose = " ".join((ROOT / "docs" / "operations.md").read_text().split())
    assert f"{took['sentinel']:.1f} s on Sentinel and {took['cluster']:.1f} s on a Cluster" in prose
