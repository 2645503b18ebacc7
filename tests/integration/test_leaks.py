"""No secret or personal data in worker logs, dead-letter metadata, /metrics or /v1/stats (keys appear only as
``kind#hash``), nor in what a worker or command says when Kafka refuses it."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest
import redis.asyncio as aredis
from aiokafka import AIOKafkaProducer

from harness.fault_stack import FaultStack
from harness.kafka import first_records
from harness.leaks import find_leaks, scan_report
from harness.redis_servers import ACL_PASSWORD, ACL_USER, REDIS_SERVER, RedisServers, acl_user_line
from harness.tilores_server import CARD, TiloresServer
from harness.tls import make_pki
from harness.workers import Worker
from warmline.commands.processes import free_port
from warmline.models import DeadLetter, normalize, parse

from .conftest import Cluster

API_TOKENS = ("api-key-leaktest-old", "api-key-leaktest-new")
ADMIN_TOKEN = "admin-token-leaktest-Vb6"  # replaces the cluster's WARMLINE_ADMIN_TOKEN
CLIENT_ID = "warmline"
CLIENT_SECRET = "tilores-secret-Zq81xVv"  # a test credential the scan must never find
# Every other secret a worker can hold (test credentials). The embedded broker has no SASL or TLS: the worker
# of the first test holds the Kafka ones unused; test_a_refused_kafka_start_shows_no_secret has them used.
KAFKA_SASL_PASSWORD = "kafka-sasl-leaktest-Hj3"
KAFKA_OAUTH_SECRET = "kafka-oauth-leaktest-Rt5"
KAFKA_KEY_PASSWORD = "kafka-keypass-leaktest-Lp8"
LANGSMITH_API_KEY = "langsmith-leaktest-Nc4"
ADA_PHONE = "(415) 555-0123"  # in the Tilores fake: Ada Lovelace, whose records also hold a card number
BOB_EMAIL = "Bob@Example.com"
UNKNOWN_PHONE = "+1 212 555 0198"
UNKNOWN_EMAIL = "nobody.here@example.org"
BAD_MESSAGE_PHONE = "+1 303 555 0142"


def test_find_leaks_finds_every_form() -> None:
    leaky = {
        "log": (
            "lookup of +14155550123 by 4155550123, (415) 555-0123 and 415.555.0123 for BOB@example.COM\n"
            f"token {ADMIN_TOKEN} and {API_TOKENS[1]} and Basic {_literals()['Tilores basic credentials']} {CARD}"
        )
    }
    literals = _literals()
    found = find_leaks(leaky, [ADA_PHONE], literals, ["bob@example.com"])
    assert [leak.what for leak in found if leak.what.startswith("phone")] == [f"phone {ADA_PHONE}"] * 4
    assert {leak.what for leak in found} >= {"e-mail bob@example.com", "admin token", "API token 1", "card number"}
    assert "Tilores basic credentials" in {leak.what for leak in found}
    clean = {
        "log": "lookup of phone#a1b2c3d4e5f6 took 41.5 ms at 2026-11-26 14:15:55,123; 200 OK (4155); "
        "request 17641555501230 id a4155550123b"  # the digits inside a longer number or word are no phone
    }
    assert find_leaks(clean, [ADA_PHONE], literals, ["bob@example.com"]) == []


def _literals() -> dict[str, str]:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return {
        "admin token": ADMIN_TOKEN,
        **{f"API token {i}": t for i, t in enumerate(API_TOKENS)},
        "Tilores client secret": CLIENT_SECRET,
        "Tilores basic credentials": basic,
        "card number": CARD,
        "customer name": "Lovelace",
        "Redis password": ACL_PASSWORD,
        "Kafka SASL password": KAFKA_SASL_PASSWORD,
        "Kafka OAuth client secret": KAFKA_OAUTH_SECRET,
        "Kafka SSL key password": KAFKA_KEY_PASSWORD,
        "LangSmith API key": LANGSMITH_API_KEY,
    }


def _secret_file(directory: Path, name: str, value: str) -> str:
    path = directory / "secrets" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(value + "\n")
    return str(path)


@pytest.fixture(name="acl_redis")
def _acl_redis(tmp_path: Path) -> Iterator[int]:
    """A private redis-server with the ACL user redis_servers.ACL_USER; its port."""
    if REDIS_SERVER is None:
        pytest.skip("needs redis-server on PATH")
    servers = RedisServers(tmp_path)
    port = free_port()
    servers.start(f"acl-{port}", f"port {port}\nbind 127.0.0.1\n{acl_user_line()}", port)
    yield port
    servers.stop()


def _secret_env(directory: Path, redis_port: int) -> dict[str, str]:
    """Every secret setting, some as ``<NAME>_FILE``: L2 as an ACL user, tokens, Kafka and LangSmith keys."""
    return {
        "WARMLINE_REDIS_URL": f"redis://{ACL_USER}@127.0.0.1:{redis_port}/0",
        "WARMLINE_REDIS_PASSWORD_FILE": _secret_file(directory, "redis", ACL_PASSWORD),
        "WARMLINE_API_TOKENS_FILE": _secret_file(directory, "api-tokens", ",".join(API_TOKENS)),
        "WARMLINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARMLINE_KAFKA_SASL_USERNAME": "leaktest",
        "WARMLINE_KAFKA_SASL_PASSWORD": KAFKA_SASL_PASSWORD,
        "WARMLINE_KAFKA_OAUTH_CLIENT_SECRET_FILE": _secret_file(directory, "oauth", KAFKA_OAUTH_SECRET),
        "WARMLINE_KAFKA_SSL_KEY_PASSWORD": KAFKA_KEY_PASSWORD,
        "LANGSMITH_API_KEY": LANGSMITH_API_KEY,
    }


@pytest.fixture(name="tilores")
async def _tilores() -> AsyncIterator[TiloresServer]:
    server = await TiloresServer().start()
    server.state.client_id, server.state.client_secret = CLIENT_ID, CLIENT_SECRET
    yield server
    await server.stop()


def _tilores_env(server: TiloresServer, secret_file: str | None = None) -> dict[str, str]:
    secret = {"TILORES_CLIENT_SECRET_FILE": secret_file} if secret_file else {"TILORES_CLIENT_SECRET": CLIENT_SECRET}
    return {
        "WARMLINE_SOURCE": "tilores",
        "TILORES_API_URL": server.api_url,
        "TILORES_TOKEN_URL": server.token_url,
        "TILORES_CLIENT_ID": CLIENT_ID,
        **secret,
        "TILORES_RECORD_FIELDS": "id,source,first_name,last_name,phone,email,customer_no,tier",
        "TILORES_PARAM_CUSTOMER_ID": "customer_no",
    }


async def test_logs_and_dead_letters_hold_no_secret_or_personal_data(
    cluster: Cluster, tilores: TiloresServer, acl_redis: int, tmp_path: Path
) -> None:
    # At the production log level (the cluster's WARMLINE_LOG_LEVEL=info). At debug, Faust's and aiokafka's own
    # loggers print every produced record, keys and cached customers included: debug is not for production.
    # In a thread: this event loop serves the Tilores fake the worker's start-up check asks.
    tilores_secret = _secret_file(tmp_path, "tilores", CLIENT_SECRET)
    env = {**_secret_env(tmp_path, acl_redis), **_tilores_env(tilores, tilores_secret)}
    worker = await asyncio.to_thread(cluster.worker, **env)
    token = {"Authorization": f"Bearer {API_TOKENS[0]}"}
    wrong_admin = {"Authorization": "Bearer not-the-admin-token"}
    bodies: dict[str, str] = {}
    async with aiohttp.ClientSession() as s:
        lookups = [
            ({"phone": ADA_PHONE}, token, 200),
            ({"phone": ADA_PHONE}, token, 200),  # again, from L1
            ({"email": BOB_EMAIL}, token, 200),
            ({"phone": UNKNOWN_PHONE}, token, 404),
            ({"email": UNKNOWN_EMAIL}, token, 404),
            ({"phone": "415-55"}, token, 400),
            ({"email": "bob at example.com"}, token, 400),
            ({"phone": ADA_PHONE}, {}, 401),
            ({"phone": ADA_PHONE}, {"Authorization": "Bearer wrong-api-key"}, 401),
        ]
        for query, headers, expected in lookups:
            async with s.get(f"{worker.url}/v1/lookup", params=query, headers=headers) as resp:
                assert resp.status == expected, (query, await resp.text())
                if expected in (401, 403):
                    bodies[f"{query} → {expected}"] = await resp.text()
        admin_calls = [
            ("DELETE", "/v1/cache/phone:+14155550123", None),
            ("POST", "/v1/prewarm", {"keys": ["phone:+14155550123", f"email:{BOB_EMAIL}"]}),
        ]
        for method, path, body in admin_calls:
            for headers in (wrong_admin, {"Authorization": f"Bearer {API_TOKENS[1]}"}, {}):
                async with s.request(method, f"{worker.url}{path}", json=body, headers=headers) as resp:
                    assert resp.status == 401
                    bodies[f"{method} {path} {headers}"] = await resp.text()
        for path in ("/metrics", "/v1/stats"):
            async with s.get(f"{worker.url}{path}", headers=token) as resp:
                assert resp.status == 200
                bodies[path] = await resp.text()
    stats = orjson.loads(bodies["/v1/stats"])
    assert stats["cache"]["l2_errors"] == 0 and stats["l2"]["breaker"] == "closed"  # L2 took the ACL user's password
    async with aredis.Redis(port=acl_redis, username=ACL_USER, password=ACL_PASSWORD) as l2:
        held = [key async for key in l2.scan_iter(match=f"{cluster.prefix}cust:*", count=10_000)]
        assert held  # and holds what was looked up
    async with cluster.client() as client:
        assert (await client.lookup("phone", ADA_PHONE)).status == "ok"
        assert (await client.lookup("email", UNKNOWN_EMAIL)).status == "not_found"
        assert (await client.lookup("phone", "415-55")).status == "invalid"
    bad_key = str(normalize("phone", BAD_MESSAGE_PHONE))
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
    await producer.start()
    try:
        bad = {"request_id": "leak-1", "by": "phone", "value": BAD_MESSAGE_PHONE, "secret_field": CLIENT_SECRET}
        await producer.send_and_wait(cluster.topic("lookup_request"), orjson.dumps(bad), key=bad_key.encode())
    finally:
        await producer.stop()
    [record] = await first_records(cluster.tansu.bootstrap, cluster.topic("lookup_dlq"), 1, timeout_s=30)
    dlq_key, dlq_value, dlq_headers = record.key, record.value, list(record.headers)
    letter = parse(DeadLetter, dlq_value)
    assert letter.original_size > 0  # the payload is kept for operators, by design; its metadata is what we scan
    assert dlq_key == bad_key.encode()  # the original message's key, kept like its payload (docs/protocol.md)
    await asyncio.to_thread(worker.stop)  # flushes the log

    log = worker.log_path.read_text()
    assert "dead letter from" in log  # the scan reads what the worker really wrote
    assert "WARMLINE_API_TOKENS" not in log  # tokens are set: no "open API" warning either
    metadata = letter.model_dump(exclude={"original_b64"})
    texts = {
        "worker log": log,
        "dead-letter metadata": orjson.dumps(metadata).decode() + repr(dlq_headers),
        **bodies,
    }
    leaks = find_leaks(
        texts,
        phones=[ADA_PHONE, UNKNOWN_PHONE, BAD_MESSAGE_PHONE, "+12025550111"],  # + Bob's number, from his record
        literals=_literals(),
        emails=[BOB_EMAIL, UNKNOWN_EMAIL, "ada@example.com", "ada.king@example.org"],
    )
    assert not leaks, "\n".join(f"{leak.what} in {leak.where}: …{leak.excerpt}…" for leak in leaks)


async def test_a_tilores_worker_without_api_tokens_warns_once(cluster: Cluster, tilores: TiloresServer) -> None:
    worker = await asyncio.to_thread(cluster.worker, **_tilores_env(tilores))
    async with aiohttp.ClientSession() as s:
        for _ in range(3):
            async with s.get(f"{worker.url}/v1/lookup", params={"phone": ADA_PHONE}) as resp:
                assert resp.status == 200  # open: no tokens
    await asyncio.to_thread(worker.stop)
    lines = [line for line in worker.log_path.read_text().splitlines() if "WARMLINE_API_TOKENS is not set" in line]
    assert len(lines) == 1 and "WARNING" in lines[0], lines


def test_the_scan_reports_every_secret_it_is_shown(tmp_path: Path) -> None:
    """An injected leak of each secret is found, plainly or URL-encoded (a Redis URL's password), by both scans."""
    secrets = {k: v for k, v in _literals().items() if k not in ("card number", "customer name")}
    for what, secret in secrets.items():
        encoded = "".join(f"%{byte:02X}" for byte in secret.encode())  # nothing of it left in clear
        line = f"[WARNING] Redis at redis://{ACL_USER}:{encoded}@127.0.0.1:1/0 is unreachable"
        report = scan_report({"worker log": f"[INFO] ready\n{line}\n"}, secrets)
        assert report["leaks"] == {f"{what} in worker log (URL-decoded)": 1}, (what, report)
    stack = FaultStack(tmp_path / "stack")  # the fault suite's scan, over every secret its workers hold
    worker = Worker("worker-0", tmp_path / "worker-0.log")
    stack.workers.append(worker)
    held = stack.secrets()
    assert len(held) == 9 and "Redis password" in held and "WARMLINE_KAFKA_SASL_PASSWORD" in held
    for what, secret in held.items():
        worker.log_path.write_text(f"[INFO] ready\n[ERROR] refused with {secret}\n")
        assert stack.leak_scan(pages={})["leaks"] == {f"{what} in worker-0": 1}, what
        worker.log_path.write_text("[INFO] ready\n")
        assert stack.leak_scan(pages={"worker-0 /metrics": f"# {secret}"})["leaks"] == {
            f"{what} in worker-0 /metrics": 1
        }, what
    assert stack.leak_scan(pages={"worker-0 /v1/stats": "{}"})["leaks"] == {}


def _encrypted_client_key(directory: Path, password: str) -> tuple[str, str]:
    """A client certificate and its key encrypted with *password* (what WARMLINE_KAFKA_SSL_KEY_PASSWORD opens)."""
    from cryptography.hazmat.primitives import serialization

    pki = make_pki(directory / "pki")
    key = serialization.load_pem_private_key(pki.client_key.read_bytes(), None)
    encrypted = directory / "client-key-encrypted.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password.encode()),
        )
    )
    return str(pki.client_cert), str(encrypted)


@pytest.mark.parametrize("kind", ["SCRAM", "OAUTHBEARER", "SSL wrong key password"])
def test_a_refused_kafka_start_shows_no_secret(cluster: Cluster, tmp_path: Path, kind: str) -> None:
    """A worker and `warmline lookup` whose Kafka settings hold a secret, against a port where no broker listens (or
    with a key the password does not open): one line naming the cause, exit 2, and no secret in anything said.

    (With no broker answering, OAUTHBEARER's token endpoint is never asked: its secret is held, not sent.)"""
    closed = free_port()
    cert, key = _encrypted_client_key(tmp_path, "the-key's-real-password")
    security = {
        "SCRAM": {
            "WARMLINE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "WARMLINE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "WARMLINE_KAFKA_SASL_USERNAME": "leaktest",
            "WARMLINE_KAFKA_SASL_PASSWORD": KAFKA_SASL_PASSWORD,
        },
        "OAUTHBEARER": {
            "WARMLINE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "WARMLINE_KAFKA_SASL_MECHANISM": "OAUTHBEARER",
            "WARMLINE_KAFKA_OAUTH_TOKEN_URL": f"http://127.0.0.1:{closed}/token",
            "WARMLINE_KAFKA_OAUTH_CLIENT_ID": "leaktest",
            "WARMLINE_KAFKA_OAUTH_CLIENT_SECRET_FILE": _secret_file(tmp_path, "oauth", KAFKA_OAUTH_SECRET),
        },
        "SSL wrong key password": {
            "WARMLINE_KAFKA_SECURITY_PROTOCOL": "SSL",
            "WARMLINE_KAFKA_SSL_CERT_FILE": cert,
            "WARMLINE_KAFKA_SSL_KEY_FILE": key,
            "WARMLINE_KAFKA_SSL_KEY_PASSWORD": KAFKA_KEY_PASSWORD,  # not the key's
        },
    }[kind]
    env = {**cluster.base_env, **security, "WARMLINE_BROKER": f"kafka://127.0.0.1:{closed}", "PYTHONPATH": _here()}
    said = {}
    for command in (["worker"], ["lookup", "--phone", "+14155550123", "--timeout-ms", "2000"]):
        done = subprocess.run(
            [sys.executable, "-m", "warmline", *command], env=env, capture_output=True, text=True, timeout=60
        )
        output = done.stdout + done.stderr
        lines = output.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in output, (command, output)
        said[f"warmline {command[0]}"] = output
    leaks = find_leaks(said, literals=_literals())
    assert not leaks, "\n".join(f"{leak.what} in {leak.where}: …{leak.excerpt}…" for leak in leaks)
    if kind == "SSL wrong key password":
        assert all("WARMLINE_KAFKA_SSL_KEY" in text for text in said.values()), said  # names the setting


def _here() -> str:
    """This worktree first on the children's path (they import the code under test)."""
    return os.pathsep.join(p for p in (str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")) if p)
