"""Redis HA topologies ready to be hurt: a Sentinel set or a Cluster, the primary to kill, and when failover is over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
import redis.asyncio as aredis

from warmline.cache.l2 import RedisL2
from warmline.cache.redis_client import RedisConfig, close_redis, parse_sentinels
from warmline.models import CacheEntry, Customer, normalize

from .redis_servers import (
    ACL_PASSWORD,
    ACL_USER,
    RedisServers,
    acl_user_line,
    cluster_ok,
    cluster_roles,
    start_cluster,
    start_sentinel_set,
)


@dataclass
class Topology:
    """A started HA Redis: the workers' settings, the primary to kill, and how to know the failover is over."""

    kind: str
    env: dict[str, str]
    victim: int
    replica: int
    client_config: RedisConfig  # the run's own client (seeding), as the workers reach it
    failed_over: Callable[[], bool]

    async def wait_failed_over(self, within_s: float) -> bool:
        """Whether the failover is over within *within_s* (asked every 0.1 s)."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self.failed_over):
                return True
            await asyncio.sleep(0.1)
        return False

    async def seed(self, prefix: str, customer_ids: list[str]) -> None:
        """Write *customer_ids* to L2 as a worker with *prefix* would (RedisL2), fresh for an hour."""
        client = self.client_config.client()
        try:
            l2 = RedisL2(client, prefix=prefix, op_timeout_s=10)
            now = time.time()
            items = [
                (
                    normalize("customer_id", cid),
                    CacheEntry.of(Customer(customer_id=cid, name="Seeded Caller", tier="gold"), now, now + 3600),
                    3600.0,
                )
                for cid in customer_ids
            ]
            for start in range(0, len(items), 200):
                await l2.put_many(items[start : start + 200])
        finally:
            await close_redis(client)


def sentinel_topology(servers: RedisServers, password_file: Path) -> Topology:
    """A primary, a replica and sentinels, the workers logged in as ACL_USER with the password in *password_file*."""
    redis_set = start_sentinel_set(servers, extra=acl_user_line())
    sentinels = ",".join(f"127.0.0.1:{p}" for p in redis_set.sentinels)
    url = f"redis://{ACL_USER}@127.0.0.1:{redis_set.primary}/0"  # the sentinels say where the primary is

    def failed_over() -> bool:
        with redis.Redis(port=redis_set.sentinels[0]) as watcher:
            return bool(watcher.sentinel_get_master_addr_by_name(redis_set.master_name)[1] == redis_set.replica)

    return Topology(
        kind="sentinel",
        env={
            "WARMLINE_REDIS_MODE": "sentinel",
            "WARMLINE_REDIS_URL": url,
            "WARMLINE_REDIS_PASSWORD_FILE": str(password_file),
            "WARMLINE_REDIS_SENTINELS": sentinels,
            "WARMLINE_REDIS_SENTINEL_MASTER": redis_set.master_name,
        },
        victim=redis_set.primary,
        replica=redis_set.replica,
        client_config=RedisConfig(
            url,
            mode="sentinel",
            sentinels=parse_sentinels(sentinels),
            sentinel_master=redis_set.master_name,
            password=ACL_PASSWORD,
        ),
        failed_over=failed_over,
    )


def cluster_topology(servers: RedisServers, password_file: Path) -> Topology:
    """Three primaries with a replica each; the victim is a primary, the workers know a node that survives it."""
    ports = start_cluster(servers, replicas=1, extra=acl_user_line())
    roles = cluster_roles(ports[0])
    victim = next(p for p in ports if roles[p] is None)
    replica = next(p for p, primary in roles.items() if primary == victim)
    survivor = next(p for p in ports if p not in (victim, replica))
    url = f"redis://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{survivor}/0"  # the password in the URL, as many set it

    def failed_over() -> bool:
        others = [p for p in ports if p != victim]
        return cluster_roles(survivor).get(replica, 0) is None and all(cluster_ok(p) for p in others)

    return Topology(
        kind="cluster",
        env={"WARMLINE_REDIS_MODE": "cluster", "WARMLINE_REDIS_URL": url},
        victim=victim,
        replica=replica,
        client_config=RedisConfig(url, mode="cluster"),
        failed_over=failed_over,
    )


async def wait_replicated(port: int) -> int:
    """Block until the replica of the primary on *port* has every write so far (``WAIT``); the replicas that have."""
    primary = aredis.Redis(port=port)
    try:
        return int(await primary.wait(1, 10_000))
    finally:
        await primary.aclose()
