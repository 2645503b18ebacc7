"""A benchmark stack: Tansu, the wire topics and one worker process on this machine."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warmline.commands.dev import wait_ready
from warmline.commands.embedded_broker import Tansu, create_topics
from warmline.commands.processes import free_port, stop_process
from warmline.sources.demo import generate

TOPICS = {
    "call_started": "call-started",
    "lookup_request": "lookup-request",
    "lookup_reply": "lookup-reply",
    "lookup_dlq": "lookup-dlq",
    "customer_changed": "customer-changed",
}


@dataclass
class BenchStack:
    """Tansu + one worker, torn down by stop()."""

    tansu: Tansu
    worker: subprocess.Popen[bytes]
    url: str
    demo_db: Path
    workdir: Path
    env: dict[str, str]
    app_id: str
    """The running worker's app id (its changelog topics are named after it)."""
    topics: dict[str, str]
    """The running worker's wire topics (fresh ones after each restart: no history to re-read)."""

    extra_workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for proc in [*self.extra_workers, self.worker]:
            stop_process(proc)
        self.tansu.stop()

    async def restart_worker(self, cpus: str | None = None, **env: str) -> None:
        """A fresh worker (new app id, Redis prefix, consumer group and topics) on the same broker;
        *cpus* pins it (``taskset -c``), e.g. "0" to play a slower machine."""
        stop_process(self.worker)
        suffix = uuid.uuid4().hex[:6]
        self.topics = {name: f"{topic}-{suffix}" for name, topic in TOPICS.items()}
        await create_topics(self.tansu.bootstrap, self.topics.values(), 8)
        self.env = {**self.env, **env}
        topic_env = {f"WARMLINE_TOPIC_{name.upper()}": topic for name, topic in self.topics.items()}
        self.worker, self.url, self.app_id = _start_worker(
            self.tansu, self.workdir, self.demo_db, {**self.env, **topic_env}, cpus
        )

    async def add_worker(self) -> str:
        """Start one more worker of the same app (same group, same tables); returns its URL."""
        proc, url, _ = _start_worker(
            self.tansu, self.workdir, self.demo_db, {**self.env, "WARMLINE_APP_ID": self.app_id}
        )
        self.extra_workers.append(proc)
        return url

    def extra_worker(self, **env: str) -> tuple[subprocess.Popen[bytes], str]:
        """Another worker on the same broker (its own app id, consumer group and Redis prefix); the
        caller stops it."""
        proc, url, _ = _start_worker(self.tansu, self.workdir, self.demo_db, {**self.env, **env})
        return proc, url

    @property
    def rss_mb(self) -> float:
        """Resident memory of the worker process."""
        for line in Path(f"/proc/{self.worker.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def start_stack(workdir: Path, demo_count: int = 100_000, **env: str) -> BenchStack:
    """Start everything; the worker answers the demo directory with *env* overrides."""
    tansu = Tansu(log_path=workdir / "tansu.log")
    tansu.start()
    await create_topics(tansu.bootstrap, TOPICS.values(), 8)
    return await start_stack_on(tansu, workdir, demo_count, **env)


async def start_stack_on(broker: Any, workdir: Path, demo_count: int = 100_000, **env: str) -> BenchStack:
    """A worker on a started *broker* (Tansu, or Tansu behind TLS); it creates any topic still missing."""
    demo_db = workdir / "demo.sqlite3"
    if not demo_db.exists():
        generate(demo_db, count=demo_count)
    proc, url, app_id = _start_worker(broker, workdir, demo_db, env)
    return BenchStack(broker, proc, url, demo_db, workdir, env, app_id, dict(TOPICS))


def _start_worker(
    tansu: Any, workdir: Path, demo_db: Path, env: dict[str, str], cpus: str | None = None
) -> tuple[subprocess.Popen[bytes], str, str]:
    port = free_port()
    worker_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", tempfile.gettempdir()),
        "WARMLINE_BROKER": tansu.url,
        "WARMLINE_WEB_PORT": str(port),
        "WARMLINE_DATA_DIR": str(workdir / "data"),
        "WARMLINE_DEMO_DB": str(demo_db),
        "WARMLINE_APP_ID": f"bench-{port}",
        "WARMLINE_REDIS_PREFIX": f"warmline:v1:bench-{port}:",
        "WARMLINE_LOG_LEVEL": "warning",
        **env,
    }
    log = open(workdir / "worker.log", "ab")  # noqa: SIM115  # lives as long as the worker
    pin = ["taskset", "-c", cpus] if cpus is not None else []
    proc = subprocess.Popen(
        [*pin, sys.executable, "-m", "warmline", "worker"],
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    return proc, url, worker_env["WARMLINE_APP_ID"]
