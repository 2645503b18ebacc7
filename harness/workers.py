"""`python -m warmline worker` as a child process: on a free port, ready when /readyz answers, its log kept."""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from warmline.commands.dev import wait_ready

from .procs import Service, signal_group


@dataclass
class Worker(Service):
    """One worker; *cpus* pins it (``taskset -c``), e.g. "0" to play a slower machine."""

    cpus: str | None = None
    ready_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        self.env["WARMLINE_WEB_PORT"] = str(self.port)

    def command(self) -> list[str]:
        pin = ["taskset", "-c", self.cpus] if self.cpus is not None else []
        return [*pin, sys.executable, "-m", "warmline", "worker"]

    def wait_ready(self) -> None:
        assert self.proc is not None
        try:
            wait_ready(self.url, self.proc, timeout_s=self.ready_timeout_s)
        except Exception:
            print(self.log_tail())  # why it did not start: pytest shows it on failure, a benchmark prints it
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app_id(self) -> str:
        return self.env["WARMLINE_APP_ID"]

    def terminate(self) -> int:
        """SIGTERM (graceful: in-flight handlers get the shutdown grace); the exit code."""
        assert self.proc is not None
        signal_group(self.proc, signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.proc = None
        return code

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGCONT, then SIGTERM → SIGKILL after *grace_s* (longer than any shutdown grace the runs set)."""
        super().stop(grace_s)

    @property
    def rss_mb(self) -> float:
        """Resident memory of the worker process."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")
