"""The scheduler's own accounting of a process: time on a core, time waiting for one, the machine's busy share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.procs import SchedulerShares, cpu_seconds, machine_busy_seconds, thread_schedstats

SPIN = "import time\nwhile True: sum(range(1000))"


@pytest.fixture(name="spinner")
def _spinner() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", SPIN])
    yield proc
    proc.kill()
    proc.wait()


def _on_core(pid: int) -> float:
    return sum(ran for ran, _ in thread_schedstats(pid).values()) / 1e9


def _until_on_core(pid: int, since: float, seconds: float) -> None:
    """Return once *pid* has run *seconds* on a core since *since* (a positive signal, not a sleep)."""
    deadline = time.monotonic() + 60
    while _on_core(pid) - since < seconds:
        assert time.monotonic() < deadline, "the spinner never ran"
        time.sleep(0.01)


def test_time_on_a_core_agrees_with_the_kernel_s_cpu_accounting(spinner: subprocess.Popen[bytes]) -> None:
    on_core0, tick0 = _on_core(spinner.pid), cpu_seconds(spinner.pid)
    _until_on_core(spinner.pid, on_core0, 0.5)
    on_core, tick = _on_core(spinner.pid) - on_core0, cpu_seconds(spinner.pid) - tick0
    # /proc/PID/stat counts in clock ticks (10 ms), sampled: an independent oracle, to within a few ticks
    assert on_core == pytest.approx(tick, abs=0.05 + 0.1 * tick)


def test_a_spinning_process_shows_on_a_core_and_the_machine_busy(spinner: subprocess.Popen[bytes]) -> None:
    shares = SchedulerShares({"spinner": spinner.pid, "this": os.getpid()})
    _until_on_core(spinner.pid, _on_core(spinner.pid), 0.3)
    out = shares.shares()
    assert out["spinner"]["on_core_pct"] > out["this"]["on_core_pct"]
    assert out["spinner"]["waiting_for_a_core_pct"] >= 0
    assert 0 < out["machine_busy_pct_of_all_cores"] <= 100
    busy, total = machine_busy_seconds()
    assert 0 < busy < total


def test_a_process_that_ended_within_the_window_is_reported_as_unknown() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    shares = SchedulerShares({"gone": proc.pid})
    assert proc.stdin is not None
    proc.stdin.close()  # it exits; not reaped yet: a zombie, whose main thread /proc still lists
    deadline = time.monotonic() + 30
    while Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child never exited"
        time.sleep(0.01)
    assert shares.shares()["gone"] is None
    proc.wait()
    with pytest.raises(ProcessLookupError):  # and once reaped
        thread_schedstats(proc.pid)


def test_a_thread_that_ends_within_the_window_takes_nothing_away() -> None:
    script = (
        "import sys, threading, time\n"
        "def spin(s):\n    end = time.thread_time() + s\n    while time.thread_time() < end: pass\n"
        "t = threading.Thread(target=spin, args=(0.3,)); t.start()\n"
        "print('started', flush=True); sys.stdin.readline(); t.join()\n"
        "print('ended', flush=True); sys.stdin.readline()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            assert proc.stdout.readline().strip() == "started"
            shares = SchedulerShares({"child": proc.pid})  # two threads now, one about to end
            proc.stdin.write("\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "ended"
            deadline = time.monotonic() + 30
            while len(thread_schedstats(proc.pid)) > 1:  # Python's join returns a moment before the OS thread is gone
                assert time.monotonic() < deadline, "the thread never ended"
                time.sleep(0.01)
            out = shares.shares()["child"]
            assert out["threads_ended"] == 1
            assert out["on_core_pct"] >= 0 and out["waiting_for_a_core_pct"] >= 0  # a sum over live threads only
        finally:
            proc.kill()
