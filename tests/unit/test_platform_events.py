"""The platforms' own events (tests/fixtures/platforms, shaped as each platform documents them) as warmline's.

The mappings are data (warmline/platforms/mappings/*.yaml); a user's platform is a file of its own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from warmline.agents.call_started import CallStartedHandler
from warmline.agents.kafka_io import HandlerPool
from warmline.errors import MappingError
from warmline.metrics import Metrics
from warmline.platforms import CallEventKind, PlatformCall, load_mappings
from warmline.platforms.calls import as_call_started, platform_payload
from warmline.platforms.ingress import PlatformIngress
from warmline.platforms.mapping import resolve
from warmline.platforms.registry import MemoryCallRegistry

from ..fakes import FakeEvent, FakeL2, FakeOutbox, FakeOwnership, fake_runtime

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms"
MAPPINGS = load_mappings()
CONNECT_ARN = "arn:aws:connect:us-west-2:111122223333:instance"
CONNECT_QUEUE = f"{CONNECT_ARN}/c8c0e68d-2200-4265-82c0-000000000000/queue/aaaaaaaa-bbbb-cccc-dddd-000000000000"


def _calls(name: str) -> list[PlatformCall]:
    return MAPPINGS.recognize(platform_payload((FIXTURES / name).read_bytes()))


@pytest.mark.parametrize(
    ("fixture", "platform", "kind", "call_id", "caller", "queue", "agent"),
    [
        ("connect_lambda.json", "connect", "queued", "4a573372-1f28-4e26-b97b-000000000001", "+14155550123",
         "BillingQueue", None),
        ("connect_contact_event_queued.json", "connect", "queued", "4a573372-1f28-4e26-b97b-000000000001", None,
         CONNECT_QUEUE, None),
        ("connect_contact_event_connected_lowercase.json", "connect", "answered",
         "4a573372-1f28-4e26-b97b-000000000001", None, f"{CONNECT_ARN}/x/queue/q1", f"{CONNECT_ARN}/x/agent/a1"),
        ("genesys_acd_start.json", "genesys", "queued", "8f3c6a1e-0000-0000-0000-00000000c0de", "tel:+13175550142",
         "q-billing", None),
        ("genesys_user_start.json", "genesys", "answered", "8f3c6a1e-0000-0000-0000-00000000c0de", "tel:+13175550142",
         "q-billing", "agent-77"),
        ("genesys_queue_conversations.json", "genesys", "queued", "8f3c6a1e-0000-0000-0000-00000000beef",
         "tel:+13175550143", "q-billing", None),
        ("twilio_taskrouter_task_created.form", "twilio", "queued", "WT00000000000000000000000000000001",
         "+14155550188", "WQ00000000000000000000000000000001", None),
    ],
)  # fmt: skip
def test_each_documented_event_is_recognised(
    fixture: str, platform: str, kind: str, call_id: str, caller: str | None, queue: str | None, agent: str | None
) -> None:
    (call,) = _calls(fixture)
    assert (call.platform, call.kind.value, call.call_id) == (platform, kind, call_id)
    assert (call.caller, call.queue, call.agent) == (caller, queue, agent)
    assert call.at is None or call.at.tzinfo is not None  # the Lambda event and the notification carry no time


def test_an_event_streams_array_is_one_call_per_cloudevent() -> None:
    created, accepted = _calls("twilio_event_streams.json")
    assert (created.kind, created.caller, created.call_id) == (
        CallEventKind.QUEUED,
        "+14155550199",
        "WT00000000000000000000000000000002",
    )
    assert (accepted.kind, accepted.agent) == (CallEventKind.ANSWERED, "WK1")
    assert created.at == datetime(2026, 12, 2, 9, 2, tzinfo=UTC)


def test_a_queued_call_becomes_warmline_s_call_started_and_its_key() -> None:
    (genesys,) = _calls("genesys_acd_start.json")
    started = as_call_started(genesys)
    assert started is not None and str(started.lookup_key("US")) == "phone:+13175550142"
    (twilio,) = _calls("twilio_taskrouter_task_created.form")
    started = as_call_started(twilio)
    assert started is not None and started.started_at == datetime.fromtimestamp(1796202000, UTC)
    (no_number,) = _calls("connect_contact_event_queued.json")
    assert as_call_started(no_number) is None  # EventBridge contact events carry no caller number


def test_paths_are_case_insensitive_and_filter_lists_and_parse_embedded_json() -> None:
    data = {"Outer": {"list": [{"kind": "a", "v": 1}, {"kind": "b", "v": '{"x": [5, 6]}'}]}}
    assert resolve(data, "outer.LIST[kind=a].v") == 1
    assert resolve(data, "outer.list[kind=b].v|json.x.1") == 6
    assert resolve(data, "outer.list[kind=c].v") is None
    assert resolve(data, "outer.list.0.kind") == "a"
    assert resolve(data, "outer.missing.deeper") is None


def test_a_home_grown_platform_is_one_mapping_file(tmp_path: Path) -> None:
    pbx = tmp_path / "pbx.yaml"
    pbx.write_text(
        "platform: acme-pbx\n"
        "events:\n"
        "  - name: ringing in a hunt group\n"
        "    kind: queued\n"
        "    match: [{path: evt, equals: RING}]\n"
        "    fields: {call_id: uniqueid, caller: cid.num, queue: group}\n"
    )
    mappings = load_mappings([pbx])
    assert "acme-pbx" in mappings.platforms and "connect" in mappings.platforms
    (call,) = mappings.recognize({"evt": "RING", "uniqueid": "17.3", "cid": {"num": "+442079460000"}, "group": "sales"})
    assert (call.platform, call.caller, call.queue) == ("acme-pbx", "+442079460000", "sales")
    assert mappings.recognize({"evt": "HANGUP", "uniqueid": "17.3"}) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("events: []\n", "needs 'platform: NAME'"),
        ("platform: x\nevents: [{kind: rung, fields: {call_id: a}}]\n", "kind must be queued, answered or ended"),
        ("platform: x\nevents: [{kind: queued, fields: {caller: a}}]\n", "fields must name call_id"),
        (
            "platform: x\nevents: [{kind: queued, fields: {call_id: a}, match: [{path: a, matches: '('}]}]\n",
            "not a regular",
        ),
        ("platform: [unclosed\n", "WARMLINE_EVENT_MAPPINGS"),
    ],
)
def test_a_bad_mapping_file_is_refused_with_what_is_wrong(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(MappingError, match=says):
        load_mappings([path])


def _handler(outbox: FakeOutbox) -> CallStartedHandler:
    return CallStartedHandler(
        fake_runtime(l2=FakeL2(), clock=time.time, l1_max_entries=1000).lookups,
        Metrics(),
        outbox,
        HandlerPool(100),
        FakeOwnership({3}),
        "call-started-repartition",
        call_max_age_s=900,
        on_warm=None,
        rekeyed=False,
        platforms=PlatformIngress(MAPPINGS, MemoryCallRegistry(), "US"),
    )


def _event(raw: bytes) -> FakeEvent:
    event = FakeEvent(raw)
    event.message.topic = "call-started"
    event.message.timestamp = time.time()
    return event


async def test_a_platform_event_on_call_started_goes_to_its_owner_as_call_started() -> None:
    outbox = FakeOutbox()
    handler = _handler(outbox)
    event = _event((FIXTURES / "genesys_acd_start.json").read_bytes())
    await handler.handle(event)
    (sent,) = outbox.sent
    assert sent["topic"] == "call-started-repartition" and sent["key"] == b"phone:+13175550142"
    assert sent["partition"] == 3 and sent["value"]["call_id"] == "8f3c6a1e-0000-0000-0000-00000000c0de"
    assert event.acks == 0  # only once the re-published call is on the broker
    outbox.deliver_all()
    await _settled()
    assert event.acks == 1


async def test_an_answered_event_goes_to_its_owner_and_strangers_are_dead_lettered() -> None:
    outbox = FakeOutbox()
    handler = _handler(outbox)
    answered = _event((FIXTURES / "genesys_user_start.json").read_bytes())
    stranger = _event(orjson.dumps({"hello": "world"}))
    await handler.handle(answered)
    await handler.handle(stranger)
    to_owner, dead = outbox.sent
    assert to_owner["topic"] == "call-started-repartition" and to_owner["key"] == b"phone:+13175550142"
    assert to_owner["value"]["type"] == "call-answered" and to_owner["value"]["agent"] == "agent-77"
    assert dead["topic"] == "dlq" and "neither a CallStarted" in dead["reason"]
    assert "nor a known platform event" in dead["reason"]
    outbox.deliver_all()
    await _settled()
    assert (answered.acks, stranger.acks) == (1, 1)
    counted = handler._metrics.platform_events.labels("genesys", "answered")._value.get()
    assert counted == 1


async def _settled() -> None:
    import asyncio

    for _ in range(3):
        await asyncio.sleep(0)
