"""The test stack: one Tansu per session, per-test topic names and Redis prefix, worker processes (harness)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pytest

from harness.broker import Broker, random_suffix, topic_env, wire_topics
from harness.redis_servers import clean_redis
from harness.workers import Worker
from warmline.client import LookupClient
from warmline.commands.processes import free_port

__all__ = ["random_suffix"]


@pytest.fixture(name="tansu", scope="session")
def _tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    broker = Broker("tansu", tmp_path_factory.mktemp("tansu") / "tansu.log")
    broker.start()
    yield broker
    broker.stop()


WorkerProcess = Worker  # the tests' name for a worker they started (harness.workers)


class AnyBroker(Protocol):
    """What a cluster needs of its broker: Tansu, or Tansu behind TLS (harness.tls)."""

    @property
    def bootstrap(self) -> str:
        """host:port for Kafka clients."""
        ...

    @property
    def url(self) -> str:
        """The broker as WARMLINE_BROKER takes it."""
        ...


@dataclass
class Cluster:
    """Per-test topics, Redis prefix and the workers started for the test."""

    tansu: AnyBroker
    base_env: dict[str, str]
    tmp: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    def topic(self, name: str) -> str:
        return self.base_env[f"WARMLINE_TOPIC_{name.upper()}"]

    @property
    def prefix(self) -> str:
        return self.base_env["WARMLINE_REDIS_PREFIX"]

    def worker(self, **overrides: str) -> Worker:
        env = {**self.base_env, **overrides}
        port = int(env.get("WARMLINE_WEB_PORT", 0)) or free_port()
        n, log = len(self.workers), self.tmp / f"worker-{len(self.workers)}.log"
        worker = Worker(f"worker-{n}", log, port=port, env=env, inherit_env=False, ready_timeout_s=90)
        self.workers.append(worker)
        worker.start()
        return worker

    def client(self, reply_topic: str | None = None) -> LookupClient:
        return LookupClient(
            self.tansu.bootstrap,
            request_topic=self.topic("lookup_request"),
            reply_topic=reply_topic or self.topic("lookup_reply"),
            fetch_max_wait_ms=5,
        )


def cluster_env(broker_url: str, redis_url: str, demo_db: Path, tmp_path: Path) -> dict[str, str]:
    """A worker environment with per-test topics, app id and Redis prefix, against *broker_url*."""
    suffix = random_suffix()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "WARMLINE_APP_ID": f"warmline-{suffix}",
        "WARMLINE_BROKER": broker_url,
        "WARMLINE_REDIS_URL": redis_url,
        "WARMLINE_REDIS_PREFIX": f"warmline:v1:test-{suffix}:",
        "WARMLINE_DATA_DIR": str(tmp_path / "data"),
        "WARMLINE_DEMO_DB": str(demo_db),
        "WARMLINE_DEMO_LATENCY_MS": "20-60",
        "WARMLINE_TOPIC_PARTITIONS": "4",
        "WARMLINE_ADMIN_TOKEN": "s3cret",
        "WARMLINE_LOG_LEVEL": "info",
        **topic_env(wire_topics(suffix)),
    }


@pytest.fixture(name="cluster")
async def _cluster(tansu: Broker, demo_db: Path, redis_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(tansu, cluster_env(tansu.url, redis_url, demo_db, tmp_path), tmp_path)
    yield cluster
    for worker in cluster.workers:
        worker.stop()
    clean_redis(redis_url, cluster.prefix)


async def http_get(url: str, **params: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    """GET *url* → (status, headers, JSON body)."""
    async with aiohttp.ClientSession() as s, s.get(url, params=params) as resp:
        return resp.status, dict(resp.headers), await resp.json(content_type=None)


async def metric_sum(url: str, series: str) -> float:
    """The sum of the worker's /metrics samples whose line starts with *series* (name and labels)."""
    async with aiohttp.ClientSession() as s, s.get(f"{url}/metrics") as resp:
        text = await resp.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series))


async def warmed_on_owner(url: str, app_id: str, at_least: int = 1, timeout_s: float = 30) -> None:
    """Wait until the worker at *url* has warmed *at_least* callers from the call-started repartition topic."""
    series = f'warmline_messages_total{{outcome="warmed",topic="{app_id}-call-started-repartition"}}'
    async with asyncio.timeout(timeout_s):
        while await metric_sum(url, series) < at_least:
            await asyncio.sleep(0.2)


def eventually(check: Callable[[], object], timeout_s: float = 15.0, interval_s: float = 0.1) -> None:
    """Poll *check* until it returns truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval_s)
    raise AssertionError("condition not met in time")
