"""warmline as strangers meet it: a librdkafka client, topics someone else created, replies to a late topic."""

from __future__ import annotations

import struct
import uuid

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..stack import Cluster, WorkerProcess, http_get
from .rdkafka import RdClient, create_topics, partitions_of

FOREIGN = ("call_started", "lookup_request", "customer_changed")


async def _metric(worker: WorkerProcess, family: str, **labels: str) -> float:
    async with aiohttp.ClientSession() as s, s.get(f"{worker.url}/metrics") as resp:
        text = await resp.text()
    return sum(
        sample.value
        for fam in text_string_to_metric_families(text)
        if fam.name == family
        for sample in fam.samples
        if sample.name == family + "_total" and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def _ask(client: RdClient, ids: list[str], tag: str) -> dict[str, str]:
    """Send one unkeyed request per customer id; returns request_id → customer id."""
    want = {f"{tag}-{i}-{uuid.uuid4().hex[:6]}": cid for i, cid in enumerate(ids)}
    for rid, cid in want.items():
        client.send({"request_id": rid, "by": "customer_id", "value": cid, "reply_to": client.reply_topic})
    return want


@pytest.mark.parametrize("partitions", [1, 6])
async def test_unkeyed_lookups_on_topics_someone_else_created(cluster: Cluster, partitions: int) -> None:
    bootstrap = cluster.tansu.bootstrap
    create_topics(bootstrap, [cluster.topic(n) for n in FOREIGN], partitions)  # the telephony bus's own count
    worker = cluster.worker()  # WARMLINE_TOPIC_PARTITIONS=4 in the test cluster
    assert partitions_of(bootstrap, cluster.topic("lookup_request")) == partitions  # never changed by warmline
    reply_topic = f"rd-replies-{uuid.uuid4().hex[:6]}"
    create_topics(bootstrap, [reply_topic], 1)  # created after the worker started, as clients do
    client = RdClient(bootstrap, cluster.topic("lookup_request"), reply_topic)
    try:
        ids = [f"C-{i:06d}" for i in range(1, 11)]
        misses = _ask(client, ids, "miss")
        got = client.replies(set(misses))
        assert {rid: r[0]["customer"]["customer_id"] for rid, r in got.items()} == misses
        hits = _ask(client, ids, "hit")
        again = client.replies(set(hits))
        assert set(again) == set(hits)
        assert {r[0]["source"] for r in again.values()} == {"l1"}
        assert all(len(r) == 1 for r in (*got.values(), *again.values()))  # exactly one reply each
    finally:
        client.close()
    status, headers, body = await http_get(f"{worker.url}/v1/lookup", customer_id="C-000003")
    assert (status, headers["Content-Type"].split(";")[0], body["source"]) == (200, "application/json", "l1")
    assert await _metric(worker, "warmline_messages", outcome="rekeyed") <= 20  # at most one hop each


async def test_a_new_reply_topic_and_a_first_dead_letter_do_not_break_l1_or_http(cluster: Cluster) -> None:
    """The producer's metadata must keep every topic it knew after sending to topics it had not seen."""
    bootstrap = cluster.tansu.bootstrap
    worker = cluster.worker()
    reply_topic = f"rd-late-{uuid.uuid4().hex[:6]}"
    create_topics(bootstrap, [reply_topic], 2)
    client = RdClient(bootstrap, cluster.topic("lookup_request"), reply_topic)
    try:
        client.send({"garbage": True})  # the worker's first dead letter
        client.send({"request_id": "bad-1", "by": "fax", "value": "1", "reply_to": reply_topic})
        want = _ask(client, ["C-000020", "C-000021"], "late")
        want_hits = _ask(client, ["C-000020", "C-000021"], "late-hit")
        got = client.replies({*want, *want_hits, "bad-1"})
    finally:
        client.close()
    assert got["bad-1"][0]["status"] == "invalid"
    assert {got[r][0]["status"] for r in (*want, *want_hits)} == {"ok"}
    for cid in ("C-000020", "C-000022"):  # an L1 hit, then a miss that writes L1 after the new topics
        status, _, body = await http_get(f"{worker.url}/v1/lookup", customer_id=cid)
        assert (status, body["status"]) == (200, "ok")
    status, headers, _ = await http_get(f"{worker.url}/v1/lookup", customer_id="C-000022")
    assert (status, headers["X-Cache"]) == (200, "L1")


async def test_spring_headers_from_librdkafka(cluster: Cluster) -> None:
    bootstrap = cluster.tansu.bootstrap
    cluster.worker()
    reply_topic = f"rd-spring-{uuid.uuid4().hex[:6]}"
    create_topics(bootstrap, [reply_topic], 3)
    client = RdClient(bootstrap, cluster.topic("lookup_request"), reply_topic)
    try:
        client.send(
            {"request_id": "sp-rd", "by": "customer_id", "value": "C-000005"},
            headers=[
                ("kafka_replyTopic", reply_topic.encode()),
                ("kafka_correlationId", b"corr-rd"),
                ("kafka_replyPartition", struct.pack(">i", 1)),
            ],
        )
        [msg] = client.raw_replies(1)
    finally:
        client.close()
    assert msg.partition() == 1
    assert ("kafka_correlationId", b"corr-rd") in (msg.headers() or [])


async def test_replies_never_go_into_topics_warmline_reads_or_owns(cluster: Cluster) -> None:
    bootstrap = cluster.tansu.bootstrap
    worker = cluster.worker()
    client = RdClient(bootstrap, cluster.topic("lookup_request"), cluster.topic("lookup_reply"))
    app_id = cluster.base_env["WARMLINE_APP_ID"]
    forbidden = [cluster.topic("call_started"), cluster.topic("lookup_dlq"), f"{app_id}-l1-changelog"]
    try:
        for i, topic in enumerate(forbidden):
            client.send({"request_id": f"evil-{i}", "by": "customer_id", "value": "C-000001", "reply_to": topic})
        got = client.replies({f"evil-{i}" for i in range(len(forbidden))})
    finally:
        client.close()
    assert {r[0]["status"] for r in got.values()} == {"invalid"}  # answered on the default reply topic
    assert await _metric(worker, "warmline_messages", outcome="dead_letter") == len(forbidden)
    started = partitions_of(bootstrap, cluster.topic("call_started"))
    assert started > 0


async def test_two_workers_answer_unkeyed_requests_with_one_hop_at_most(cluster: Cluster) -> None:
    bootstrap = cluster.tansu.bootstrap
    create_topics(bootstrap, [cluster.topic(n) for n in FOREIGN], 6)
    first = cluster.worker()
    second = cluster.worker()
    await _wait_both_own_partitions(first, second)
    reply_topic = f"rd-two-{uuid.uuid4().hex[:6]}"
    create_topics(bootstrap, [reply_topic], 1)
    client = RdClient(bootstrap, cluster.topic("lookup_request"), reply_topic)
    try:
        ids = [f"C-{i:06d}" for i in range(30, 50)]
        want = _ask(client, ids, "two")
        got = client.replies(set(want))
    finally:
        client.close()
    assert {rid: r[0]["customer"]["customer_id"] for rid, r in got.items()} == want
    assert all(len(r) == 1 for r in got.values())
    rekeyed = [await _metric(w, "warmline_messages", outcome="rekeyed") for w in (first, second)]
    assert sum(rekeyed) <= len(ids)  # a request travels one hop at most, never a loop


async def _wait_both_own_partitions(*workers: WorkerProcess) -> None:
    import asyncio

    async with asyncio.timeout(60):
        while True:
            owned = [(await http_get(f"{w.url}/readyz"))[2].get("l1_partitions", []) for w in workers]
            if all(owned) and sum(len(p) for p in owned) == 4:
                return
            await asyncio.sleep(0.3)
