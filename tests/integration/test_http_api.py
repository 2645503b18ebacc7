"""The HTTP API on live workers: bodies as documented, tokens (also across workers), JSON errors, /metrics."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema_rs
import orjson
from prometheus_client.parser import text_string_to_metric_families

from warmline.http.openapi import document
from warmline.http.prewarm import MAX_PREWARM_KEYS
from warmline.models import normalize
from warmline.sources.demo.generate import sample_contacts
from warmline.stream.ownership import owner_partition

from .conftest import Cluster, WorkerProcess

API_TOKENS = ("api-key-2026-11", "api-key-2026-12")
ADMIN = "s3cret"  # the cluster's WARMLINE_ADMIN_TOKEN
PARTITIONS = 4  # the cluster's WARMLINE_TOPIC_PARTITIONS


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def check_against_document(path: str, method: str, status: int, content_type: str, body: bytes) -> None:
    """Assert that *status* is documented for the operation and *body* validates against its schema."""
    doc = document()
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, (path, method, status, body[:300])
    content = responses[str(status)]["content"]
    assert content_type in content, (path, method, status, content_type)
    if content_type != "application/json":
        return
    schema = {**content["application/json"]["schema"], "components": doc["components"]}
    errors = [e.message for e in jsonschema_rs.Draft202012Validator(schema).iter_errors(orjson.loads(body))]
    assert not errors, (path, method, status, errors, body[:500])


async def _call(
    s: aiohttp.ClientSession,
    base: str,
    method: str,
    template: str,
    path: str | None = None,
    **kwargs: Any,
) -> tuple[int, bytes]:
    async with s.request(method, base + (path or template), **kwargs) as resp:
        body = await resp.read()
        check_against_document(template, method.lower(), resp.status, resp.content_type, body)
        return resp.status, body


def _families(text: str) -> list[str]:
    return [family.name for family in text_string_to_metric_families(text)]


async def test_live_responses_are_as_documented_and_tokens_guard_reads(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker(WARMLINE_API_TOKENS=",".join(API_TOKENS))
    email = sample_contacts(demo_db, "email", 1, seed=41)[0]
    old, new = (_auth(t) for t in API_TOKENS)
    admin = _auth(ADMIN)
    u = worker.url
    async with aiohttp.ClientSession() as s:
        status, served = await _call(s, u, "GET", "/openapi.json")
        assert status == 200 and orjson.loads(served) == orjson.loads(orjson.dumps(document()))
        assert (await _call(s, u, "GET", "/v1/lookup", params={"email": email}, headers=old))[0] == 200
        assert (await _call(s, u, "GET", "/v1/lookup", params={"email": email}, headers=new))[0] == 200  # rotation
        assert (await _call(s, u, "GET", "/v1/lookup", params={"phone": "+12025550000"}, headers=new))[0] == 404
        assert (await _call(s, u, "GET", "/v1/lookup", params={"phone": "12"}, headers=new))[0] == 400
        for bad_age in ("nan", "-1", "soon"):
            query = {"customer_id": "C-000001", "max_age_s": bad_age}
            assert (await _call(s, u, "GET", "/v1/lookup", params=query, headers=new))[0] == 400
        assert (await _call(s, u, "GET", "/v1/lookup", params={"email": email}))[0] == 401
        assert (await _call(s, u, "GET", "/v1/lookup", params={"email": email}, headers=admin))[0] == 401
        batch = {"lookups": [{"by": "customer_id", "value": f"C-{i:06d}"} for i in range(1, 4)]}
        status, body = await _call(s, u, "POST", "/v1/lookup/batch", json=batch, headers=old)
        assert status == 200 and [r["status"] for r in orjson.loads(body)["results"]] == ["ok"] * 3
        assert (await _call(s, u, "POST", "/v1/lookup/batch", data=b"[", headers=old))[0] == 400
        assert (await _call(s, u, "POST", "/v1/lookup/batch", json=batch))[0] == 401
        assert (await _call(s, u, "GET", "/v1/stats", headers=old))[0] == 200
        assert (await _call(s, u, "GET", "/v1/stats"))[0] == 401
        prewarm = {"keys": ["customer_id:C-000009", "nonsense"]}
        status, body = await _call(s, u, "POST", "/v1/prewarm", json=prewarm, headers=admin)
        assert status == 200 and orjson.loads(body)["invalid"] == 1
        assert (await _call(s, u, "POST", "/v1/prewarm", json={"lists": ["nope"]}, headers=admin))[0] == 400
        most = orjson.dumps({"keys": [f"nonsense-{i:045d}" for i in range(MAX_PREWARM_KEYS)]})  # over 1 MiB
        as_json = {**admin, "Content-Type": "application/json"}
        status, body = await _call(s, u, "POST", "/v1/prewarm", data=io.BytesIO(most), headers=as_json)
        assert status == 200 and orjson.loads(body)["invalid"] == MAX_PREWARM_KEYS
        assert (await _call(s, u, "POST", "/v1/prewarm", json=prewarm, headers=old))[0] == 401  # API key ≠ admin
        key = f"/v1/cache/email:{email}"
        assert (await _call(s, u, "DELETE", "/v1/cache/{key}", key, headers=admin))[0] == 200
        assert (await _call(s, u, "DELETE", "/v1/cache/{key}", "/v1/cache/nonsense", headers=admin))[0] == 400
        assert (await _call(s, u, "DELETE", "/v1/cache/{key}", key, headers=_auth("wrong")))[0] == 401
        for open_path in ("/healthz", "/readyz", "/metrics"):
            assert (await _call(s, u, "GET", open_path))[0] == 200
        async with s.get(f"{u}/table/l1/") as resp:  # Faust's table browser is not a way around the token
            assert resp.status == 401
        async with s.put(f"{u}/v1/lookup", headers=old) as resp:  # aiohttp's own errors are JSON too
            assert (resp.status, resp.content_type) == (405, "application/json")
        async with s.get(f"{u}/v2/nothing") as resp:
            assert (resp.status, resp.content_type) == (404, "application/json")
        async with s.get(f"{u}/metrics") as resp:
            exposition = await resp.text()
    names = _families(exposition)
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    refusals = {
        sample.labels["route_group"]: sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "warmline_http_auth_failures"
        for sample in family.samples
        if sample.name.endswith("_total")
    }
    assert refusals == {"api": 5.0, "admin": 2.0}  # 2 lookups, batch, stats, /table; prewarm + delete


async def _ready_pair(a: WorkerProcess, b: WorkerProcess) -> tuple[set[int], set[int]]:
    """Wait until both workers are ready with disjoint partitions that cover all of them."""
    async with asyncio.timeout(60), aiohttp.ClientSession() as s:
        while True:
            async with s.get(f"{a.url}/readyz") as ra, s.get(f"{b.url}/readyz") as rb:
                sa, sb = await ra.json(), await rb.json()
            pa, pb = set(sa["l1_partitions"]), set(sb["l1_partitions"])
            if sa["ready"] and sb["ready"] and pa and pb and not pa & pb and len(pa | pb) == PARTITIONS:
                return pa, pb
            await asyncio.sleep(0.2)


async def test_forwarding_between_workers_carries_the_callers_token(cluster: Cluster) -> None:
    env = {"WARMLINE_API_TOKENS": ",".join(API_TOKENS)}
    a, b = cluster.worker(**env), cluster.worker(**env)
    _, owned_by_b = await _ready_pair(a, b)
    ids = [f"C-{i:06d}" for i in range(50, 70)]
    remote = [c for c in ids if owner_partition(str(normalize("customer_id", c)), PARTITIONS) in owned_by_b]
    assert remote and len(remote) < len(ids)
    token = _auth(API_TOKENS[1])
    async with aiohttp.ClientSession() as s:
        # Single lookups sent to A for B's keys: A forwards them; B (which also wants a token) answers.
        for cid in remote[:3]:
            status, body = await _call(s, a.url, "GET", "/v1/lookup", params={"customer_id": cid}, headers=token)
            assert (status, orjson.loads(body)["customer"]["customer_id"]) == (200, cid)
        batch = {"lookups": [{"by": "customer_id", "value": c} for c in ids], "concurrency": 4}
        status, body = await _call(s, a.url, "POST", "/v1/lookup/batch", json=batch, headers=token)
        assert status == 200
        results = orjson.loads(body)["results"]
        assert [(r["status"], r["customer"]["customer_id"]) for r in results] == [("ok", c) for c in ids]
        async with s.get(f"{b.url}/v1/stats", headers=token) as resp:
            assert (await resp.json())["l1"]["entries"] == len(remote)  # B served its keys itself
        assert (await _call(s, a.url, "POST", "/v1/lookup/batch", json=batch))[0] == 401


async def test_a_dead_owners_keys_are_answered_by_the_survivor(cluster: Cluster) -> None:
    a, b = cluster.worker(), cluster.worker()
    _, owned_by_b = await _ready_pair(a, b)
    cid = next(
        f"C-{i:06d}"
        for i in range(1, 100)
        if owner_partition(str(normalize("customer_id", f"C-{i:06d}")), PARTITIONS) in owned_by_b
    )
    assert b.proc is not None
    os.killpg(b.proc.pid, signal.SIGKILL)  # no goodbye to the group: A keeps routing to B until the session expires
    b.proc.wait(timeout=10)
    b.proc = None
    async with aiohttp.ClientSession() as s:
        status, body = await _call(s, a.url, "GET", "/v1/lookup", params={"customer_id": cid})
        assert status == 200 and orjson.loads(body)["customer"]["customer_id"] == cid  # served by A itself
        key = f"customer_id:{cid}"  # an admin call for B's key cannot be done elsewhere: a JSON 503, not a 500
        status, body = await _call(s, a.url, "DELETE", "/v1/cache/{key}", f"/v1/cache/{key}", headers=_auth(ADMIN))
    assert status == 503 and orjson.loads(body)["status"] == "unavailable"
