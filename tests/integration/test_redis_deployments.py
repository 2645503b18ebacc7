"""L2 on Redis as it is deployed: TLS with an ACL user (password from a file), and a three-primary Cluster.

Real redis-server processes (harness/redis_servers.py). The worker serves lookups with L2 on each;
refused credentials leave it running without L2, saying so without the password.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster

from harness.redis_servers import (
    ACL_PASSWORD,
    ACL_USER,
    REDIS_CLI,
    REDIS_SERVER,
    RedisServers,
    start_cluster,
    start_sentinel_set,
    start_tls_acl,
)
from harness.tls import Pki, make_pki
from warmline.cache.l2 import RedisL2
from warmline.cache.redis_client import RedisConfig, close_redis, parse_sentinels, redacted
from warmline.errors import L2Unavailable
from warmline.models import CacheEntry, normalize

from ..fakes import customer
from .conftest import Cluster, http_get

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None or REDIS_CLI is None, reason="needs redis-server and redis-cli on PATH"
)


@pytest.fixture(name="pki", scope="module")
def _pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(name="servers")
def _servers(tmp_path: Path) -> Iterator[RedisServers]:
    servers = RedisServers(tmp_path)
    yield servers
    servers.stop()


@pytest.fixture(name="tls_port")
def _tls_port(servers: RedisServers, pki: Pki) -> int:
    return start_tls_acl(servers, pki)


@pytest.fixture(name="cluster_ports")
def _cluster_ports(servers: RedisServers) -> list[int]:
    return start_cluster(servers)


async def _primary_port(sentinel: aredis.Redis, master_name: str) -> int | None:
    """The port the sentinel names for *master_name*'s primary (None before it knows one)."""
    address = await sentinel.sentinel_get_master_addr_by_name(master_name)
    return address[1] if isinstance(address, tuple) else None


def _tls_client_config(url: str, pki: Pki) -> RedisConfig:
    """A test's own TLS client. redis-py waits for a connection's TLS shutdown at most its connect
    timeout (0.5 s by default) and then raises; after a refused AUTH that error ends as the very
    L2Unavailable the test expects. On a loaded CI machine the test's loop then closed before the
    shutdown finished, and the half-closed socket surfaced later as another test's unclosed transport."""
    return RedisConfig(url, ssl_ca_file=str(pki.ca), connect_timeout_s=10)


def _entry(cid: str, phone: str) -> CacheEntry:
    return CacheEntry.of(
        customer(cid, phone, f"{cid.lower()}@example.com"), fetched_at=time.time(), expires_at=time.time() + 60
    )


async def test_l2_reads_and_writes_over_tls_as_an_acl_user(tls_port: int, pki: Pki) -> None:
    url = f"rediss://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{tls_port}/0"
    client = _tls_client_config(url, pki).client()
    l2 = RedisL2(client, prefix="warmline:v1:tls:", op_timeout_s=2)
    try:
        entry = _entry("C-000042", "+14155550142")
        await l2.put(normalize("phone", "+14155550142"), entry, 60)
        assert await l2.get(normalize("phone", "+14155550142")) == entry
    finally:
        await client.aclose()


async def test_a_refused_acl_password_is_l2_unavailable_and_never_shown(tls_port: int, pki: Pki) -> None:
    wrong = "not-the-password-Yk2"  # a test credential
    config = _tls_client_config(f"rediss://{ACL_USER}:{wrong}@127.0.0.1:{tls_port}/0", pki)
    client = config.client()
    try:
        with pytest.raises(L2Unavailable) as refused:
            # redis-py may try a refused AUTH again, each close waiting up to the 10 s above: a timeout
            # of ours must not cut one short (pytest-timeout still bounds the test).
            await RedisL2(client, op_timeout_s=150).ping()
    finally:
        await client.aclose()
    assert wrong not in config.scrub(str(refused.value))
    assert redacted(config.url) == f"rediss://{ACL_USER}:***@127.0.0.1:{tls_port}/0"


async def test_a_worker_keeps_l2_on_tls_redis_with_its_password_from_a_file(
    cluster: Cluster, tls_port: int, pki: Pki, tmp_path: Path
) -> None:
    secret = tmp_path / "redis-password"
    secret.write_text(ACL_PASSWORD + "\n")  # as an editor or `kubectl create secret --from-file` leaves it
    prefix = cluster.prefix
    worker = cluster.worker(
        WARMLINE_REDIS_URL=f"rediss://{ACL_USER}@127.0.0.1:{tls_port}/0",
        WARMLINE_REDIS_PASSWORD_FILE=str(secret),
        WARMLINE_REDIS_SSL_CA_FILE=str(pki.ca),
    )
    status, _, body = await http_get(f"{worker.url}/v1/lookup", customer_id="C-000011")
    assert status == 200 and body["status"] == "ok"
    client = _tls_client_config(f"rediss://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{tls_port}/0", pki).client()
    try:
        assert await client.exists(f"{prefix}cust:C-000011") == 1  # written through to L2
    finally:
        await client.aclose()
    _, _, stats = await http_get(f"{worker.url}/v1/stats")
    assert ACL_PASSWORD not in str(stats)
    assert ACL_PASSWORD not in worker.log_path.read_text()


async def test_a_worker_whose_redis_refuses_it_runs_without_l2_and_says_so(
    cluster: Cluster, tls_port: int, pki: Pki
) -> None:
    wrong = "wrong-password-Pq7"  # a test credential
    worker = cluster.worker(
        WARMLINE_REDIS_URL=f"rediss://{ACL_USER}:{wrong}@127.0.0.1:{tls_port}/0",
        WARMLINE_REDIS_SSL_CA_FILE=str(pki.ca),
    )
    status, _, body = await http_get(f"{worker.url}/v1/lookup", customer_id="C-000012")
    assert status == 200 and body["status"] == "ok"  # from the source: no L2, still answered
    log = worker.log_path.read_text()
    assert f"Redis at rediss://{ACL_USER}:***@127.0.0.1:{tls_port}/0 is unreachable" in log
    assert wrong not in log


@pytest.fixture(name="cluster_l2")
async def _cluster_l2(cluster_ports: list[int]) -> AsyncIterator[RedisL2]:
    client = RedisConfig(f"redis://127.0.0.1:{cluster_ports[0]}/0", mode="cluster").client()
    yield RedisL2(client, prefix="warmline:v1:cl:", op_timeout_s=2)
    await client.aclose()


async def test_l2_batches_across_the_slots_of_a_three_primary_cluster(cluster_l2: RedisL2) -> None:
    items = [
        (normalize("phone", f"+1415555{n:04d}"), _entry(f"C-{n:06d}", f"+1415555{n:04d}"), 60.0) for n in range(40)
    ]
    await cluster_l2.put_many(items)  # one pipeline: redis-py sends each node its part at once
    client = cluster_l2._client
    assert isinstance(client, RedisCluster)
    slots = {client.keyslot(f"warmline:v1:cl:key:{key}") for key, _, _ in items}
    nodes = {client.nodes_manager.get_node_from_slot(slot).port for slot in slots}
    assert len(nodes) == 3  # the keys really are spread over every primary
    found = await cluster_l2.mget([key for key, _, _ in items] + [normalize("phone", "+14155559999")])
    assert found == [entry for _, entry, _ in items] + [None]


async def test_a_worker_keeps_l2_on_a_cluster(cluster: Cluster, cluster_ports: list[int]) -> None:
    worker = cluster.worker(WARMLINE_REDIS_URL=f"redis://127.0.0.1:{cluster_ports[1]}/0", WARMLINE_REDIS_MODE="cluster")
    for n in range(20, 26):
        status, _, body = await http_get(f"{worker.url}/v1/lookup", customer_id=f"C-{n:06d}")
        assert status == 200 and body["status"] == "ok"
    client = RedisConfig(f"redis://127.0.0.1:{cluster_ports[2]}/0", mode="cluster").client()
    try:
        stored = [await client.exists(f"{cluster.prefix}cust:C-{n:06d}") for n in range(20, 26)]
    finally:
        await client.aclose()
    assert stored == [1] * 6


async def test_l2_follows_a_sentinel_failover(servers: RedisServers) -> None:
    redis_set = start_sentinel_set(servers)
    sentinels = ",".join(f"127.0.0.1:{p}" for p in redis_set.sentinels)
    config = RedisConfig(
        "redis://127.0.0.1:1/0",  # the host is the sentinels' business
        mode="sentinel",
        sentinels=parse_sentinels(sentinels),
        sentinel_master=redis_set.master_name,
    )
    client = config.client()
    l2 = RedisL2(client, prefix="warmline:v1:sent:", op_timeout_s=2)
    key = normalize("phone", "+14155550177")
    try:
        await l2.put(key, _entry("C-000177", "+14155550177"), 60)
        assert await l2.get(key) is not None
        primary = aredis.Redis(port=redis_set.primary)
        try:  # positive signal: the replica has the write (replication is asynchronous)
            assert await primary.wait(1, 10_000) == 1
        finally:
            await primary.aclose()
        servers.kill(redis_set.primary)
        watcher = aredis.Redis(port=redis_set.sentinels[0])
        try:  # positive signal: the sentinels name the replica as the primary
            async with asyncio.timeout(60):
                while await _primary_port(watcher, redis_set.master_name) != redis_set.replica:
                    await asyncio.sleep(0.2)
        finally:
            await watcher.aclose()
        later = normalize("phone", "+14155550178")
        async with asyncio.timeout(30):  # the breaker may be open for a moment: L2 comes back by itself
            while True:
                try:
                    await l2.put(later, _entry("C-000178", "+14155550178"), 60)
                    break
                except L2Unavailable:
                    await asyncio.sleep(0.2)
        assert await l2.get(later) is not None
        assert await l2.get(key) is not None  # replicated before the primary died
    finally:
        await close_redis(client)
