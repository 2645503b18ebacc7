"""One warm path: VIP runs, admin and replay bulk warms, call-started batches and briefs all go through
LookupService.warm_many, retry a retriable source failure there, and are counted under their own origin."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.commands.remote import prewarm_http
from warmline.errors import InvalidMessage, SourceUnavailable
from warmline.http.prewarm import PrewarmRequest, warm_here
from warmline.llm.briefs import BriefService
from warmline.lookups import LookupService
from warmline.metrics import Metrics
from warmline.models import LookupKey, normalize, parse_object
from warmline.models.protocol import PREWARM_PATH
from warmline.prewarm.bulk import LIVE_POLICY, WarmOrigin, WarmOutcome
from warmline.prewarm.scheduler import VipRunner
from warmline.prewarm.vip_lists import VipWatcher
from warmline.sources.base import Priority, SourceResult

from ..fakes import FakeClock, FakeOwnership, FakeSource, customer

KEYS = [f"customer_id:C-{i}" for i in range(4)]


class FlakySource(FakeSource):
    """Fails the first call for each key in *flaky* with a retriable error, then answers."""

    def __init__(self, flaky: set[str]) -> None:
        super().__init__({k: customer(k.split(":")[1]) for k in KEYS})
        self.flaky = set(flaky)

    async def lookup(self, key: LookupKey) -> SourceResult:
        if str(key) in self.flaky:
            self.flaky.discard(str(key))
            self.calls.append(str(key))
            raise SourceUnavailable("blip")
        return await super().lookup(key)


def _lookups(source: FakeSource) -> tuple[LookupService, Metrics]:
    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    cache = TieredCache(TableL1({}, 100), None, fetch, CachePolicy(jitter=0), clock=FakeClock())
    metrics = Metrics()
    return LookupService(cache, metrics=metrics), metrics


def _jobs(metrics: Metrics, origin: str) -> float:
    return metrics.registry.get_sample_value("warmline_warm_jobs_total", {"origin": origin}) or 0.0


def _keys(metrics: Metrics, origin: str, outcome: str) -> float:
    labels = {"origin": origin, "outcome": outcome}
    return metrics.registry.get_sample_value("warmline_warm_keys_total", labels) or 0.0


async def test_a_vip_run_retries_through_warm_many_and_is_counted_as_vip(tmp_path: Path) -> None:
    source = FlakySource({KEYS[1]})
    lookups, metrics = _lookups(source)
    vip_file = tmp_path / "vip.yaml"
    vip_file.write_text(f"lists: [{{name: gold, keys: {KEYS[:3]!r}}}]\n")
    runner = VipRunner(lookups, VipWatcher(vip_file), FakeOwnership({3}))
    runner.on_rebalanced()
    assert runner._task is not None
    job = await runner._task
    assert [i.outcome for i in job.items if i] == [WarmOutcome.WARMED] * 3
    assert source.calls.count(KEYS[1]) == 2  # failed once, retried by the one path
    vip = lookups.warm_jobs.job(WarmOrigin.VIP)
    assert vip["runs"] == 1 and vip["last_job"]["reason"] == "start-up" and vip["last_job"]["warmed"] == 3
    assert lookups.warm_jobs.job(WarmOrigin.ADMIN)["runs"] == 0
    assert (_jobs(metrics, "vip"), _keys(metrics, "vip", "warmed")) == (1, 3)
    await runner.aclose()


async def test_admin_and_replay_bulk_warms_retry_and_are_counted_apart_from_vip_runs() -> None:
    source = FlakySource({KEYS[0], KEYS[2]})
    lookups, metrics = _lookups(source)
    admin = parse_object(PrewarmRequest, {"keys": KEYS[:2]})
    replay = parse_object(PrewarmRequest, {"keys": KEYS[2:], "origin": "replay"})
    first = await warm_here(lookups, [normalize("customer_id", k.split(":")[1]) for k in KEYS[:2]], admin)
    second = await warm_here(lookups, [normalize("customer_id", k.split(":")[1]) for k in KEYS[2:]], replay)
    assert (first["warmed"], first["failed"], second["warmed"], second["failed"]) == (2, 0, 2, 0)
    assert source.calls.count(KEYS[0]) == 2 and source.calls.count(KEYS[2]) == 2  # each retried once
    stats = lookups.stats()["warm_jobs"]
    assert stats["admin"]["runs"] == 1 and stats["admin"]["last_job"]["reason"] == "keys"
    assert stats["replay"]["runs"] == 1 and stats["replay"]["last_job"]["warmed"] == 2
    assert lookups.warm_jobs.job(WarmOrigin.VIP)["runs"] == 0  # an admin warm is not a VIP run
    assert (_jobs(metrics, "admin"), _jobs(metrics, "replay"), _jobs(metrics, "vip")) == (1, 1, 0)


def test_a_prewarm_request_cannot_pass_itself_off_as_a_vip_run() -> None:
    with pytest.raises(InvalidMessage, match="origin"):
        parse_object(PrewarmRequest, {"keys": [], "origin": "vip"})


async def test_a_live_batch_is_one_job_counted_as_call_started_and_marks_the_callers_warm() -> None:
    source = FlakySource({KEYS[1]})
    lookups, metrics = _lookups(source)
    keys = [normalize("customer_id", k.split(":")[1]) for k in KEYS[:3]]
    for key in keys:
        lookups.begin_prewarm(key)
    job = await lookups.warm_many(keys, Priority.LIVE, origin=WarmOrigin.CALL_STARTED, policy=LIVE_POLICY)
    outcomes = [i.outcome for i in job.items if i]
    assert outcomes == [WarmOutcome.WARMED, WarmOutcome.FAILED, WarmOutcome.WARMED]  # live: one attempt
    assert source.calls.count(KEYS[1]) == 1
    assert lookups.warmth.warmed_at(KEYS[0]) is not None and lookups.warmth.warmed_at(KEYS[1]) is None
    assert (_jobs(metrics, "call_started"), _keys(metrics, "call_started", "failed")) == (1, 1)


async def test_briefs_get_the_record_through_lookup_service_with_its_retries() -> None:
    source = FlakySource({KEYS[0]})
    lookups, metrics = _lookups(source)
    briefs = BriefService(lookups)
    briefs.schedule(normalize("customer_id", "C-0"))
    await briefs.idle()
    assert briefs.counts["prepared"] == 1 and briefs.counts["failed"] == 0
    assert source.calls == [KEYS[0], KEYS[0]]  # the blip was retried by the one path
    assert (await briefs.cached(customer("C-0"))) is not None
    assert (_jobs(metrics, "brief"), _keys(metrics, "brief", "warmed")) == (1, 1)
    await briefs.aclose()


async def test_replay_sends_its_origin_and_warm_sends_the_body_older_workers_take() -> None:
    bodies: list[dict[str, object]] = []

    async def prewarm(request: web.Request) -> web.Response:
        bodies.append(await request.json())
        return web.json_response({"warmed": 1})

    app = web.Application()
    app.router.add_post(PREWARM_PATH, prewarm)
    keys = [normalize("customer_id", "C-1")]
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        url = str(server.make_url("/"))
        await prewarm_http(session, url, keys, None, lambda _stats, _n: None)
        await prewarm_http(session, url, keys, None, lambda _stats, _n: None, origin="replay")
    assert bodies == [{"keys": ["customer_id:C-1"]}, {"keys": ["customer_id:C-1"], "origin": "replay"}]
