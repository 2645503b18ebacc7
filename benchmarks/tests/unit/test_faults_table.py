"""docs/faults.md quotes the committed `make faults` results as `python -m benchmarks.faults.table` prints them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.faults.table import HEADER

ROOT = Path(__file__).parents[3]


#: Every whole-suite run docs/faults.md quotes (faults.json: the run the page describes; the others, later runs).
QUOTED_RUNS = [
    "faults.json",
    "faults-2026-12-02.json",
    "faults-2026-12-06.json",
    "faults-2026-12-06-0536.json",
    "faults-2026-12-06-intake.json",
    "faults-2026-12-07-pump.json",
]


@pytest.mark.parametrize("name", QUOTED_RUNS)
def test_the_documented_table_is_the_committed_run(name: str) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "benchmarks.faults.table", f"benchmarks/results/{name}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    doc = json.loads((ROOT / "benchmarks/results" / name).read_text())
    assert printed.startswith(HEADER)
    assert len(printed.splitlines()) == 2 + len(doc["faults"]) + len(doc["durable"]["faults"])
    assert printed in (ROOT / "docs/faults.md").read_text()
