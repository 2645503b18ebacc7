"""Redis as production runs it, for tests: TLS with an ACL user, and a three-primary Cluster.

Each is a real ``redis-server`` on ports of its own (no persistence), stopped by the test.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from warmline.commands.processes import free_port, stop_process

from .tls import Pki

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
ACL_USER, ACL_PASSWORD = "warmline", "l2-secret-Zq81xP"  # a test credential


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on {port}")


@dataclass
class RedisServers:
    """Started redis-server processes; stop() ends them all."""

    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, config: str, port: int) -> None:
        conf = self.workdir / f"{name}.conf"
        conf.write_text(f'save ""\nappendonly no\ndir {self.workdir}\n{config}')
        assert REDIS_SERVER is not None
        with open(self.workdir / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                [REDIS_SERVER, str(conf)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append(proc)
        _wait_port(port, proc)

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


def start_cluster(servers: RedisServers, primaries: int = 3) -> list[int]:
    """A Cluster of *primaries* primaries (no replicas), all slots assigned; their ports."""
    ports = [free_port() for _ in range(primaries)]
    for port in ports:
        servers.start(
            f"cluster-{port}",
            f"port {port}\nbind 127.0.0.1\ncluster-enabled yes\ncluster-config-file nodes-{port}.conf\n"
            "cluster-node-timeout 2000\n",
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
            "0",
            "--cluster-yes",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # every node must agree the cluster is up
        states = [
            subprocess.run(
                [REDIS_CLI, "-p", str(p), "cluster", "info"], capture_output=True, text=True, timeout=5
            ).stdout
            for p in ports
        ]
        if all("cluster_state:ok" in s for s in states):
            return ports
        time.sleep(0.2)
    raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
