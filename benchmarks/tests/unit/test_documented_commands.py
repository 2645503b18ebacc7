"""Every benchmark command the README and docs/ tell a reader to run exists and takes its arguments."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"python -m (benchmarks(?:\.[a-z_]+)*)")
MODULES = sorted({m for page in PAGES for m in COMMAND.findall(page.read_text())})


def test_the_docs_name_benchmark_commands() -> None:
    assert "benchmarks" in MODULES and "benchmarks.setting_ab" in MODULES  # the scan itself works


@pytest.mark.parametrize("module", MODULES)
def test_a_documented_benchmark_command_runs(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr[-2000:]
