"""`warmline dev` starts quietly: the broker, the settings it applied and the ready block, Faust in the log file."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from warmline.commands.processes import free_port, stop_process

ROOT = Path(__file__).parents[2]


def _lines_until(proc: subprocess.Popen[str], marker: str, reader: list[threading.Thread]) -> list[str]:
    """The lines *proc* prints up to the one containing *marker* (a guard, not a timing check, bounds
    the wait); the thread reading them to EOF is appended to *reader*."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader.append(threading.Thread(target=read, daemon=True))
    reader[0].start()
    seen: list[str] = []
    while (line := lines.get(timeout=120)) is not None:
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"the dev stack ended before {marker!r}:\n" + "\n".join(seen))


def test_dev_shows_the_broker_its_settings_and_the_ready_block(tmp_path: Path, demo_db: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WARMLINE_WEB_PORT": str(free_port()),
        "WARMLINE_DATA_DIR": str(tmp_path / "var"),
        "WARMLINE_DEMO_DB": str(demo_db),
        "COLUMNS": "200",  # one line per printed line
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "warmline", "dev", "--broker-port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    reader: list[threading.Thread] = []
    try:
        printed = _lines_until(proc, "worker log:", reader)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        assert proc.wait(60) == 0
    finally:
        stop_process(proc)
        for thread in reader:
            thread.join(10)  # at EOF: the process is gone
        assert proc.stdout is not None
        proc.stdout.close()
    text = "\n".join(printed)
    assert "Tansu broker on 127.0.0.1:" in text
    assert "embedded broker (Tansu)" in text and "WARMLINE_CONSUMER_FETCH_MAX_WAIT_MS=5" in text
    assert "warmline is ready" in text and "curl -s" in text
    assert "[INFO]" not in text and "Subscription" not in text  # Faust's start-up stays in the log
    assert len(printed) < 25, text
    log = (tmp_path / "var" / "worker.log").read_text()
    assert "[INFO]" in log and "Worker]: Ready" in log and "Final Subscription" in log
