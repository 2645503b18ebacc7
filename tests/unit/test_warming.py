"""Bulk warming, VIP schedules and warm-at-answer tracking, with fakes and a fake clock."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.errors import InvalidMessage, SourceUnavailable, VipFileError
from warmline.lookups import LookupService
from warmline.models import CacheTier, LookupKey, normalize
from warmline.prewarm.bulk import WarmItem, WarmJob, WarmOrigin, WarmOutcome, WarmPolicy, parse_keys
from warmline.prewarm.vip_lists import VipWatcher, load_vip, parse_vip
from warmline.prewarm.warm_at_answer import WarmthTracker
from warmline.sources.base import Priority, SourceResult

from ..fakes import FakeClock, FakeSource, customer

IDS = [f"customer_id:C-{i}" for i in range(20)]


def _cache(source: FakeSource) -> TieredCache:
    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    return TieredCache(TableL1({}, 1000), None, fetch, CachePolicy(jitter=0), clock=FakeClock())


async def _warm(
    cache: TieredCache,
    keys: list[LookupKey | InvalidMessage],
    progress: Callable[[WarmItem], None] | None = None,
    **policy: Any,
) -> WarmJob:
    """A bulk warm through the one path, LookupService.warm_many."""
    return await LookupService(cache).warm_many(
        keys, origin=WarmOrigin.ADMIN, policy=WarmPolicy(**policy), progress=progress
    )


async def test_warm_many_reports_each_outcome_in_input_order() -> None:
    source = FakeSource({k: customer(k.split(":")[1]) for k in IDS[:10]})
    cache = _cache(source)
    await cache.get(normalize("customer_id", "C-0"))
    keys = parse_keys([*IDS[:12], "fax:1"], "US")
    seen: list[WarmItem] = []
    job = await _warm(cache, keys, seen.append, concurrency=4)
    outcomes = [i.outcome for i in job.items if i]
    assert outcomes[0] is WarmOutcome.FRESH
    assert outcomes[1:10] == [WarmOutcome.WARMED] * 9
    assert outcomes[10:12] == [WarmOutcome.NOT_FOUND] * 2
    assert outcomes[12] is WarmOutcome.INVALID
    stats = job.stats()
    assert (stats["total"], stats["warmed"], stats["already_fresh"], stats["not_found"], stats["invalid"]) == (
        13,
        9,
        1,
        2,
        1,
    )
    assert len(seen) == 13 and stats["p99_ms"] is not None


async def test_bounded_concurrency_and_speedup(monkeypatch: pytest.MonkeyPatch) -> None:
    source = FakeSource({k: customer() for k in IDS}, delay_s=0.05)
    running = peak = 0
    original = source.lookup

    async def counting(key: LookupKey) -> SourceResult:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return await original(key)
        finally:
            running -= 1

    monkeypatch.setattr(source, "lookup", counting)
    job = await _warm(_cache(source), parse_keys(IDS, "US"), concurrency=5)
    assert peak == 5  # five in flight at once (the speed-up), never more (the bound)
    assert job.stats()["warmed"] == len(IDS)


async def test_transient_failures_are_retried_and_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    source = FakeSource({k: customer() for k in IDS[:3]})
    failures = {IDS[0]: 2, IDS[1]: 99}
    original = source.lookup

    async def flaky(key: LookupKey) -> SourceResult:
        if failures.get(str(key), 0) > 0:
            failures[str(key)] -= 1
            raise SourceUnavailable("blip")
        return await original(key)

    monkeypatch.setattr(source, "lookup", flaky)
    job = await _warm(_cache(source), parse_keys(IDS[:3], "US"), attempts=3)
    assert [i.outcome for i in job.items if i] == [WarmOutcome.WARMED, WarmOutcome.FAILED, WarmOutcome.WARMED]


async def test_more_keys_than_the_concurrency_are_retried_in_their_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    source = FakeSource({k: customer() for k in IDS[:6]})
    failures = {IDS[4]: 1}
    original = source.lookup

    async def flaky(key: LookupKey) -> SourceResult:
        if failures.get(str(key), 0) > 0:
            failures[str(key)] -= 1
            raise SourceUnavailable("blip")
        return await original(key)

    monkeypatch.setattr(source, "lookup", flaky)
    job = await _warm(_cache(source), parse_keys(IDS[:6], "US"), concurrency=2, attempts=2)
    assert [i.outcome for i in job.items if i] == [WarmOutcome.WARMED] * 6
    assert source.calls.count(IDS[4]) == 1 and failures[IDS[4]] == 0  # failed once (not counted), then warmed


async def test_item_timeout() -> None:
    source = FakeSource({IDS[0]: customer()}, delay_s=1)
    job = await _warm(_cache(source), parse_keys(IDS[:1], "US"), item_timeout_s=0.05, attempts=1)
    assert job.items[0] is not None and job.items[0].outcome is WarmOutcome.FAILED


def test_vip_file_parses_and_names_errors(tmp_path: Path) -> None:
    path = tmp_path / "vip.yaml"
    path.write_text(
        "lists:\n  - name: gold\n"
        "    keys: ['phone:(415) 555-0123', 'customer_id:C-1']\n    at: ['07:30']\n    every: 30m\n"
    )
    book = load_vip(path)
    assert [str(k) for k in book.all_keys()] == ["phone:+14155550123", "customer_id:C-1"]
    assert book.lists[0].every_s == 1800
    json_path = tmp_path / "vip.json"
    json_path.write_text(json.dumps({"lists": [{"keys": ["email:A@B.example"]}]}))
    assert str(load_vip(json_path).all_keys()[0]) == "email:a@b.example"
    for bad, needle in [
        ({"lists": [{"keys": ["fax:1"]}]}, "unknown lookup kind"),
        ({"lists": [{"keys": [], "every": "soon"}]}, "every"),
        ({"lists": [{"keys": [], "at": ["25:00"]}]}, "list-1"),
        ([], "lists"),
    ]:
        with pytest.raises(VipFileError, match=needle):
            parse_vip(bad)


def test_schedule_times_and_intervals() -> None:
    book = parse_vip(
        {
            "lists": [
                {"name": "a", "keys": ["customer_id:C-1"], "at": ["07:30", "12:00"]},
                {"name": "b", "keys": ["customer_id:C-2"], "every": "10m"},
            ]
        }
    )
    t0 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    book.start(t0)
    assert book.due_lists(t0 + timedelta(minutes=5)) == []
    assert [v.name for v in book.due_lists(t0 + timedelta(minutes=10))] == ["b"]
    assert [v.name for v in book.due_lists(t0 + timedelta(minutes=31))] == ["a", "b"]
    assert book.due_lists(t0 + timedelta(minutes=32)) == []  # each slot fires once
    assert [v.name for v in book.due_lists(t0 + timedelta(hours=5, minutes=1))] == ["a", "b"]


def test_watcher_reloads_on_change_and_keeps_the_old_book_on_errors(tmp_path: Path) -> None:
    path = tmp_path / "vip.yaml"
    path.write_text("lists: [{name: a, keys: ['customer_id:C-1']}]")
    watcher = VipWatcher(path)
    assert watcher.refresh() and not watcher.refresh()
    path.write_text("lists: [{name: a, keys: ['fax:1']}]")
    import os

    os.utime(path, (time.time() + 5, time.time() + 5))
    assert not watcher.refresh()
    assert [str(k) for k in watcher.book.all_keys()] == ["customer_id:C-1"]


def test_warm_at_answer_tracking() -> None:
    clock = FakeClock(0)
    tracker = WarmthTracker(clock=clock)
    tracker.call_started("phone:+1")
    clock.advance(0.8)
    tracker.warmed("phone:+1")
    tracker.looked_up("phone:+1", CacheTier.L1, stale=False)
    tracker.looked_up("phone:+1", CacheTier.L1, stale=False)  # only the first lookup after a call counts
    tracker.call_started("phone:+2")
    tracker.looked_up("phone:+2", CacheTier.UPSTREAM, stale=False)
    tracker.looked_up("phone:+3", CacheTier.L1, stale=False)  # no call: not an answer-time lookup
    snap = tracker.snapshot()
    assert (snap["answered"], snap["answered_warm"], snap["missed_prewarm"]) == (2, 1, 1)
    assert snap["warm_at_answer_ratio"] == 0.5
    assert snap["time_to_warm_ms"]["p50"] == 800.0


async def test_a_lookup_mid_warm_shares_the_source_call() -> None:
    source = FakeSource({IDS[0]: customer()})
    source.gate = asyncio.Event()
    cache = _cache(source)
    key = normalize("customer_id", "C-0")
    warming = asyncio.create_task(cache.warm(key))
    await asyncio.sleep(0)
    lookup = asyncio.create_task(cache.get(key))
    await asyncio.sleep(0)
    source.gate.set()
    (_, fetched), result = await asyncio.gather(warming, lookup)
    assert fetched and result.shared
    assert source.calls == [IDS[0]]
