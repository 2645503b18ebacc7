"""Caller briefs: prepared in the background, paced, keyed by record version, served to /chat."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.errors import SettingsError
from warmline.llm.brief_text import template_brief
from warmline.llm.briefs import BriefService, Pacer, record_version
from warmline.llm.chat import CallerChat
from warmline.llm.chat_model import load_chat_model
from warmline.llm.fake_model import ANSWER_PREFIX, DelayedFakeChatModel, parse_delay
from warmline.lookups import LookupService
from warmline.models import Customer, LookupKey, normalize
from warmline.sources.base import Priority, SourceResult

from ..fakes import FakeClock, FakeSource, customer

NOW = 1_800_000_000.0  # 2027-01-15


class FakeSleep:
    """Advances the clock instead of sleeping; remembers each wait."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


class GatedModel:
    """A chat model whose calls all wait for *gate*; *started* is set once *expect* calls are waiting."""

    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.running = self.most_running = self.calls = 0

    async def ainvoke(self, messages: Any) -> AIMessage:
        self.calls += 1
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        if self.running >= self.expect:
            self.started.set()
        await self.gate.wait()
        self.running -= 1
        return AIMessage(f"brief #{self.calls}")


def _setup(
    model: object = None, rate: float = 20.0, max_in_flight: int = 64
) -> tuple[BriefService, LookupService, FakeSource, list[Priority], FakeSleep]:
    vip = customer().model_copy(update={"attributes": {"customer_since": "2012-03-18", "open_flags": ["billing"]}})
    source = FakeSource({"phone:+14155550123": vip, **{f"customer_id:C-{i}": customer(f"C-{i}") for i in range(10)}})
    priorities: list[Priority] = []

    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        priorities.append(priority)
        return await source.lookup(key)

    clock = FakeClock(NOW)
    cache = TieredCache(TableL1({}, 100), None, fetch, CachePolicy(jitter=0), clock=clock)
    sleep = FakeSleep(clock)
    pacer = Pacer(rate, clock=clock, sleep=sleep)
    lookups = LookupService(cache)
    briefs = BriefService(lookups, model=model, max_in_flight=max_in_flight, clock=clock, pacer=pacer)
    return briefs, lookups, source, priorities, sleep


def test_the_template_names_the_caller_and_the_facts() -> None:
    vip = Customer(
        customer_id="C-9",
        name="Ada Lovelace",
        tier="vip",
        status="active",
        language="fr",
        attributes={"customer_since": "2012-03-18", "open_flags": ["billing dispute", "callback"]},
    )
    assert template_brief(vip, NOW) == (
        "Ada Lovelace (C-9): vip tier, status active, speaks fr, customer for 14 years (since 2012-03-18). "
        "Open flags: billing dispute, callback."
    )
    assert template_brief(Customer(customer_id="C-1"), NOW) == "customer C-1 (C-1). No open flags."


async def test_scheduled_briefs_are_ready_when_the_agent_asks() -> None:
    briefs, lookups, _, priorities, _ = _setup()
    key = normalize("phone", "+14155550123")
    briefs.schedule(key)
    briefs.schedule(key)  # once per key while pending
    await briefs.idle()
    await briefs.aclose()
    assert briefs.counts["scheduled"] == 1 and briefs.counts["prepared"] == 1
    assert priorities == [Priority.BACKGROUND]  # behind every live caller at the source gate
    chat = CallerChat(lookups, briefs=briefs, clock=lambda: NOW)
    out = await chat.ainvoke({"lookup": {"by": "phone", "value": "+14155550123"}})
    assert out["brief"] is True and out["answer"].startswith("Ada Lovelace (C-000001): vip tier")
    assert "Open flags: billing." in out["answer"]
    assert briefs.snapshot()["ready_at_answer_ratio"] == 1.0


async def test_a_changed_record_is_a_new_version_and_never_gets_the_old_brief() -> None:
    briefs, _, _, _, _ = _setup()
    before = customer()
    after = before.model_copy(update={"tier": "standard"})
    assert record_version(before) != record_version(after)
    old, _ = await briefs.serve(before)
    new, _ = await briefs.serve(after)
    assert "vip tier" in old.text and "standard tier" in new.text
    assert briefs.counts["made_at_answer"] == 2 and briefs.counts["ready_at_answer"] == 0
    assert (await briefs.serve(after)) == (new, True) and briefs.counts["ready_at_answer"] == 1
    briefs.invalidate(after.customer_id)
    assert await briefs.cached(after) is None


async def test_briefs_are_paced_to_the_rate() -> None:
    briefs, _, _, _, sleep = _setup(rate=20.0)
    for i in range(10):
        briefs.schedule(normalize("customer_id", f"C-{i}"))
    await briefs.idle()
    await briefs.aclose()
    assert briefs.counts["prepared"] == 10
    assert len(sleep.waits) == 9 and all(abs(w - 0.05) < 1e-6 for w in sleep.waits)


async def test_a_model_writes_each_version_once_in_the_background_task() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("VIP since 2012; billing flag open.")]))
    briefs, _, _, _, _ = _setup(model=model)
    briefs.schedule(normalize("phone", "+14155550123"))
    await briefs.idle()
    vip = customer().model_copy(update={"attributes": {"customer_since": "2012-03-18", "open_flags": ["billing"]}})
    found = await briefs.cached(vip)
    assert found is not None and found.text == "VIP since 2012; billing flag open."
    assert briefs.counts["prepared"] == 1
    await briefs.aclose()


async def test_briefs_are_written_side_by_side_up_to_the_bound() -> None:
    model = GatedModel(expect=3)  # one at a time, a 2 s model would keep up with one call every 2 s
    briefs, _, _, _, _ = _setup(model=model, max_in_flight=3)
    for i in range(5):
        briefs.schedule(normalize("customer_id", f"C-{i}"))
    await model.started.wait()
    assert briefs.snapshot()["in_flight"] == 3 and briefs.snapshot()["pending"] == 2
    model.gate.set()
    await briefs.idle()
    await briefs.aclose()
    assert briefs.counts["prepared"] == 5 and model.calls == 5 and model.most_running == 3


async def test_an_answer_joins_the_brief_being_written_instead_of_asking_the_model_again() -> None:
    model = GatedModel(expect=1)
    briefs, _, _, _, _ = _setup(model=model)
    briefs.schedule(normalize("customer_id", "C-1"))
    await model.started.wait()
    answer = asyncio.create_task(briefs.serve(customer("C-1")))
    await asyncio.sleep(0)  # one loop turn: the answer reaches the in-flight brief and waits on it
    assert briefs.counts["made_at_answer"] == 1 and not answer.done()
    model.gate.set()
    made, ready = await answer
    await briefs.idle()
    await briefs.aclose()
    assert (made.text, ready) == ("brief #1", False) and model.calls == 1
    assert briefs.counts["made_at_answer"] == 1 and briefs.counts["prepared"] == 1


async def test_a_brief_is_not_scheduled_twice_while_it_is_being_written() -> None:
    model = GatedModel(expect=1)
    briefs, _, _, _, _ = _setup(model=model)
    key = normalize("customer_id", "C-1")
    briefs.schedule(key)
    await model.started.wait()
    briefs.schedule(key)
    assert briefs.counts["scheduled"] == 1
    model.gate.set()
    await briefs.idle()
    await briefs.aclose()
    assert model.calls == 1


async def test_the_fake_provider_is_a_real_async_model_for_tests_and_benchmarks() -> None:
    model = load_chat_model("fake:2s")
    assert isinstance(model, DelayedFakeChatModel) and model.delay_s == 2.0
    assert parse_delay("1500ms") == 1.5 and parse_delay("0.25") == 0.25
    with pytest.raises(SettingsError, match="fake:2s"):
        load_chat_model("fake:soon")
    instant = load_chat_model("fake:0s")
    one = await instant.ainvoke("Brief me on C-1")
    assert one.content.startswith(ANSWER_PREFIX) and (await instant.ainvoke("Brief me on C-1")).content == one.content
    assert (await instant.ainvoke("Brief me on C-2")).content != one.content


def test_the_demo_model_is_refused_beside_a_real_source(monkeypatch: pytest.MonkeyPatch) -> None:
    from warmline.settings import load_settings

    monkeypatch.setenv("WARMLINE_CHAT_MODEL", "fake:2s")
    assert load_settings(source="demo").chat_model == "fake:2s"
    monkeypatch.setenv("WARMLINE_SOURCE", "tilores")
    with pytest.raises(SettingsError, match=r"WARMLINE_CHAT_MODEL.*WARMLINE_SOURCE=demo"):
        load_settings()


def test_the_demo_model_answers_a_synchronous_caller_too() -> None:
    from langchain_core.messages import HumanMessage

    model = load_chat_model("fake:0s")
    assert model.invoke([HumanMessage("who is calling?")]).content.startswith("fake model answer")
