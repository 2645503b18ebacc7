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


def test_the_faust_worker_leaves_the_root_logger_at_the_configured_level() -> None:
    # Faust's spinner would set the root logger to DEBUG at WARNING (a log record per aiokafka
    # debug call, measured under the hostile flood); without it the root logger keeps WARNING.
    import logging

    import faust

    from warmline.cli import faust_worker

    root = logging.getLogger("warmline-test-root")
    root.addHandler(logging.NullHandler())
    root.setLevel(logging.WARNING)
    worker = faust_worker(faust.App("cli-test", autodiscover=False), "warning", None, quiet=True)
    try:
        worker.on_setup_root_logger(root, logging.WARNING)
        assert root.level == logging.WARNING
        assert worker.spinner is None
    finally:
        root.handlers.clear()
