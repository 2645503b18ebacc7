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
import logging
from typing import Any

from aiohttp import web
from faust.web import View
from pydantic import SecretStr

from ..errors import RegistryUnavailable, SettingsError
from ..models import LookupStatus
from ..models.protocol import EVENTS_PATH
from ..platforms.calls import platform_payload
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


def register(app: Any, ctx: WebContext) -> None:
    """Attach POST /v1/events/{platform} (when the worker has platform mappings)."""
    if ctx.platforms is None:
        return
    platforms, twilio = ctx.platforms, ctx.twilio
    ownership = ctx.ownership
    topic = repartition_topic(str(app.conf.id), "call-started")

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
                dispatches = await platforms.route_all(calls)
            except RegistryUnavailable as e:  # an event without a number cannot be matched now: retry
                logger.warning("platform event from %s not matched: %s", platform, e)
                return error_response(LookupStatus.UNAVAILABLE, "call registry unavailable; retry", http_status=503)
            deliveries, outcomes = [], []
            for d in dispatches:
                if d.record is not None and d.owner_key is not None:
                    key, partition = d.owner_key.encode(), ownership.partition_of(d.owner_key)
                    sent = await app.producer.send(topic, key, d.record, partition, None, None)
                    deliveries.append(asyncio.ensure_future(sent))
                ctx.metrics.platform_events.labels(platform, d.outcome).inc()
                outcomes.append({"call_id": d.call.call_id, "kind": d.call.kind.value, "outcome": d.outcome})
            try:
                async with asyncio.timeout(DELIVERY_TIMEOUT_S):
                    await asyncio.gather(*deliveries)
            except Exception as e:  # noqa: BLE001  # not on the broker: the platform retries
                logger.warning("platform event from %s not delivered to Kafka: %s", platform, type(e).__name__)
                await platforms.restore(dispatches)
                return error_response(LookupStatus.UNAVAILABLE, "the event could not be stored; retry", http_status=503)
            return json_response({"accepted": outcomes}, status=202)
