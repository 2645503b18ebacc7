"""POST /v1/events/{platform}: a platform's webhook warms its caller; credentials and bad bodies refused."""

from __future__ import annotations

import asyncio
import base64
import copy
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]  # twilio ships no type hints

from warmline.sources.demo.generate import sample_contacts

from ..unit.test_platform_docs import ROOT, example
from .conftest import Cluster, http_get, warmed_on_owner

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms"
TOKEN, TWILIO_TOKEN = "hook-token-Xq2", "twilio-auth-token-Jv9"  # test credentials


async def _post(url: str, body: bytes, content_type: str, **headers: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(url, data=body, headers={"Content-Type": content_type, **headers}) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def test_a_genesys_webhook_warms_its_caller_and_a_stranger_body_is_refused(
    cluster: Cluster, demo_db: Path
) -> None:
    worker = cluster.worker(WARMLINE_API_TOKENS=TOKEN)
    phone = sample_contacts(demo_db, "phone", 1, seed=23)[0]
    event = copy.deepcopy(orjson.loads((FIXTURES / "genesys_acd_start.json").read_bytes()))
    event["detail"]["eventBody"]["ani"] = f"tel:{phone}"
    event["detail"]["eventBody"]["eventTime"] = datetime.now(UTC).isoformat()  # a live call, not history
    hook = f"{worker.url}/v1/events/genesys"
    status, _ = await _post(hook, orjson.dumps(event), "application/json")
    assert status == 401  # the API tokens guard webhooks too
    status, body = await _post(hook, orjson.dumps(event), "application/json", Authorization=f"Bearer {TOKEN}")
    assert status == 202, body
    assert body["accepted"] == [
        {"call_id": "8f3c6a1e-0000-0000-0000-00000000c0de", "kind": "queued", "outcome": "queued"}
    ]
    await warmed_on_owner(worker.url, cluster.base_env["WARMLINE_APP_ID"])  # positive signal: warmed
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"{worker.url}/v1/lookup", params={"phone": phone}, headers=auth) as r,
    ):
        assert r.status == 200 and r.headers["X-Cache"] == "L1"  # warmed before anyone asked
    await _documented_curl(worker.url)
    status, body = await _post(hook, b'{"hello": "world"}', "application/json", Authorization=f"Bearer {TOKEN}")
    assert status == 400 and "not a genesys call event" in body["error"]
    status, _ = await _post(f"{worker.url}/v1/events/nice", b"{}", "application/json", Authorization=f"Bearer {TOKEN}")
    assert status == 404


async def test_a_twilio_callback_needs_twilio_s_signature_and_warms_its_caller(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker(TWILIO_AUTH_TOKEN=TWILIO_TOKEN, WARMLINE_PUBLIC_URL="https://warmline.example.com")
    phone = sample_contacts(demo_db, "phone", 1, seed=29)[0]
    form = {
        "EventType": "task.created",
        "TaskSid": "WT00000000000000000000000000000009",
        "TaskQueueSid": "WQ1",
        "TaskAttributes": orjson.dumps({"from": phone, "type": "inbound"}).decode(),
        "Timestamp": str(int(time.time())),  # a live call, not history
    }
    public = "https://warmline.example.com/v1/events/twilio"  # the URL Twilio calls, behind a proxy
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(public, form)
    body = urlencode(form).encode()
    hook = f"{worker.url}/v1/events/twilio"
    status, refused = await _post(hook, body, "application/x-www-form-urlencoded", **{"X-Twilio-Signature": "bogus"})
    assert status == 403 and "X-Twilio-Signature" in refused["error"]
    forged = dict(form, TaskAttributes=orjson.dumps({"from": "+14155550000"}).decode())  # same signature, other body
    status, _ = await _post(
        hook, urlencode(forged).encode(), "application/x-www-form-urlencoded", **{"X-Twilio-Signature": signature}
    )
    assert status == 403
    basic = "Basic " + base64.b64encode(b"twilio:anything").decode()  # no API tokens set: open, signature decides
    status, accepted = await _post(
        hook, body, "application/x-www-form-urlencoded", **{"X-Twilio-Signature": signature, "Authorization": basic}
    )
    assert status == 202, accepted
    await warmed_on_owner(worker.url, cluster.base_env["WARMLINE_APP_ID"])
    _, headers, reply = await http_get(f"{worker.url}/v1/lookup", phone=phone)
    assert reply["status"] == "ok" and headers["X-Cache"] == "L1"


async def test_a_webhook_event_answered_202_survives_its_worker_killed_at_once(cluster: Cluster, demo_db: Path) -> None:
    group = {  # short group timings, so that the next owner takes over soon after the kill
        "WARMLINE_BROKER_SESSION_TIMEOUT_S": "6",
        "WARMLINE_BROKER_REBALANCE_TIMEOUT_S": "4",
        "WARMLINE_BROKER_HEARTBEAT_INTERVAL_S": "1",
    }
    # The first worker's source takes 20 s: whatever it took in, it cannot have warmed (and acked) it.
    first = cluster.worker(WARMLINE_DEMO_LATENCY_MS="20000-20000", **group)
    phone = sample_contacts(demo_db, "phone", 1, seed=41)[0]
    event = copy.deepcopy(orjson.loads((FIXTURES / "genesys_acd_start.json").read_bytes()))
    event["detail"]["eventBody"]["ani"] = f"tel:{phone}"
    event["detail"]["eventBody"]["eventTime"] = datetime.now(UTC).isoformat()
    status, body = await _post(f"{first.url}/v1/events/genesys", orjson.dumps(event), "application/json")
    assert status == 202, body
    assert first.proc is not None
    os.killpg(first.proc.pid, signal.SIGKILL)  # right after the 2xx: no goodbye, no commit
    first.proc.wait(timeout=10)
    first.proc = None
    second = cluster.worker(**group)
    await warmed_on_owner(second.url, cluster.base_env["WARMLINE_APP_ID"], timeout_s=60)  # from Kafka, not memory
    _, headers, body = await http_get(f"{second.url}/v1/lookup", phone=phone)
    assert body["status"] == "ok" and headers["X-Cache"] == "L1"


async def _documented_curl(url: str) -> None:
    """docs/platforms.md's curl line, run as written (from the repository root), answers as the page says."""
    block = example("curl-genesys")
    command, said = block.split("\n# ", 1)
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        command,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "WARMLINE": url, "API_TOKEN": TOKEN},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0 and orjson.loads(out) == orjson.loads(said)
