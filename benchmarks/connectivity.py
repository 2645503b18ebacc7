"""Production connectivity, measured: L2 on a Redis Cluster and Kafka request→reply over TLS, each beside its floor.

- L2 hit (index GET + record GET) on a three-primary Cluster against a bare GET on the same
  Cluster, interleaved (target: p50 ≤ 3×).
- A worker's Kafka request→reply (L1 hit) through stunnel-fronted Tansu against a bare aiokafka
  echo through the same TLS terminator, interleaved (target: p99 ≤ 1.3×).
"""

from __future__ import annotations

from pathlib import Path

from harness.redis_servers import RedisServers, start_cluster
from harness.tls import TlsBroker, make_pki
from warmline.cache.redis_client import RedisConfig
from warmline.stream.security import KafkaConnection, ssl_context

from . import inprocess, serving
from .stack import start_stack_on
from .stats import Result


async def l2_on_cluster(workdir: Path, n: int) -> list[Result]:
    """L2 hit vs bare GET, both on a fresh three-primary Cluster."""
    workdir.mkdir(parents=True, exist_ok=True)
    servers = RedisServers(workdir)
    try:
        ports = start_cluster(servers)
        client = RedisConfig(f"redis://127.0.0.1:{ports[0]}/0", mode="cluster").client()
        return await inprocess.l2_hit_on(client, n, label=" on a 3-primary Cluster")
    finally:
        servers.stop()


async def kafka_over_tls(workdir: Path, redis_url: str, n: int) -> list[Result]:
    """A worker over TLS (private CA) answering L1 hits, against a bare TLS echo through the same stunnel."""
    pki = make_pki(workdir / "pki")
    broker = TlsBroker(workdir, pki).start()
    env = {
        "WARMLINE_KAFKA_SECURITY_PROTOCOL": "SSL",
        "WARMLINE_KAFKA_SSL_CA_FILE": str(pki.ca),
        "WARMLINE_DEMO_LATENCY_MS": "0",
        "WARMLINE_REDIS_URL": redis_url,
        "WARMLINE_CONSUMER_FETCH_MAX_WAIT_MS": "5",
        "WARMLINE_PRODUCER_MAX_BATCH_SIZE": "1",
    }
    try:
        stack = await start_stack_on(broker, workdir, demo_count=2_000, **env)
        try:
            connection = KafkaConnection(
                broker.bootstrap,
                {"security_protocol": "SSL", "ssl_context": ssl_context(str(pki.ca), None, None, None)},
            )
            return await serving.kafka_l1(stack, n, connection=connection, label=" over TLS", bound=1.3)
        finally:
            stack.stop()
    finally:
        broker.stop()
