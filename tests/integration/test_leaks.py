"""No secret or personal data in worker logs or dead-letter metadata (keys appear only as ``kind#hash``)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from benchmarks.faults.leaks import find_leaks
from warmline.models import DeadLetter, normalize, parse

from ..tilores_server import CARD, TiloresServer
from .conftest import Cluster

API_TOKENS = ("api-key-leaktest-old", "api-key-leaktest-new")
ADMIN_TOKEN = "s3cret"  # the cluster's WARMLINE_ADMIN_TOKEN
CLIENT_ID = "warmline"
CLIENT_SECRET = "tilores-secret-Zq81xVv"  # a test credential the scan must never find
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
    }


@pytest.fixture(name="tilores")
async def _tilores() -> AsyncIterator[TiloresServer]:
    server = await TiloresServer().start()
    server.state.client_id, server.state.client_secret = CLIENT_ID, CLIENT_SECRET
    yield server
    await server.stop()


def _tilores_env(server: TiloresServer) -> dict[str, str]:
    return {
        "WARMLINE_SOURCE": "tilores",
        "TILORES_API_URL": server.api_url,
        "TILORES_TOKEN_URL": server.token_url,
        "TILORES_CLIENT_ID": CLIENT_ID,
        "TILORES_CLIENT_SECRET": CLIENT_SECRET,
        "TILORES_RECORD_FIELDS": "id,source,first_name,last_name,phone,email,customer_no,tier",
        "TILORES_PARAM_CUSTOMER_ID": "customer_no",
    }


Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


async def _read_all(bootstrap: str, topic: str, count: int) -> list[Record]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=5)
    await consumer.start()
    out = []
    try:
        async with asyncio.timeout(30):
            while len(out) < count:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    out += [(r.key, r.value, list(r.headers)) for r in records]
    finally:
        await consumer.stop()
    return out


async def test_logs_and_dead_letters_hold_no_secret_or_personal_data(cluster: Cluster, tilores: TiloresServer) -> None:
    # At the production log level (the cluster's WARMLINE_LOG_LEVEL=info). At debug, Faust's and aiokafka's own
    # loggers print every produced record, keys and cached customers included: debug is not for production.
    # In a thread: this event loop serves the Tilores fake the worker's start-up check asks.
    worker = await asyncio.to_thread(cluster.worker, WARMLINE_API_TOKENS=",".join(API_TOKENS), **_tilores_env(tilores))
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
    [(dlq_key, dlq_value, dlq_headers)] = await _read_all(cluster.tansu.bootstrap, cluster.topic("lookup_dlq"), 1)
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
