"""docs/faults.md quotes the committed `make faults` results as `python -m benchmarks.faults.table` prints them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.faults.table import HEADER

ROOT = Path(__file__).parents[3]


def test_the_documented_table_is_the_committed_run() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "benchmarks.faults.table"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    doc = json.loads((ROOT / "benchmarks/results/faults.json").read_text())
    assert printed.startswith(HEADER)
    assert len(printed.splitlines()) == 2 + len(doc["faults"]) + len(doc["durable"]["faults"])
    assert printed in (ROOT / "docs/faults.md").read_text()
