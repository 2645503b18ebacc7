"""Redis as production runs it, for tests and benchmarks: TLS with an ACL user, a Sentinel set, a Cluster.

Each is a real ``redis-server`` on ports of its own (no persistence), stopped by the test.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from warmline.commands.processes import free_port, port_taken, stop_process, wait_port

from .procs import Service
from .tls import Pki

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
ACL_USER, ACL_PASSWORD = "warmline", "l2-secret-Zq81xP"  # a test credential


def acl_user_line(user: str = ACL_USER, password: str = ACL_PASSWORD) -> str:
    """A config line adding an ACL user with every right (the default user stays, for replication and sentinels)."""
    return f"user {user} on >{password} ~* &* +@all\n"


@dataclass
class RedisServer(Service):
    """A private redis-server without persistence (stopping it empties it), with the ACL user ACL_USER."""

    def command(self) -> list[str]:
        return [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--user", ACL_USER, "on", f">{ACL_PASSWORD}", "~*", "&*", "+@all",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@dataclass
class RedisServers:
    """Started redis-server processes; stop() ends them all."""

    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    by_port: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, config: str, port: int, *, sentinel: bool = False) -> subprocess.Popen[bytes]:
        conf = self.workdir / f"{name}.conf"
        conf.write_text(f'save ""\nappendonly no\ndir {self.workdir}\n{config}')
        assert REDIS_SERVER is not None
        args = [REDIS_SERVER, str(conf), *(["--sentinel"] if sentinel else [])]
        with open(self.workdir / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        self.by_port[port] = proc
        wait_port(port, proc, "redis-server")
        return proc

    def kill(self, port: int) -> None:
        """SIGKILL the server on *port* (a primary dying)."""
        proc = self.by_port.pop(port)
        proc.kill()
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs:
            stop_process(proc, grace_s=5)
        self.procs.clear()


def start_tls_acl(servers: RedisServers, pki: Pki) -> int:
    """A TLS-only Redis (server certificate from *pki*) whose only user is ACL_USER; its TLS port."""
    port = free_port()
    servers.start(
        f"tls-{port}",
        f"port 0\ntls-port {port}\nbind 127.0.0.1\ntls-cert-file {pki.server_cert}\n"
        f"tls-key-file {pki.server_key}\ntls-ca-cert-file {pki.ca}\ntls-auth-clients no\n"
        f"user default off\nuser {ACL_USER} on >{ACL_PASSWORD} ~* &* +@all\n",
        port,
    )
    return port


@dataclass(frozen=True)
class SentinelSet:
    """A primary, its replica and three sentinels watching them as "mymaster"."""

    primary: int
    replica: int
    sentinels: tuple[int, ...]
    master_name: str = "mymaster"


def start_sentinel_set(servers: RedisServers, extra: str = "") -> SentinelSet:
    """One primary, one replica, three sentinels (quorum 2, down after 1 s); *extra* config lines for both servers
    (e.g. acl_user_line())."""
    primary, replica = free_port(), free_port()
    servers.start(f"primary-{primary}", f"port {primary}\nbind 127.0.0.1\n{extra}", primary)
    servers.start(
        f"replica-{replica}", f"port {replica}\nbind 127.0.0.1\nreplicaof 127.0.0.1 {primary}\n{extra}", replica
    )
    sentinels = tuple(free_port() for _ in range(3))
    for port in sentinels:
        servers.start(
            f"sentinel-{port}",
            f"port {port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {primary} 2\n"
            "sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\n",
            port,
            sentinel=True,
        )
    return SentinelSet(primary, replica, sentinels)


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10,000) is free too: Redis refuses ports over 55,535."""
    while True:
        port = random.randrange(20_000, 45_000)
        if not port_taken(port) and not port_taken(port + 10_000):
            return port


def start_cluster(servers: RedisServers, primaries: int = 3, *, replicas: int = 0, extra: str = "") -> list[int]:
    """A Cluster of *primaries* primaries with *replicas* replicas each, all slots assigned; every node's port
    (redis-cli makes the first *primaries* the primaries). *extra*: config lines for every node."""
    ports = [_cluster_port() for _ in range(primaries * (1 + replicas))]
    for port in ports:
        servers.start(
            f"cluster-{port}",
            f"port {port}\nbind 127.0.0.1\ncluster-enabled yes\ncluster-config-file nodes-{port}.conf\n"
            f"cluster-node-timeout 2000\n{extra}",
            port,
        )
    assert REDIS_CLI is not None
    subprocess.run(
        [
            REDIS_CLI,
            "--cluster",
            "create",
            *(f"127.0.0.1:{p}" for p in ports),
            "--cluster-replicas",
            str(replicas),
            "--cluster-yes",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # every node must agree the cluster is up, with every replica attached
        states = [_cli(p, "cluster", "info") for p in ports]
        roles = cluster_roles(ports[0])
        attached = sum(1 for primary in roles.values() if primary is not None)
        complete = len(roles) == len(ports) and attached == len(ports) - primaries
        if complete and all("cluster_state:ok" in s for s in states):
            return ports
        time.sleep(0.2)
    raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")


def _cli(port: int, *args: str) -> str:
    assert REDIS_CLI is not None
    return subprocess.run([REDIS_CLI, "-p", str(port), *args], capture_output=True, text=True, timeout=5).stdout


def cluster_roles(port: int) -> dict[int, int | None]:
    """What the node on *port* believes: every live node's port → None for a primary, its primary's port for a
    replica (``CLUSTER NODES``; failed nodes left out)."""
    ids: dict[str, int] = {}
    rows = []
    for line in _cli(port, "cluster", "nodes").splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        node_id, address, flags, primary_id = fields[0], fields[1], fields[2].split(","), fields[3]
        node_port = int(address.split("@")[0].rsplit(":", 1)[1])
        ids[node_id] = node_port
        if "fail" not in flags and "fail?" not in flags:
            rows.append((node_port, "master" in flags, primary_id))
    return {p: None if is_primary else ids.get(pid) for p, is_primary, pid in rows}


def cluster_ok(port: int) -> bool:
    """The node on *port* says every slot is served (``cluster_state:ok``)."""
    return "cluster_state:ok" in _cli(port, "cluster", "info")


def clean_redis(redis_url: str, prefix: str) -> None:
    """Delete every key under *prefix* (COUNT 10,000 per SCAN: the shared Redis may hold many keys)."""
    client = redis.Redis.from_url(redis_url)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=10_000):
            batch.append(key)
            if len(batch) >= 10_000:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)
    finally:
        client.close()
