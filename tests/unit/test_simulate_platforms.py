"""The simulator's platform events are each platform's own: the built-in mappings read them back."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from warmline.commands.simulate_platforms import PLATFORMS, Body, Kind, call_id_for, platform_event, simulate_platform
from warmline.commands.simulator import Callers, SimConfig
from warmline.platforms import load_mappings
from warmline.platforms.calls import platform_payload

MAPPINGS = load_mappings()
AT = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("kind", ["queued", "answered", "ended"])
def test_each_simulated_event_is_recognised_as_its_kind(platform: str, kind: Kind) -> None:
    call_id = call_id_for(platform, 7, "0123456789abcdef")
    body = platform_event(platform, kind, call_id, "+14155550123", AT)
    (call,) = MAPPINGS.recognize(platform_payload(body.data), platform)
    assert (call.kind.value, call.call_id, call.at) == (kind, call_id, AT)
    numbered = kind == "queued" or (kind == "answered" and platform != "connect")  # Connect's EventBridge: none
    assert (call.caller is not None) == numbered
    if numbered:
        assert call.caller is not None and call.caller.endswith("+14155550123")


def test_call_ids_are_distinct_and_shaped_as_the_platform_s() -> None:
    sids = {call_id_for("twilio", n, "0123456789abcdef") for n in range(1000)}
    assert len(sids) == 1000 and all(len(s) == 34 and s.startswith("WT") for s in sids)
    assert call_id_for("connect", 1, "0123456789abcdef") != call_id_for("connect", 2, "0123456789abcdef")


class OverlappingSender:
    """Delivers every event, each after a different delay, so many calls' sends are in flight at once."""

    def __init__(self) -> None:
        self.delivered: Counter[str] = Counter()
        self._n = 0

    async def send(self, platform: str, body: Body) -> None:
        self._n += 1
        await asyncio.sleep((self._n % 7) / 1000)
        assert body.form is not None
        self.delivered[body.form["EventType"]] += 1


async def test_concurrent_calls_count_every_event_they_sent() -> None:
    sender = OverlappingSender()

    async def stats(_: web.Request) -> web.Response:  # the workers' count: what was delivered, all warm
        answered = sender.delivered["reservation.accepted"]
        figures = {"answered": answered, "warm": {"l1": answered, "l2": 0, "cold": 0}}
        return web.json_response({"warm_at_answer": {"platforms": {"twilio": figures}}})

    app = web.Application()
    app.router.add_get("/v1/stats", stats)
    config = SimConfig(rate=400, duration_s=0.25, wait_s=(0.0, 0.01), immediate_share=0.0)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        report = await simulate_platform(
            "twilio", config, sender, Callers(["+14155550123"], config), session, [str(server.make_url("/"))]
        )
    assert report.calls >= 20 and report.refused == 0
    assert report.queued == sender.delivered["task.created"] == report.calls
    assert report.answered == sender.delivered["reservation.accepted"] == report.queued
    assert report.ended == sender.delivered["task.completed"] == report.queued
