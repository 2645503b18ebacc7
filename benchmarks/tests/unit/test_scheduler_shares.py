"""The scheduler's own accounting of a process: time on a core, time waiting for one, the machine's busy share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from harness.procs import SchedulerShares, cpu_seconds, machine_busy_seconds, scheduled_seconds

SPIN = "import time\nwhile True: sum(range(1000))"


@pytest.fixture(name="spinner")
def _spinner() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", SPIN])
    yield proc
    proc.kill()
    proc.wait()


def _until_on_core(pid: int, since: float, seconds: float) -> None:
    """Return once *pid* has run *seconds* on a core since *since* (a positive signal, not a sleep)."""
    deadline = time.monotonic() + 60
    while scheduled_seconds(pid)[0] - since < seconds:
        assert time.monotonic() < deadline, "the spinner never ran"
        time.sleep(0.01)


def test_time_on_a_core_agrees_with_the_kernel_s_cpu_accounting(spinner: subprocess.Popen[bytes]) -> None:
    on_core0, tick0 = scheduled_seconds(spinner.pid)[0], cpu_seconds(spinner.pid)
    _until_on_core(spinner.pid, on_core0, 0.5)
    on_core, tick = scheduled_seconds(spinner.pid)[0] - on_core0, cpu_seconds(spinner.pid) - tick0
    # /proc/PID/stat counts in clock ticks (10 ms), sampled: an independent oracle, to within a few ticks
    assert on_core == pytest.approx(tick, abs=0.05 + 0.1 * tick)


def test_a_spinning_process_shows_on_a_core_and_the_machine_busy(spinner: subprocess.Popen[bytes]) -> None:
    shares = SchedulerShares({"spinner": spinner.pid, "this": os.getpid()})
    _until_on_core(spinner.pid, scheduled_seconds(spinner.pid)[0], 0.3)
    out = shares.shares()
    assert out["spinner"]["on_core_pct"] > out["this"]["on_core_pct"]
    assert out["spinner"]["waiting_for_a_core_pct"] >= 0
    assert 0 < out["machine_busy_pct_of_all_cores"] <= 100
    busy, total = machine_busy_seconds()
    assert 0 < busy < total


def test_a_process_that_ended_within_the_window_is_reported_as_unknown() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    shares = SchedulerShares({"gone": proc.pid})
    proc.communicate(b"")
    assert shares.shares()["gone"] is None
    with pytest.raises(ProcessLookupError):
        scheduled_seconds(proc.pid)
