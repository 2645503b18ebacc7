"""A benchmark stack: Tansu, the wire topics and one worker process (harness.broker, harness.workers)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from harness.broker import Broker, topic_env, wire_topics
from harness.redis_servers import clean_redis
from harness.tls import TlsBroker
from harness.workers import Worker
from warmline.commands.embedded_broker import create_topics
from warmline.sources.demo import generate

TOPICS = wire_topics()
REDIS_URL = "redis://127.0.0.1:6379/0"  # the worker's default


@dataclass
class BenchStack:
    """Tansu + one worker, torn down by stop()."""

    tansu: Broker | TlsBroker
    worker: Worker
    demo_db: Path
    workdir: Path
    env: dict[str, str]
    topics: dict[str, str]
    """The running worker's wire topics (fresh ones after each restart: no history to re-read)."""

    extra_workers: list[Worker] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.worker.url

    @property
    def app_id(self) -> str:
        """The running worker's app id (its changelog topics are named after it)."""
        return self.worker.app_id

    started: list[Worker] = field(default_factory=list)
    """Every worker this stack started, whose Redis keys stop() deletes."""

    def stop(self) -> None:
        for worker in [*self.extra_workers, self.worker]:
            worker.stop()
        self.tansu.stop()
        for url, prefix in {
            (w.env.get("WARMLINE_REDIS_URL", REDIS_URL), w.env["WARMLINE_REDIS_PREFIX"]) for w in self.started
        }:
            clean_redis(url, prefix)  # a benchmark leaves nothing behind in the shared Redis

    async def restart_worker(self, cpus: str | None = None, **env: str) -> None:
        """A fresh worker (new app id, Redis prefix, consumer group and topics) on the same broker;
        *cpus* pins it (``taskset -c``), e.g. "0" to play a slower machine."""
        self.worker.stop()
        self.topics = wire_topics(uuid.uuid4().hex[:6])
        await create_topics(self.tansu.bootstrap, self.topics.values(), 8)
        self.env = {**self.env, **env}
        self.worker = await self._start({**self.env, **topic_env(self.topics)}, cpus)

    async def add_worker(self) -> str:
        """Start one more worker of the same app (same group, same tables); returns its URL."""
        worker = await self._start({**self.env, **topic_env(self.topics), "WARMLINE_APP_ID": self.app_id})
        self.extra_workers.append(worker)
        return worker.url

    async def extra_worker(self, **env: str) -> Worker:
        """Another worker on the same broker (its own app id, consumer group and Redis prefix); the caller stops it."""
        return await self._start({**self.env, **env})

    @property
    def rss_mb(self) -> float:
        """Resident memory of the worker process."""
        return self.worker.rss_mb

    async def _start(self, env: dict[str, str], cpus: str | None = None) -> Worker:
        worker = bench_worker(self.tansu, self.workdir, self.demo_db, env, cpus)
        self.started.append(worker)
        await asyncio.to_thread(worker.start)
        return worker


async def start_stack(workdir: Path, demo_count: int = 100_000, **env: str) -> BenchStack:
    """Start everything; the worker answers the demo directory with *env* overrides."""
    broker = Broker("tansu", workdir / "tansu.log")
    await asyncio.to_thread(broker.start)
    await create_topics(broker.bootstrap, TOPICS.values(), 8)
    return await start_stack_on(broker, workdir, demo_count, **env)


async def start_stack_on(
    broker: Broker | TlsBroker, workdir: Path, demo_count: int = 100_000, **env: str
) -> BenchStack:
    """A worker on a started *broker* (Tansu, or Tansu behind TLS); it creates any topic still missing."""
    demo_db = workdir / "demo.sqlite3"
    if not demo_db.exists():
        generate(demo_db, count=demo_count)
    worker = bench_worker(broker, workdir, demo_db, env)
    stack = BenchStack(broker, worker, demo_db, workdir, env, dict(TOPICS), started=[worker])
    await asyncio.to_thread(worker.start)
    return stack


def bench_worker(
    broker: Broker | TlsBroker, workdir: Path, demo_db: Path, env: dict[str, str], cpus: str | None = None
) -> Worker:
    """A worker (not started) on *broker* answering *demo_db*: its own app id and Redis prefix unless *env* says."""
    worker = Worker("worker", workdir / "worker.log", inherit_env=False, cpus=cpus)
    worker.env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", tempfile.gettempdir()),
        "WARMLINE_BROKER": broker.url,
        "WARMLINE_WEB_PORT": str(worker.port),
        "WARMLINE_DATA_DIR": str(workdir / "data"),
        "WARMLINE_DEMO_DB": str(demo_db),
        "WARMLINE_APP_ID": f"bench-{worker.port}",
        "WARMLINE_REDIS_PREFIX": f"warmline:v1:bench-{worker.port}:",
        "WARMLINE_LOG_LEVEL": "warning",
        **env,
    }
    return worker
