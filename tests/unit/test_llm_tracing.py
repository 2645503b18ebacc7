"""Tracing without a network: sampling, parents from headers, child runs, masking, and never in the way."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, NoReturn

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langsmith.run_trees import RunTree

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.llm.chat import CallerChat
from warmline.llm.masking import MASK, mask, scrub_text
from warmline.llm.tracing import LangSmithTracer, TraceParent, Tracer, trace_parent
from warmline.lookups import LookupService
from warmline.models import LookupKey
from warmline.sources.base import Priority, SourceResult

from ..fakes import FakeClock, FakeSource, customer


class RecordingClient:
    """Stands in for langsmith.Client: keeps what batch_ingest_runs was given; can block or fail."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.gate: threading.Event | None = None
        self.fail = False

    def batch_ingest_runs(self, create: list[dict[str, Any]]) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            raise ConnectionError("endpoint down")
        self.runs.extend(create)


def _setup(rng: float = 0.0, hit_sample: float = 0.01, rate: float = 1.0) -> tuple[LookupService, RecordingClient, Any]:
    client = RecordingClient()
    tracer = LangSmithTracer(client, project="p", worker="w1", sample_rate=rate, hit_sample=hit_sample, rng=lambda: rng)
    source = FakeSource({"phone:+14155550123": customer(), "customer_id:C-000001": customer()})

    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    cache = TieredCache(TableL1({}, 100), None, fetch, CachePolicy(jitter=0), clock=FakeClock())
    return LookupService(cache, default_timeout_ms=1000, tracer=tracer), client, tracer


def _by_name(runs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in runs if r["name"] == name]


async def test_a_miss_is_a_run_with_a_source_child_and_the_metadata() -> None:
    svc, client, tracer = _setup()
    await svc.lookup("phone", "415 555 0123", request_id="rq-1", parent=TraceParent("http"))
    assert tracer.flush(5)
    (lookup,) = _by_name(client.runs, "lookup")
    (source,) = _by_name(client.runs, "source")
    meta = lookup["extra"]["metadata"]
    assert {k: meta[k] for k in ("tier", "status", "stale", "request_id", "worker", "via")} == {
        "tier": "upstream",
        "status": "ok",
        "stale": False,
        "request_id": "rq-1",
        "worker": "w1",
        "via": "http",
    }
    assert meta["age_s"] == 0.0 and meta["key"].startswith("phone#")
    assert source["parent_run_id"] == lookup["id"] and source["trace_id"] == lookup["trace_id"]
    assert source["dotted_order"].startswith(lookup["dotted_order"] + ".")
    assert lookup["outputs"]["customer"]["name"] == "Ada Lovelace"  # masking is the client's anonymizer


async def test_l1_hits_are_sampled_further_and_the_rate_applies_to_all() -> None:
    svc, client, tracer = _setup(rng=0.5, hit_sample=0.01)
    await svc.lookup("customer_id", "C-000001")  # miss: traced (0.5 < rate 1.0)
    for _ in range(5):
        await svc.lookup("customer_id", "C-000001")  # L1 hits: 0.5 >= 0.01, not traced
    await svc.lookup("customer_id", "C-000001", parent=trace_parent({"langsmith-trace": _parent().dotted_order}))
    assert tracer.flush(5)
    assert [r["extra"]["metadata"]["tier"] for r in _by_name(client.runs, "lookup")] == ["upstream", "l1"]
    svc, client, tracer = _setup(rng=0.5, rate=0.25)
    await svc.lookup("customer_id", "C-000001")
    assert tracer.flush(5) and client.runs == []
    svc, client, tracer = _setup(rng=0.001, hit_sample=0.01)
    await svc.lookup("customer_id", "C-000001")
    await svc.lookup("customer_id", "C-000001")
    assert tracer.flush(5) and len(_by_name(client.runs, "lookup")) == 2


def _parent() -> RunTree:
    return RunTree(name="caller-agent", run_type="chain", inputs={}, project_name="callers")


async def test_kafka_header_pairs_parent_the_run() -> None:
    svc, client, tracer = _setup()
    parent = _parent()
    headers = [(k.encode() if i else k, v.encode()) for i, (k, v) in enumerate(parent.to_headers().items())]
    key = svc.key_for("customer_id", "C-000001")
    await svc.lookup_key(key, request_id="k1", parent=trace_parent(headers))
    await svc.lookup_key(key, request_id="k2", parent=headers)  # raw headers work too
    assert tracer.flush(5)
    runs = _by_name(client.runs, "lookup")
    assert [r["extra"]["metadata"]["request_id"] for r in runs] == ["k1", "k2"]
    for run in runs:
        assert run["trace_id"] == parent.trace_id and run["parent_run_id"] == parent.id
        assert run["dotted_order"].startswith(parent.dotted_order + ".")
        assert run["session_name"] == "callers" and run["extra"]["metadata"]["via"] == "kafka"


async def test_a_bad_trace_header_is_a_root_run() -> None:
    svc, client, tracer = _setup()
    await svc.lookup("customer_id", "C-000001", parent={"langsmith-trace": "garbage"})
    assert tracer.flush(5)
    (run,) = _by_name(client.runs, "lookup")
    assert run["parent_run_id"] is None and run["trace_id"] == run["id"]


class FakeModel(GenericFakeChatModel):
    """A chat model answering from a script."""


async def test_a_chat_run_holds_the_lookup_and_the_model_call() -> None:
    svc, client, tracer = _setup()
    model = FakeModel(messages=iter([AIMessage("Ada is a VIP customer.")]))
    chat = CallerChat(svc, model=model, model_name="fake:model", tracer=tracer)
    out = await chat.ainvoke({"question": "what tier?", "lookup": {"by": "phone", "value": "+14155550123"}})
    assert out["answer"] == "Ada is a VIP customer." and out["brief"] is False and out["source"] == "upstream"
    assert tracer.flush(5)
    (root,) = _by_name(client.runs, "chat")
    (lookup,) = _by_name(client.runs, "lookup")
    (llm,) = _by_name(client.runs, "model")
    assert root["parent_run_id"] is None
    assert lookup["parent_run_id"] == root["id"] and llm["parent_run_id"] == root["id"]
    assert _by_name(client.runs, "source")[0]["parent_run_id"] == lookup["id"]
    assert {r["trace_id"] for r in client.runs} == {root["id"]}
    assert llm["run_type"] == "llm" and llm["outputs"] == {"text": "Ada is a VIP customer."}
    assert llm["extra"]["metadata"]["model"] == "fake:model"
    assert root["outputs"]["answer"] == out["answer"] and lookup["extra"]["metadata"]["via"] == "chat"


async def test_a_failing_or_hanging_endpoint_changes_nothing_for_lookups() -> None:
    svc, client, tracer = _setup()
    client.gate = threading.Event()  # the sender hangs in its first request
    client.fail = True
    for _ in range(3):
        assert (await svc.lookup("customer_id", "C-000001")).status == "ok"
    assert tracer.flush(0.05) is False  # the hang is visible: the queue did not drain
    client.gate.set()
    assert tracer.flush(5) and tracer.failed >= 1 and client.runs == []
    await tracer.aclose(1.0)


async def test_the_queue_is_bounded_and_a_full_queue_records_nothing() -> None:
    svc, client, tracer = _setup()
    tracer._max_queued = 3
    client.gate = threading.Event()
    for i in range(10):
        with tracer.span(f"s{i}", "chain", {}):
            pass
    await svc.lookup("customer_id", "C-000001")
    assert len(tracer._queue) <= 3 and tracer.dropped >= 7
    client.gate.set()
    assert tracer.flush(5)
    assert "s9" not in {r["name"] for r in client.runs} and "s0" in {r["name"] for r in client.runs}


async def test_the_disabled_tracer_is_a_no_op() -> None:
    tracer = Tracer()
    with tracer.span("x", "chain", {}) as span:
        assert span is None
    assert tracer.flush(0)
    await tracer.aclose(0)


def test_mask_hides_customer_fields_and_free_text_and_scrubs_strings() -> None:
    masked = mask(
        {
            "by": "phone",
            "value": "+14155550123",
            "customer": {"name": "Ada Lovelace", "phones": ["+14155550123"], "attributes": {"since": "2012"}},
            "messages": [{"role": "human", "content": "Ada Lovelace called"}],
            "request_id": "eec26ac182554b40",
            "note": "call +1 (415) 555-0123 or ada@example.com",
            "age_s": 1.5,
        }
    )
    assert masked["value"] == MASK and masked["by"] == "phone"
    assert masked["customer"] == {"name": MASK, "phones": MASK, "attributes": {"since": MASK}}
    assert masked["messages"] == [{"role": "human", "content": MASK}]
    assert masked["request_id"] == "eec26ac182554b40" and masked["age_s"] == 1.5
    assert masked["note"] == "call [phone] or [email]"
    assert scrub_text("error: 4155550123 not found") == "error: [phone] not found"


def test_a_bad_langsmith_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from warmline.errors import SettingsError
    from warmline.llm.tracing import build_tracer
    from warmline.settings import load_settings

    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_API_KEY", "k")
    monkeypatch.setenv("LANGSMITH_TRACING_SAMPLING_RATE", "2")
    with pytest.raises(SettingsError, match="LANGSMITH_TRACING_SAMPLING_RATE"):
        build_tracer(load_settings(), "w")


class BrokenHeaders(dict[str, str]):
    def items(self) -> NoReturn:
        raise RuntimeError("unreadable headers")


async def test_a_tracing_failure_never_fails_the_lookup() -> None:
    svc, _, tracer = _setup()
    reply = await svc.lookup("customer_id", "C-000001", parent=BrokenHeaders())
    assert reply.status == "ok" and tracer.failed == 1


class PicklingSender:
    """Stands in for the sender process: pickles what it is handed, as SenderProcess.ship does."""

    alive = True

    def __init__(self) -> None:
        self.shipped: list[Any] = []

    def ship(self, items: Sequence[object]) -> bool:
        import pickle

        self.shipped.extend(pickle.loads(pickle.dumps(items)))  # noqa: S301  # our own bytes
        return True

    def flush(self, timeout_s: float) -> tuple[bool, int, int, int]:
        return True, len(self.shipped), 0, 0

    def close(self) -> None:
        pass


async def test_an_item_that_does_not_pickle_is_counted_and_the_sender_goes_on() -> None:
    sender = PicklingSender()
    tracer = LangSmithTracer(RecordingClient(), project="p", worker="w1", process=sender)
    with tracer.span("unpicklable", "chain", {"lock": threading.Lock()}):
        pass
    assert tracer.flush(5) and tracer.failed == 1 and sender.shipped == []
    with tracer.span("fine", "chain", {"n": 1}):
        pass
    assert tracer.flush(5)  # the thread is still there and ships the next item
    assert [item[0].name for item in sender.shipped] == ["fine"]
    await tracer.aclose(1.0)


async def test_one_item_that_does_not_pickle_loses_only_itself_not_its_batch() -> None:
    sender = PicklingSender()
    tracer = LangSmithTracer(RecordingClient(), project="p", worker="w1", process=sender)
    with tracer.span("before", "chain", {"n": 1}):
        pass
    with tracer.span("unpicklable", "chain", {"lock": threading.Lock()}):
        pass
    with tracer.span("after", "chain", {"n": 2}):
        pass
    assert tracer.flush(5) and tracer.failed == 1
    assert [item[0].name for item in sender.shipped] == ["before", "after"]
    await tracer.aclose(1.0)


async def test_a_sender_process_that_died_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    from warmline.llm.trace_process import SenderProcess

    process = SenderProcess(
        {"endpoint": "http://127.0.0.1:9", "api_key": "k", "project": "p", "worker": "w1", "masked": True}
    )
    tracer = LangSmithTracer(RecordingClient(), project="p", worker="w1", process=process)
    process._proc.kill()  # the sender crashed
    process._proc.wait(10)
    for name in ("a", "b"):
        with tracer.span(name, "chain", {"n": 1}):
            pass
        tracer.flush(5)
    assert tracer.failed == 2
    gone = [r for r in caplog.records if "sender process is gone" in r.getMessage()]
    assert len(gone) == 1 and gone[0].levelname == "WARNING"
    await tracer.aclose(1.0)


async def test_the_queue_holds_slotted_records_and_a_lookup_in_a_chat_stays_a_record_until_built() -> None:
    from warmline.llm.trace_records import LookupRecord, SpanRecord

    svc, _, tracer = _setup()
    gate = threading.Event()
    tracer._client.gate = gate  # hold the sender so the queue can be read
    await svc.lookup("phone", "415 555 0123", parent=TraceParent("http"))
    with tracer.span("chat", "chain", {"q": 1}):
        await svc.lookup("customer_id", "C-000001")
    lookup, chat = list(tracer._queue)
    assert isinstance(lookup, LookupRecord) and isinstance(chat, SpanRecord)
    (child,) = chat.span.children
    assert isinstance(child, LookupRecord) and child.via == "chat"  # recorded as is: built once, by RunBuilder
    assert not hasattr(chat, "__dict__") and not hasattr(chat.span, "__dict__")  # slotted
    gate.set()
    assert tracer.flush(5)
    await tracer.aclose(1.0)


async def test_a_lookup_in_a_chat_and_one_alone_are_the_same_run_masked_the_same_way() -> None:
    svc, client, tracer = _setup()
    tracer._builder._mask, tracer._builder._scrub = mask, scrub_text  # as the sender process builds them
    await svc.lookup("phone", "415 555 0123", request_id="rq-1", parent=TraceParent("chat"))
    with tracer.span("chat", "chain", {"question": "who?"}):
        await svc.lookup("phone", "415 555 0124", request_id="rq-1")
    assert tracer.flush(5)
    alone, inside = _by_name(client.runs, "lookup")
    assert inside["parent_run_id"] == _by_name(client.runs, "chat")[0]["id"]
    for run in (alone, inside):
        assert run["inputs"]["value"] == MASK and run["run_type"] == "retriever"
    assert set(alone["extra"]["metadata"]) == set(inside["extra"]["metadata"])
    assert alone["outputs"].keys() == inside["outputs"].keys()
    await tracer.aclose(1.0)


def test_recording_and_run_building_live_apart() -> None:
    """tracing.py records and ships; trace_runs.py alone builds runs (one place to mask, one way to build)."""
    from pathlib import Path

    import warmline.llm

    llm = Path(warmline.llm.__file__).parent
    building = {p.name for p in llm.glob("*.py") if "dotted_order" in p.read_text() or "uuid7" in p.read_text()}
    assert building == {"trace_runs.py"}
