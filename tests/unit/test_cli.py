"""The `warmline` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from warmline.cli import build_parser, main


def test_help_lists_the_commands() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "warmline", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    for command in ("worker", "dev", "lookup", "demo-data", "warm", "replay", "simulate", "bench"):
        assert command in proc.stdout


def test_demo_data_writes_and_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "d.db"
    assert main(["demo-data", "--count", "50", "--path", str(path)]) == 0
    assert path.exists()
    mtime = path.stat().st_mtime_ns
    assert main(["demo-data", "--count", "50", "--path", str(path)]) == 0
    assert path.stat().st_mtime_ns == mtime
    assert main(["demo-data", "--count", "0", "--path", str(tmp_path / "e.db"), "--force"]) == 2


def test_lookup_needs_exactly_one_key() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["lookup", "--phone", "1", "--email", "a@b.c"])
