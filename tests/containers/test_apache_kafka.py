"""The same lookup flow on real Apache Kafka (KRaft) and Redis images, via testcontainers."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from warmline.client import LookupClient
from warmline.commands.dev import wait_ready
from warmline.commands.embedded_broker import create_topics
from warmline.commands.processes import free_port, stop_process


def _docker_answers() -> str | None:
    """None when a Docker engine answers, else why not (the docker CLI asks the engine)."""
    if shutil.which("docker") is None:
        return "no docker client on PATH; the containers tier runs where Docker is installed"
    try:
        probe = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 15 s"
    if probe.returncode != 0 or not probe.stdout.strip():
        return "no Docker engine answers (`docker info` failed); the containers tier runs where one does"
    return None


_no_docker = _docker_answers()
pytestmark = pytest.mark.skipif(_no_docker is not None, reason=_no_docker or "")


@pytest.fixture(name="stack", scope="module")
def _stack() -> Iterator[tuple[str, str]]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.redis import RedisContainer

    with KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka, RedisContainer("redis:7-alpine") as redis:
        redis_url = f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"
        yield kafka.get_bootstrap_server(), redis_url


def test_lookup_round_trip_on_apache_kafka(stack: tuple[str, str], demo_db: Path, tmp_path: Path) -> None:
    bootstrap, redis_url = stack
    topics = ["call-started", "lookup-request", "lookup-reply", "lookup-dlq", "customer-changed"]
    asyncio.run(create_topics(bootstrap, topics, 8))
    port = free_port()
    env = {
        **os.environ,
        "WARMLINE_BROKER": f"kafka://{bootstrap}",
        "WARMLINE_REDIS_URL": redis_url,
        "WARMLINE_WEB_PORT": str(port),
        "WARMLINE_DATA_DIR": str(tmp_path),
        "WARMLINE_DEMO_DB": str(demo_db),
        "WARMLINE_DEMO_LATENCY_MS": "10",
        "WARMLINE_CONSUMER_FETCH_MAX_WAIT_MS": "10",
        "WARMLINE_BROKER_SESSION_TIMEOUT_S": "10",
    }
    proc = subprocess.Popen([sys.executable, "-m", "warmline", "worker"], env=env, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, timeout_s=120)

        async def ask() -> tuple[str, str]:
            async with LookupClient(bootstrap, fetch_max_wait_ms=10) as client:
                first = await client.lookup("customer_id", "C-000042", timeout_ms=10_000)
                second = await client.lookup("customer_id", "C-000042", timeout_ms=10_000)
            return str(first.source), str(second.source)

        assert asyncio.run(ask()) == ("upstream", "l1")
    finally:
        stop_process(proc)
