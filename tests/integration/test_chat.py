"""/chat on a real worker through langserve's RemoteRunnable; the remote lookup_caller tool."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
import pytest
from langserve import RemoteRunnable

from warmline.llm import lookup_tool
from warmline.sources.demo.generate import sample_contacts

from .conftest import Cluster, http_get


@contextlib.asynccontextmanager
async def remote(url: str) -> AsyncIterator[RemoteRunnable[Any, Any]]:
    """A RemoteRunnable whose httpx clients are closed inside the test's loop (not by a finalizer after it)."""
    runnable: RemoteRunnable[Any, Any] = RemoteRunnable(url)
    try:
        yield runnable
    finally:
        runnable.sync_client.close()
        await runnable.async_client.aclose()


def _input(phone: str, question: str = "brief me") -> dict[str, Any]:
    return {"question": question, "lookup": {"by": "phone", "value": phone}}


async def test_remote_runnable_invoke_batch_stream_sync_and_async(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    phones = sample_contacts(demo_db, "phone", 3, seed=21)
    async with remote(f"{worker.url}/chat") as chat:
        await _exercise(chat, phones)


async def _exercise(chat: RemoteRunnable[Any, Any], phones: list[str]) -> None:
    first = await asyncio.to_thread(chat.invoke, _input(phones[0]))
    assert set(first) == {"answer", "customer", "source", "stale", "age_s", "brief"}
    assert first["source"] == "upstream" and first["brief"] is True and first["stale"] is False
    assert first["customer"]["phones"] == [phones[0]] or phones[0] in first["customer"]["phones"]
    assert first["customer"]["name"] in first["answer"] and "tier" in first["answer"]
    again = await chat.ainvoke(_input(phones[0]))
    assert again["source"] == "l1" and again["answer"] == first["answer"]

    batch = await asyncio.to_thread(chat.batch, [_input(p) for p in phones])
    assert [b["customer"]["customer_id"] for b in batch] == [
        (await chat.ainvoke(_input(p)))["customer"]["customer_id"] for p in phones
    ]
    abatch = await chat.abatch([_input(p) for p in phones[::-1]])
    assert [b["answer"] for b in abatch] == [b["answer"] for b in batch[::-1]]

    chunks = await asyncio.to_thread(lambda: list(chat.stream(_input(phones[1]))))
    assert chunks[0]["answer"] == "" and chunks[0]["source"] == "l1"
    assert "".join(c["answer"] for c in chunks) == batch[1]["answer"]
    achunks = [c async for c in chat.astream(_input(phones[2], "what tier?"))]
    assert "".join(c["answer"] for c in achunks) == batch[2]["answer"]  # no model: the brief answers

    unknown = await chat.ainvoke(_input("+12025550000"))
    assert unknown["customer"] is None and unknown["brief"] is False and "No customer record" in unknown["answer"]

    with pytest.raises(httpx.HTTPStatusError) as bad:
        await chat.ainvoke(_input("12"))
    assert bad.value.response.status_code == 422


async def test_bad_input_is_422_with_detail_and_schemas_are_served(cluster: Cluster) -> None:
    worker = cluster.worker()
    bodies = [
        b"not json",
        b"{}",
        orjson.dumps({"input": {"question": "hi"}}),
        orjson.dumps({"input": {"lookup": {"by": "fax", "value": "1"}}}),
        orjson.dumps({"input": {"lookup": {"by": "phone", "value": "12"}}}),
        orjson.dumps({"input": _input("+14155550123"), "extra": 1}),
    ]
    async with aiohttp.ClientSession() as s:
        for path in ("invoke", "stream"):
            for body in bodies:
                async with s.post(f"{worker.url}/chat/{path}", data=body) as resp:
                    assert resp.status == 422, (path, body)
                    assert (await resp.json())["detail"]
        async with s.post(f"{worker.url}/chat/batch", data=orjson.dumps({"inputs": [{"lookup": {}}]})) as resp:
            assert resp.status == 422 and (await resp.json())["detail"]
    for name, field in (("input_schema", "lookup"), ("output_schema", "answer")):
        status, _, schema = await http_get(f"{worker.url}/chat/{name}")
        assert status == 200 and field in schema["properties"]
    assert (await http_get(f"{worker.url}/chat/config_schema"))[0] == 200


async def test_remote_tool_against_a_worker(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    phone = sample_contacts(demo_db, "phone", 1, seed=22)[0]
    tool = lookup_tool(url=worker.url)
    first = orjson.loads(await tool.ainvoke({"phone": phone}))
    second = orjson.loads(await tool.ainvoke({"phone": phone, "max_age_s": 3600}))
    assert first["status"] == "ok" and first["source"] == "upstream" and phone in first["customer"]["phones"]
    assert second["source"] == "l1"
    assert (await tool.ainvoke({"phone": "12"})).startswith("lookup invalid:")
    down = lookup_tool(url="http://127.0.0.1:9")  # discard port: nothing listens
    assert "unreachable" in await down.ainvoke({"phone": phone})
