"""`warmline simulate --platform`: a contact-center platform's own events — queued, answered after a
wait, ended — sent unchanged to the call-started topic or to the worker's webhook; warm-at-answer
is then read from the workers' own counts of those answered events (GET /v1/stats).

The events are shaped as tests/fixtures/platforms (each platform's documented payloads):
Amazon Connect's contact-flow Lambda event, then EventBridge CONNECTED_TO_AGENT and DISCONNECTED
(which carry no number: the worker joins them by contact id); Genesys Cloud's EventBridge
acd.start / user.start / customer.end; Twilio TaskRouter's event callbacks (form-encoded, signed
with Twilio's own validator when TWILIO_AUTH_TOKEN is set).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from ..cache.stats import percentile, to_ms
from .simulator import Callers, SimConfig, run_arrivals

PLATFORMS = ("connect", "genesys", "twilio")
Kind = Literal["queued", "answered", "ended"]
#: The instance, queue and agent the simulated calls use (fictional identifiers in each platform's form).
CONNECT_INSTANCE = "arn:aws:connect:us-east-1:111122223333:instance/00000000-0000-0000-0000-00000000a11c"
#: How long to wait, after the last answer was sent, for the owners to have counted every answer.
SETTLE_S = 30.0


@dataclass(frozen=True)
class Body:
    """One HTTP/Kafka message: its bytes and Content-Type (Twilio's callbacks are forms)."""

    data: bytes
    content_type: str
    form: dict[str, str] | None = None  # the fields Twilio signs


def platform_event(platform: str, kind: Kind, call_id: str, phone: str, at: datetime) -> Body:
    """*platform*'s own event for one step of a call."""
    iso = at.isoformat().replace("+00:00", "Z")
    if platform == "connect":
        return _json(_connect(kind, call_id, phone, iso))
    if platform == "genesys":
        return _json(_genesys(kind, call_id, phone, iso))
    if platform == "twilio":
        return _twilio(kind, call_id, phone, at)
    raise ValueError(f"no simulated events for platform {platform!r}; known: {', '.join(PLATFORMS)}")


def _json(event: dict[str, Any]) -> Body:
    return Body(orjson.dumps(event), "application/json")


def _connect(kind: Kind, contact_id: str, phone: str, iso: str) -> dict[str, Any]:
    queue_arn = f"{CONNECT_INSTANCE}/queue/00000000-0000-0000-0000-0000000005e1"
    if kind == "queued":  # the contact flow's "Invoke AWS Lambda function" block: the event with the number
        return {
            "Name": "ContactFlowEvent",
            "Details": {
                "ContactData": {
                    "Channel": "VOICE",
                    "ContactId": contact_id,
                    "CustomerEndpoint": {"Address": phone, "Type": "TELEPHONE_NUMBER"},
                    "InitiationMethod": "INBOUND",
                    "InitiationTimestamp": iso,
                    "InstanceARN": CONNECT_INSTANCE,
                    "Queue": {"ARN": queue_arn, "Name": "SimQueue"},
                },
                "Parameters": {},
            },
        }
    detail: dict[str, Any] = {
        "eventType": "CONNECTED_TO_AGENT" if kind == "answered" else "DISCONNECTED",
        "contactId": contact_id,
        "channel": "VOICE",
        "instanceArn": CONNECT_INSTANCE,
        "queueInfo": {"queueArn": queue_arn},
    }
    if kind == "answered":
        detail["agentInfo"] = {"agentArn": f"{CONNECT_INSTANCE}/agent/sim", "connectedToAgentTimestamp": iso}
    else:
        detail["disconnectTimestamp"] = iso
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect",
        "time": iso,
        "detail": detail,
    }


def _genesys(kind: Kind, conversation_id: str, phone: str, iso: str) -> dict[str, Any]:
    step = {"queued": "acd.start", "answered": "user.start", "ended": "customer.end"}[kind]
    topic = f"v2.detail.events.conversation.{conversation_id}.{step}"
    body: dict[str, Any] = {
        "eventTime": iso,
        "conversationId": conversation_id,
        "mediaType": "VOICE",
        "direction": "INBOUND",
        "ani": f"tel:{phone}",
        "queueId": "sim-queue",
    }
    if kind == "answered":
        body["userId"] = "sim-agent"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": topic,
        "source": "aws.partner/genesys.com/cloud/00000000-0000-0000-0000-000000000000/warmline",
        "time": iso,
        "detail": {"topicName": topic, "version": "2", "eventBody": body},
    }


def _twilio(kind: Kind, task_sid: str, phone: str, at: datetime) -> Body:
    event_type = {"queued": "task.created", "answered": "reservation.accepted", "ended": "task.completed"}[kind]
    form = {
        "EventType": event_type,
        "Sid": "EV" + uuid.uuid4().hex,
        "WorkspaceSid": "WS" + "0" * 32,
        "TaskSid": task_sid,
        "TaskQueueSid": "WQ" + "0" * 31 + "1",
        "TaskAttributes": orjson.dumps({"from": phone, "type": "inbound"}).decode(),
        "Timestamp": str(int(at.timestamp())),
    }
    if kind == "answered":
        form["WorkerSid"] = "WK" + "0" * 31 + "1"
    return Body(urlencode(form).encode(), "application/x-www-form-urlencoded", form)


def call_id_for(platform: str, n: int, run: str) -> str:
    """A call id in the platform's own form, unique to this run."""
    if platform == "twilio":
        return f"WT{run}{n:016x}"  # 34 characters, as a TaskSid
    return str(uuid.UUID(int=(int(run, 16) << 64) | n))


class Sender(Protocol):
    """Where the events go: the call-started topic unchanged, or the worker's webhook."""

    async def send(self, platform: str, body: Body) -> None:
        """Deliver one event; raises on a refusal (the simulator counts it)."""


class KafkaSender(Sender):
    """Unchanged onto the call-started topic, unkeyed, as an EventBridge → Kafka pipe delivers them."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def send(self, platform: str, body: Body) -> None:
        """Produce and wait for the broker."""
        await self._producer.send_and_wait(self._topic, body.data)


class WebhookSender(Sender):
    """POST /v1/events/{platform}: an API token as a bearer, Twilio's signature when there is a token for it."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        api_token: str | None = None,
        twilio_auth_token: str | None = None,
        public_url: str | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        self._validator = None
        if twilio_auth_token:
            from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]  # the [twilio] extra

            self._validator = RequestValidator(twilio_auth_token)
        self._public = (public_url or self._base).rstrip("/")

    async def send(self, platform: str, body: Body) -> None:
        """POST; anything but 202 raises."""
        path = f"/v1/events/{platform}"
        headers = {**self._headers, "Content-Type": body.content_type}
        if platform == "twilio" and self._validator is not None and body.form is not None:
            headers["X-Twilio-Signature"] = self._validator.compute_signature(self._public + path, body.form)
        async with self._session.post(self._base + path, data=body.data, headers=headers) as resp:
            text = await resp.text()
            if resp.status != 202:
                raise RuntimeError(f"{path}: {resp.status} {text[:200]}")


@dataclass
class PlatformReport:
    """What the simulator sent, and what the workers counted of its answered events."""

    platform: str
    calls: int = 0
    queued: int = 0
    answered: int = 0
    ended: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    send_s: list[float] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=lambda: {"answered": 0, "l1": 0, "l2": 0, "cold": 0})

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        c = self.counted
        return {
            "platform": self.platform,
            "calls": self.calls,
            "events_sent": {"queued": self.queued, "answered": self.answered, "ended": self.ended},
            "refused": self.refused,
            "first_errors": self.errors[:3],
            "send_ms": {q: to_ms(percentile(self.send_s, v)) for q, v in (("p50", 0.5), ("p99", 0.99))},
            "answered_counted": c["answered"],
            "warm": {k: c[k] for k in ("l1", "l2", "cold")},
            "warm_at_answer_ratio": round(c["l1"] / c["answered"], 4) if c["answered"] else None,
            "warm_at_answer_of_queued": round(c["l1"] / self.queued, 4) if self.queued else None,
        }


async def counted_answers(session: aiohttp.ClientSession, stats_urls: Sequence[str], platform: str) -> dict[str, int]:
    """*platform*'s answered calls summed over the workers' /v1/stats (each is counted on its owner only)."""
    total = {"answered": 0, "l1": 0, "l2": 0, "cold": 0}
    for url in stats_urls:
        async with session.get(url.rstrip("/") + "/v1/stats") as resp:
            stats = await resp.json(content_type=None)
        figures = stats.get("warm_at_answer", {}).get("platforms", {}).get(platform)
        if figures:
            total["answered"] += figures["answered"]
            for tier in ("l1", "l2", "cold"):
                total[tier] += figures["warm"][tier]
    return total


async def simulate_platform(
    platform: str,
    config: SimConfig,
    sender: Sender,
    callers: Callers,
    session: aiohttp.ClientSession,
    stats_urls: Sequence[str],
    on_update: Callable[[PlatformReport], None] | None = None,
) -> PlatformReport:
    """Send *platform*'s events for Poisson arrivals for *config.duration_s*; then read the workers' counts."""
    rng = random.Random(config.seed + 2)
    report = PlatformReport(platform)
    before = await counted_answers(session, stats_urls, platform)
    run = uuid.uuid4().hex[:16]

    async def send(kind: Kind, call_id: str, phone: str) -> bool:
        t0 = time.perf_counter()
        try:
            await sender.send(platform, platform_event(platform, kind, call_id, phone, datetime.now(UTC)))
        except Exception as e:  # noqa: BLE001  # counted and reported, the run goes on
            report.refused += 1
            report.errors.append(f"{kind}: {e}"[:300])
            return False
        report.send_s.append(time.perf_counter() - t0)
        return True

    async def one_call(n: int) -> None:
        phone, call_id = callers.pick(), call_id_for(platform, n, run)
        report.calls += 1
        if not await send("queued", call_id, phone):
            return
        report.queued += 1
        queued = rng.random() >= config.immediate_share
        await asyncio.sleep(rng.uniform(*config.wait_s) if queued else 0.0)
        # `report.x += await …` would read x before the await: concurrent calls would lose counts
        answered = await send("answered", call_id, phone)
        report.answered += answered
        await asyncio.sleep(rng.uniform(0.1, 0.5))  # a short conversation
        ended = await send("ended", call_id, phone)
        report.ended += ended

    await run_arrivals(config, rng, one_call, lambda: on_update(report) if on_update is not None else None)
    deadline = time.monotonic() + SETTLE_S
    while True:  # the owners count each answer when they reach it: wait until all are in (or give up)
        after = await counted_answers(session, stats_urls, platform)
        report.counted = {k: after[k] - before[k] for k in after}
        if report.counted["answered"] >= report.answered or time.monotonic() > deadline:
            return report
        await asyncio.sleep(0.25)
