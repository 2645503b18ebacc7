"""docs/faults.md quotes the committed failover windows (benchmarks/results/failover*.json) as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    "name", ["failover.json", "failover-scenario.json", "failover-2026-12-06.json", "failover-2026-12-07-pump.json"]
)
def test_the_documented_failover_figures_are_the_committed_runs(name: str) -> None:
    summary = json.loads((ROOT / "benchmarks" / "results" / name).read_text())["summary"]
    doc = (ROOT / "docs" / "faults.md").read_text()
    assert f"**{summary['lost']:,} of {summary['sent']:,}**" in doc
    median, most = summary["failover_s"]["median"], summary["failover_s"]["max"]
    assert f"{median:.1f} s / {most:.1f} s" in doc
