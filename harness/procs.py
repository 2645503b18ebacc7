"""A child process in its own session: restartable on its port, its log appended to a file, killable and freezable."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warmline.commands.processes import free_port, stop_process, wait_port


def clean_environ() -> dict[str, str]:
    """This process's environment without WARMLINE_* / TILORES_* (each child gets exactly what the run sets)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("WARMLINE_", "TILORES_"))}


def signal_group(proc: subprocess.Popen[bytes] | None, sig: signal.Signals) -> None:
    """Send *sig* to *proc*'s process group, if it is still running."""
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_schedstats(pid: int) -> dict[int, tuple[int, int]]:
    """Per live thread of a process: (ns on a core, ns runnable but waiting for one) so far, the
    scheduler's own accounting (/proc/PID/task/TID/schedstat). The second is what a saturated machine
    costs a thread: it wanted to run and its cores were busy. Raises ProcessLookupError once the
    process has exited (reaped or not: a zombie's main thread would still show)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    if state in ("Z", "X"):
        raise ProcessLookupError(pid)
    threads: dict[int, tuple[int, int]] = {}
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that just ended
            ran, waited, _ = stat.read_text().split()
            threads[int(stat.parent.name)] = (int(ran), int(waited))
    return threads


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of every core since boot (/proc/stat's first line; idle and iowait are not busy)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(fields)
    return (total - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


@dataclass
class Service:
    """One child process in its own session, restartable on the same port, with its log appended to a file.

    Its environment is this process's without WARMLINE_* / TILORES_*, plus *env*; with
    ``inherit_env=False`` it is *env* alone (a test that must not see the developer's variables).
    """

    name: str
    log_path: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    inherit_env: bool = True
    proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env={**clean_environ(), **self.env} if self.inherit_env else self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.wait_ready()
        except Exception:
            self.stop()
            raise

    def wait_ready(self) -> None:
        assert self.proc is not None
        wait_port(self.port, self.proc, self.name)

    def kill(self) -> None:
        """SIGKILL, and reap."""
        signal_group(self.proc, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)
        self.proc = None

    def freeze(self) -> None:
        signal_group(self.proc, signal.SIGSTOP)

    def thaw(self) -> None:
        signal_group(self.proc, signal.SIGCONT)

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGCONT (in case it is frozen), then SIGTERM → SIGKILL."""
        if self.proc is not None:
            self.thaw()
            stop_process(self.proc, grace_s=grace_s)
            self.proc = None

    @property
    def pid(self) -> int:
        """The running process's id (also its process group's)."""
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds of the process so far (Linux /proc); None when it is not running."""
        if not self.alive:
            return None
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)

    def log_tail(self, chars: int = 5000) -> str:
        """The end of the process's log (shown when it fails to start)."""
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""


class CpuShares:
    """CPU used by each of some services, and by this driver, between construction and shares(), as a share of one core.

    The driver's share tells whether its own figures can be trusted: a driver near one core (its
    event loop's limit) timestamps replies late.
    """

    def __init__(self, services: dict[str, Service]) -> None:
        self._services = services
        self._t0 = time.monotonic()
        self._start = {name: s.cpu_seconds() for name, s in services.items()}
        self._driver_start = time.process_time()

    def shares(self) -> dict[str, float | None]:
        elapsed = time.monotonic() - self._t0
        out: dict[str, float | None] = {"driver": round((time.process_time() - self._driver_start) / elapsed, 2)}
        for name, service in self._services.items():
            now, then = service.cpu_seconds(), self._start[name]
            out[name] = round((now - then) / elapsed, 2) if now is not None and then is not None and elapsed else None
        return out


class SchedulerShares:
    """Per process, the share of one core it ran and the share it waited for a core, and the machine's
    busy share of all its cores, between construction and shares().

    On a saturated machine the waits are where latency goes that no process's code spends: a request
    handled in 1 ms of CPU can take tens of ms when its process waited for a core before and after.
    Threads are followed by id: one that ended within the window is left out (``threads_ended``),
    one that began in it counts from its start.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = dict(pids)
        self._t0 = time.monotonic()
        self._start = {name: thread_schedstats(pid) for name, pid in self._pids.items()}
        self._machine = machine_busy_seconds()

    def shares(self) -> dict[str, Any]:
        elapsed = max(1e-9, time.monotonic() - self._t0)
        busy, total = machine_busy_seconds()
        out: dict[str, Any] = {
            "machine_busy_pct_of_all_cores": round(
                (busy - self._machine[0]) / max(1e-9, total - self._machine[1]) * 100, 1
            ),
            "cores": os.cpu_count(),
        }
        for name, pid in self._pids.items():
            try:
                now = thread_schedstats(pid)
            except ProcessLookupError:  # it ended within the window: nothing to say of it
                out[name] = None
                continue
            then = self._start[name]
            ran = sum(r - then.get(tid, (0, 0))[0] for tid, (r, _) in now.items())
            waited = sum(w - then.get(tid, (0, 0))[1] for tid, (_, w) in now.items())
            out[name] = {
                "on_core_pct": round(ran / 1e9 / elapsed * 100, 1),
                "waiting_for_a_core_pct": round(waited / 1e9 / elapsed * 100, 1),
                "threads_ended": len(then.keys() - now.keys()),
            }
        return out
