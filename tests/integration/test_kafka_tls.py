"""Kafka over TLS and mutual TLS (stunnel in front of Tansu), and each TLS misconfiguration as one line.

A worker and the CLI connect with WARMLINE_KAFKA_SECURITY_PROTOCOL=SSL and a private CA; the
refusals (wrong CA, a certificate for another host, no client certificate where one is required)
end `warmline lookup` and `warmline worker` with exit code 2, one line naming the setting, no
traceback.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.redis_servers import clean_redis
from harness.tls import STUNNEL, Pki, TlsBroker, make_pki
from warmline.client import LookupClient
from warmline.models import LookupStatus
from warmline.stream.security import KafkaConnection, ssl_context

from ..stack import Cluster, cluster_env, http_get, metric_sum

pytestmark = pytest.mark.skipif(STUNNEL is None, reason="needs stunnel4 (Debian's package; .ci/run installs it)")


@pytest.fixture(name="pki", scope="module")
def _pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(name="tls_broker")
def _tls_broker(pki: Pki, tmp_path: Path) -> Iterator[TlsBroker]:
    broker = TlsBroker(tmp_path, pki).start()
    yield broker
    broker.stop()


@pytest.fixture(name="mtls_broker")
def _mtls_broker(pki: Pki, tmp_path: Path) -> Iterator[TlsBroker]:
    broker = TlsBroker(tmp_path, pki, require_client_cert=True).start()
    yield broker
    broker.stop()


def _tls_env(pki: Pki, *, client_cert: bool = False, ca: Path | None = None) -> dict[str, str]:
    env = {"WARMLINE_KAFKA_SECURITY_PROTOCOL": "SSL", "WARMLINE_KAFKA_SSL_CA_FILE": str(ca or pki.ca)}
    if client_cert:
        env |= {
            "WARMLINE_KAFKA_SSL_CERT_FILE": str(pki.client_cert),
            "WARMLINE_KAFKA_SSL_KEY_FILE": str(pki.client_key),
        }
    return env


def _warmline(env: dict[str, str], *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warmline", *args], env=env, capture_output=True, text=True, timeout=timeout_s
    )


async def _serves_over(
    broker: TlsBroker, pki: Pki, env: dict[str, str], redis_url: str, demo_db: Path, tmp_path: Path
) -> None:
    """A worker on *broker* answers a Kafka lookup (LookupClient and the CLI) and an HTTP one."""
    cluster = Cluster(broker, {**cluster_env(broker.url, redis_url, demo_db, tmp_path), **env}, tmp_path)
    try:
        worker = cluster.worker()
        security = {"security_protocol": "SSL", "ssl_context": ssl_context(str(pki.ca), *_client_files(pki, env))}
        client = LookupClient(
            KafkaConnection(broker.bootstrap, security),
            request_topic=cluster.topic("lookup_request"),
            reply_topic=cluster.topic("lookup_reply"),
            fetch_max_wait_ms=5,
        )
        async with client:
            reply = await client.lookup("customer_id", "C-000007", timeout_ms=5000)
        assert reply.status is LookupStatus.OK and reply.customer is not None
        cli = await asyncio.to_thread(_warmline, cluster.base_env, "lookup", "--customer-id", "C-000008")
        assert cli.returncode == 0, cli.stderr
        assert '"customer_id": "C-000008"' in cli.stdout
        status, _, body = await http_get(f"{worker.url}/v1/lookup", customer_id="C-000009")
        assert status == 200 and body["status"] == "ok"
        # The L1 changelog has a producer of its own (librdkafka): its records reach the broker over TLS too.
        delivered = 'warmline_l1_changelog_records_total{outcome="delivered"}'
        async with asyncio.timeout(30):
            while await metric_sum(worker.url, delivered) < 3:
                await asyncio.sleep(0.2)
        assert await metric_sum(worker.url, 'warmline_l1_changelog_records_total{outcome="failed"}') == 0
    finally:
        for w in cluster.workers:
            w.stop()
        clean_redis(redis_url, cluster.prefix)


def _client_files(pki: Pki, env: dict[str, str]) -> tuple[str | None, str | None, None]:
    if "WARMLINE_KAFKA_SSL_CERT_FILE" in env:
        return str(pki.client_cert), str(pki.client_key), None
    return None, None, None


async def test_a_worker_and_the_cli_serve_lookups_over_tls(
    tls_broker: TlsBroker, pki: Pki, redis_url: str, demo_db: Path, tmp_path: Path
) -> None:
    await _serves_over(tls_broker, pki, _tls_env(pki), redis_url, demo_db, tmp_path)


async def test_a_worker_and_the_cli_serve_lookups_over_mutual_tls(
    mtls_broker: TlsBroker, pki: Pki, redis_url: str, demo_db: Path, tmp_path: Path
) -> None:
    await _serves_over(mtls_broker, pki, _tls_env(pki, client_cert=True), redis_url, demo_db, tmp_path)


def _refused(env: dict[str, str], broker: TlsBroker, command: list[str]) -> str:
    """Run *command* against *broker*: exit 2, one line, no traceback; returns the line."""
    full = {**env, "WARMLINE_BROKER": broker.url, "WARMLINE_WEB_PORT": "0"}
    proc = _warmline(full, *command)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return " ".join(lines[0].split())


@pytest.mark.parametrize("command", [["lookup", "--phone", "+14155550100"], ["worker"]])
def test_a_broker_signed_by_another_ca_is_refused_in_one_line(
    tls_broker: TlsBroker, pki: Pki, command: list[str], demo_db: Path, tmp_path: Path
) -> None:
    env = {"WARMLINE_DATA_DIR": str(tmp_path), "WARMLINE_DEMO_DB": str(demo_db), **_tls_env(pki, ca=pki.other_ca)}
    line = _refused(env, tls_broker, command)
    assert "is not trusted" in line and "WARMLINE_KAFKA_SSL_CA_FILE" in line


def test_a_certificate_for_another_host_is_refused_in_one_line(pki: Pki, tmp_path: Path) -> None:
    broker = TlsBroker(tmp_path, pki, wrong_name=True).start()
    try:
        line = _refused({"WARMLINE_DATA_DIR": str(tmp_path), **_tls_env(pki)}, broker, ["lookup", "--phone", "+1415"])
    finally:
        broker.stop()
    assert "does not name the host" in line and "WARMLINE_KAFKA_SSL_CHECK_HOSTNAME" in line


def test_no_client_certificate_where_one_is_required_is_refused_in_one_line(
    mtls_broker: TlsBroker, pki: Pki, tmp_path: Path
) -> None:
    env = {"WARMLINE_DATA_DIR": str(tmp_path), **_tls_env(pki)}
    line = _refused(env, mtls_broker, ["lookup", "--phone", "+14155550100"])
    assert "client certificate" in line and "WARMLINE_KAFKA_SSL_CERT_FILE" in line


def test_plaintext_settings_with_tls_files_are_refused_in_one_line(tls_broker: TlsBroker, pki: Pki) -> None:
    env = {"WARMLINE_KAFKA_SSL_CA_FILE": str(pki.ca)}  # the protocol left at PLAINTEXT
    line = _refused(env, tls_broker, ["lookup", "--phone", "+14155550100"])
    assert "WARMLINE_KAFKA_SECURITY_PROTOCOL is PLAINTEXT" in line
