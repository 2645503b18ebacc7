"""What reaches a (fake) LangSmith endpoint: runs, parent links, metadata, and never a caller's PII."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import aiohttp
import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langsmith.run_trees import RunTree

from harness.fake_langsmith import FakeLangSmith
from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.llm.chat import CallerChat
from warmline.llm.trace_process import SenderProcess
from warmline.llm.tracing import LangSmithTracer, build_tracer
from warmline.lookups import LookupService
from warmline.models import LookupKey
from warmline.settings import load_settings
from warmline.sources.base import Priority, SourceResult
from warmline.sources.demo.generate import sample_contacts

from ..fakes import FakeClock, FakeSource, customer
from .conftest import Cluster, eventually

PII = [b"+14155550123", b"4155550123", b"415-555-0123", b"ada@example.com", b"Ada", b"Lovelace"]


def _tracer(monkeypatch: pytest.MonkeyPatch, url: str, **env: str) -> LangSmithTracer:
    for name, value in {
        "LANGSMITH_TRACING": "true",
        "LANGSMITH_API_KEY": "test-key",
        "LANGSMITH_ENDPOINT": url,
        "LANGSMITH_PROJECT": "warmline-test",
        **env,
    }.items():
        monkeypatch.setenv(name, value)
    tracer = build_tracer(load_settings(), worker="127.0.0.1:1")
    assert isinstance(tracer, LangSmithTracer)
    return tracer


def _service(tracer: LangSmithTracer) -> LookupService:
    source = FakeSource({"phone:+14155550123": customer()})

    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    cache = TieredCache(TableL1({}, 100), None, fetch, CachePolicy(jitter=0), clock=FakeClock())
    return LookupService(cache, tracer=tracer)


async def _chat_and_lookups(tracer: LangSmithTracer) -> None:
    svc = _service(tracer)
    await svc.lookup("phone", "415-555-0123", request_id="r-miss")
    await svc.lookup("phone", "not a phone 12", request_id="r-bad")
    model = GenericFakeChatModel(messages=iter([AIMessage("Ada Lovelace (ada@example.com, +14155550123) is VIP.")]))
    chat = CallerChat(svc, model=model, model_name="fake:m", tracer=tracer)
    await chat.ainvoke({"question": "Is Ada Lovelace a VIP?", "lookup": {"by": "phone", "value": "+14155550123"}})


async def test_masked_by_default_nothing_personal_on_the_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLangSmith(zstd=True) as ls:
        tracer = _tracer(monkeypatch, ls.url)
        await _chat_and_lookups(tracer)
        await tracer.aclose(10)
        runs = ls.runs()
        wire = ls.all_bytes()
    names = sorted(r["name"] for r in runs.values())
    assert names == ["chat", "lookup", "lookup", "lookup", "model", "source"]
    assert tracer.sent == 6 and tracer.failed == 0
    assert {r.path for r in ls.requests if r.method == "POST"} == {"/runs/batch"}
    chat = next(r for r in runs.values() if r["name"] == "chat")
    children = {r["name"] for r in runs.values() if r.get("parent_run_id") == chat["id"]}
    assert children == {"lookup", "model"}
    miss = next(r for r in runs.values() if r["name"] == "lookup" and r["extra"]["metadata"]["request_id"] == "r-miss")
    assert miss["extra"]["metadata"]["tier"] == "upstream" and miss["session_name"] == "warmline-test"
    assert miss["outputs"]["customer"]["name"] == "[masked]" and miss["inputs"]["value"] == "[masked]"
    for pii in PII:
        assert pii not in wire, pii


@pytest.mark.parametrize(("zstd", "multipart"), [(False, True), (True, True), (False, False)])
def test_the_fake_reads_what_the_sdk_sends_on_its_own(zstd: bool, multipart: bool) -> None:
    """The SDK's background path (GET /info, multipart, zstd when advertised, batch after a 404)."""
    from langsmith import Client

    from warmline.llm.masking import mask

    with FakeLangSmith(zstd=zstd, multipart=multipart) as ls:
        client = Client(api_url=ls.url, api_key="k", anonymizer=mask)
        parent = RunTree(name="root", run_type="chain", inputs={"phone": "+14155550123"}, client=client)
        parent.create_child(name="kid", run_type="tool", inputs={"email": "ada@example.com"}).post()
        parent.post()
        client.flush(timeout=10)
        ls.wait_for(lambda s: len(s.runs()) == 2)
        client.cleanup(timeout=0)
        runs = ls.runs()
        paths = {r.path for r in ls.requests}
    assert "/info" in paths
    assert ("/runs/batch" in paths) is not multipart
    kid = next(r for r in runs.values() if r["name"] == "kid")
    assert kid["parent_run_id"] == str(parent.id) and kid["inputs"] == {"email": "[masked]"}
    assert b"ada@example.com" not in ls.all_bytes() and b"4155550123" not in ls.all_bytes()


def test_the_fake_reads_zstd_multipart_bodies() -> None:
    import requests
    import zstandard

    body = (
        b'--b\r\nContent-Disposition: form-data; name="post.r1"\r\n\r\n{"id": "r1", "name": "n"}\r\n'
        b'--b\r\nContent-Disposition: form-data; name="post.r1.inputs"\r\n\r\n{"x": 1}\r\n--b--\r\n'
    )
    with FakeLangSmith(zstd=True) as ls:
        resp = requests.post(
            f"{ls.url}/runs/multipart",
            data=zstandard.ZstdCompressor().compress(body),
            headers={"Content-Encoding": "zstd", "Content-Type": "multipart/form-data; boundary=b"},
            timeout=10,
        )
        assert resp.status_code == 202
        assert ls.runs() == {"r1": {"id": "r1", "name": "n", "inputs": {"x": 1}}}


async def test_trace_pii_true_sends_the_raw_values(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLangSmith() as ls:
        tracer = _tracer(monkeypatch, ls.url, WARMLINE_TRACE_PII="true")
        await _chat_and_lookups(tracer)
        await tracer.aclose(10)
        wire = ls.all_bytes()
    assert b"+14155550123" in wire and b"Ada Lovelace" in wire and b"ada@example.com" in wire


async def test_the_runs_are_posted_by_a_sender_process_whose_death_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeLangSmith() as ls:
        tracer = _tracer(monkeypatch, ls.url, WARMLINE_TRACE_HIT_SAMPLE="1.0")
        svc = _service(tracer)
        await svc.lookup("phone", "415-555-0123", request_id="r-1")
        assert tracer.flush(10) and tracer.sent == 2  # the lookup and its source child, posted by the process
        sender = tracer._process
        assert isinstance(sender, SenderProcess)  # what build_tracer hands the tracer
        sender._proc.kill()  # the sender process dies
        sender._proc.wait(5)
        for _ in range(3):
            assert (await svc.lookup("phone", "415-555-0123")).status == "ok"
        assert tracer.flush(5) is False and tracer.failed >= 1
        await tracer.aclose(1)
    assert {r["name"] for r in ls.runs().values()} == {"lookup", "source"}


def test_tracing_is_off_without_the_switch_or_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGSMITH_API_KEY", "k")
    assert not build_tracer(load_settings(), "w").enabled
    monkeypatch.delenv("LANGSMITH_API_KEY")
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    assert not build_tracer(load_settings(), "w").enabled


def _langsmith_env(url: str) -> dict[str, str]:
    return {
        "LANGSMITH_TRACING": "true",
        "LANGSMITH_API_KEY": "test-key",
        "LANGSMITH_ENDPOINT": url,
        "WARMLINE_TRACE_HIT_SAMPLE": "1",
    }


async def test_a_worker_traces_http_lookups_and_chats_under_the_callers_trace(cluster: Cluster, demo_db: Path) -> None:
    phone = sample_contacts(demo_db, "phone", 1, seed=31)[0]
    parent = RunTree(name="agent-desktop", run_type="chain", inputs={}, project_name="desk")
    with FakeLangSmith() as ls:
        worker = cluster.worker(**_langsmith_env(ls.url))
        async with aiohttp.ClientSession(headers=parent.to_headers()) as s:
            async with s.get(f"{worker.url}/v1/lookup", params={"phone": phone}) as resp:
                assert resp.status == 200
            body = {"input": {"lookup": {"by": "phone", "value": phone}}}
            async with s.post(f"{worker.url}/chat/invoke", json=body) as resp:
                assert resp.status == 200
        ls.wait_for(lambda s: len(s.runs()) >= 4)
        runs = list(ls.runs().values())
        wire = ls.all_bytes()
    lookups = [r for r in runs if r["name"] == "lookup"]
    chat = next(r for r in runs if r["name"] == "chat")
    assert {r["trace_id"] for r in runs} == {str(parent.trace_id)}
    http_lookup = next(r for r in lookups if r["parent_run_id"] == str(parent.id))
    assert http_lookup["extra"]["metadata"]["via"] == "http" and http_lookup["session_name"] == "desk"
    assert chat["parent_run_id"] == str(parent.id)
    assert any(r["parent_run_id"] == chat["id"] for r in lookups)
    assert next(r for r in runs if r["name"] == "source")["parent_run_id"] == http_lookup["id"]
    assert phone.encode() not in wire and phone[2:].encode() not in wire


async def test_a_hanging_endpoint_changes_nothing_and_shutdown_is_prompt(cluster: Cluster, demo_db: Path) -> None:
    phones = sample_contacts(demo_db, "phone", 5, seed=32)
    with FakeLangSmith(hang=True) as ls:
        worker = cluster.worker(**_langsmith_env(ls.url))
        async with aiohttp.ClientSession() as s:
            for phone in phones * 2:
                async with s.get(f"{worker.url}/v1/lookup", params={"phone": phone}) as resp:
                    assert resp.status == 200
        eventually(lambda: ls.requests)  # the sender is stuck in a request that never ends
        assert worker.proc is not None
        os.killpg(worker.proc.pid, signal.SIGTERM)
        try:
            code = worker.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker did not exit within 10 s of SIGTERM with LangSmith hanging")
        assert code == 0 or code == -signal.SIGTERM
