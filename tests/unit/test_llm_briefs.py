"""Caller briefs: prepared in the background, paced, keyed by record version, served to /chat."""

from __future__ import annotations

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.llm.brief_text import template_brief
from warmline.llm.briefs import BriefService, Pacer, record_version
from warmline.llm.chat import CallerChat
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


def _setup(model: object = None, rate: float = 20.0) -> tuple[BriefService, LookupService, FakeSource, list, FakeSleep]:
    vip = customer().model_copy(update={"attributes": {"customer_since": "2012-03-18", "open_flags": ["billing"]}})
    source = FakeSource({"phone:+14155550123": vip, **{f"customer_id:C-{i}": customer(f"C-{i}") for i in range(10)}})
    priorities: list[Priority] = []

    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        priorities.append(priority)
        return await source.lookup(key)

    clock = FakeClock(NOW)
    cache = TieredCache(TableL1({}, 100), None, fetch, CachePolicy(jitter=0), clock=clock)
    sleep = FakeSleep(clock)
    briefs = BriefService(cache, model=model, clock=clock, pacer=Pacer(rate, clock=clock, sleep=sleep))
    return briefs, LookupService(cache), source, priorities, sleep


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
    old = await briefs.brief(before)
    new = await briefs.brief(after)
    assert "vip tier" in old.text and "standard tier" in new.text
    assert briefs.counts["made_at_answer"] == 2 and briefs.counts["ready_at_answer"] == 0
    assert (await briefs.brief(after)).text == new.text and briefs.counts["ready_at_answer"] == 1
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
