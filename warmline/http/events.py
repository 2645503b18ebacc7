"""POST /v1/events/{platform}: a platform's webhook (Twilio TaskRouter, an EventBridge API destination, …).

The body is recognised by the platform's mapping (docs/platforms.md) and routed as the Kafka path
routes it (platforms/ingress.py): each queued call, as warmline's CallStarted, and each answered
call, as CallAnswered, into warmline's own call-started repartition topic on its owner's
partition; an event without the caller's number waits in the call registry for its call's. The
answer (202) comes only once every such record is on the broker, so a platform that gets no 2xx
retries and nothing is lost. Unrecognised: 400 with the
reason. Credentials: the API tokens as a bearer or as Basic auth's password (the middleware), and
for Twilio, when TWILIO_AUTH_TOKEN is set, Twilio's own request signature, checked with Twilio's
validator against WARMLINE_PUBLIC_URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from faust.web import View
from pydantic import SecretStr

from ..errors import RegistryUnavailable, SettingsError
from ..models import LookupStatus
from ..models.protocol import EVENTS_PATH
from ..platforms.calls import platform_payload
from ..platforms.ingress import Dispatch, PlatformIngress
from ..platforms.mapping import PlatformCall
from ..stream.own_producer import RecordSender
from ..stream.ownership import Ownership
from ..stream.topics import repartition_topic
from .context import WebContext
from .responses import error_response, json_response

logger = logging.getLogger(__name__)

#: Under Twilio's shortest webhook deadline (Event Streams: 5 s); the platform retries a timeout.
DELIVERY_TIMEOUT_S = 4.0


class TwilioSignature:
    """Twilio's own validator for X-Twilio-Signature (``pip install 'warmline[twilio]'``)."""

    def __init__(self, auth_token: SecretStr, public_url: str | None) -> None:
        try:
            from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]  # the [twilio] extra
        except ImportError:
            raise SettingsError(
                "TWILIO_AUTH_TOKEN is set: checking Twilio's signatures needs pip install 'warmline[twilio]'"
            ) from None

        self._validator = RequestValidator(auth_token.get_secret_value())
        self._public_url = (public_url or "").rstrip("/")

    def valid(self, request: web.Request, body: bytes, form: dict[str, str] | None) -> bool:
        """True when the signature covers this URL (as Twilio called it) and body."""
        signature = request.headers.get("X-Twilio-Signature", "")
        base = self._public_url or f"{request.scheme}://{request.host}"
        url = base + request.path_qs
        params: Any = form if form is not None else body.decode("utf-8", "replace")
        return bool(signature) and bool(self._validator.validate(url, params, signature))


class EventStore:
    """Routes a webhook's calls (platforms/ingress.py) and returns once their records are on Kafka.

    The records go through a producer of the webhook's own (stream/own_producer.py): through
    Faust's they would wait behind the L1 changelog writes of the warming those same events cause.
    It batches even on the embedded broker (Faust's sends one record a batch there): Tansu's end
    offsets are wrong only after a batched produce, and only changelogs are read up to their end
    offset — under load, one record per partition per round trip made requests wait seconds.
    """

    def __init__(self, platforms: PlatformIngress, producer: RecordSender, ownership: Ownership, topic: str) -> None:
        self._platforms = platforms
        self._producer = producer
        self._ownership = ownership
        self._topic = topic

    async def store(self, calls: Sequence[PlatformCall]) -> list[Dispatch]:
        """The calls' dispatches, once every record is on the broker (within DELIVERY_TIMEOUT_S).

        Raises RegistryUnavailable (an event without a number, not matched) or any other error
        (not stored); either way the parked events taken are put back first.
        """
        deliveries: list[asyncio.Future[Any]] = []

        async def send(d: Dispatch) -> None:
            if d.record is not None and d.owner_key is not None:
                partition = self._ownership.partition_of(d.owner_key)
                deliveries.append(await self._producer.send(self._topic, d.owner_key.encode(), d.record, partition))

        dispatches: list[Dispatch] | None = None
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT_S):
                # Each record leaves as soon as it is known: a queued call's overlaps the registry's round trip.
                dispatches = await self._platforms.route_all(calls, send)  # puts back what it took if it fails
                await asyncio.gather(*deliveries)
        except Exception:
            if dispatches is not None:  # routed, not delivered
                await self._platforms.restore(dispatches)
            raise
        return dispatches


def register(app: Any, ctx: WebContext) -> None:
    """Attach POST /v1/events/{platform} (when the worker has platform mappings and their producer)."""
    if ctx.platforms is None or ctx.events_producer is None:
        return
    platforms, twilio, producer = ctx.platforms, ctx.twilio, ctx.events_producer
    store = EventStore(platforms, producer, ctx.ownership, repartition_topic(str(app.conf.id), "call-started"))

    async def stop_producer(_: web.Application) -> None:
        await producer.stop()  # after the server stopped taking requests: what is queued is delivered

    app.web.web_app.on_cleanup.append(stop_producer)
    lanes = app.lanes
    serving = lanes.serving if lanes is not None else contextlib.nullcontext

    @app.page(EVENTS_PATH)
    class PlatformEvents(View):
        async def post(self, request: web.Request, platform: str) -> web.Response:
            if platform not in platforms.platforms:
                known = ", ".join(platforms.platforms)
                return error_response(
                    LookupStatus.INVALID, f"no platform {platform[:64]!r}; known: {known}", http_status=404
                )
            body = await request.read()
            payload = platform_payload(body)
            if platform == "twilio" and twilio is not None:
                is_form = request.content_type == "application/x-www-form-urlencoded"
                form = payload if is_form and isinstance(payload, dict) else None  # Twilio signs form fields
                if not twilio.valid(request, body, form):
                    ctx.metrics.platform_events.labels(platform, "bad_signature").inc()
                    return error_response(LookupStatus.INVALID, "missing or wrong X-Twilio-Signature", http_status=403)
            calls = platforms.recognize(payload, platform)
            if not calls:
                ctx.metrics.platform_events.labels(platform, "unrecognized").inc()
                return error_response(LookupStatus.INVALID, f"not a {platform} call event warmline recognises")
            try:
                with serving():  # warming yields while a platform waits for its answer (stream/lanes.py)
                    dispatches = await store.store(calls)
            except RegistryUnavailable as e:  # an event without a number cannot be matched now: retry
                logger.warning("platform event from %s not matched: %s", platform, e)
                return error_response(LookupStatus.UNAVAILABLE, "call registry unavailable; retry", http_status=503)
            except Exception as e:  # noqa: BLE001  # not on the broker: the platform retries
                logger.warning("platform event from %s not delivered to Kafka: %s", platform, type(e).__name__)
                return error_response(LookupStatus.UNAVAILABLE, "the event could not be stored; retry", http_status=503)
            outcomes = []
            for d in dispatches:
                ctx.metrics.platform_events.labels(platform, d.outcome).inc()
                outcomes.append({"call_id": d.call.call_id, "kind": d.call.kind.value, "outcome": d.outcome})
            return json_response({"accepted": outcomes}, status=202)
