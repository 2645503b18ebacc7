"""The request/reply agent: parse → (re-key) → lookup → reply on reply_to, or the DLQ."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from faust.types import EventT, StreamT

from ..app import StreamApp
from ..models import Answer, InvalidMessage, LookupRequest, LookupStatus, parse
from ..models.base import MAX_MESSAGE_BYTES
from ..ownership import owner_partition
from ..runtime import Runtime
from .kafka_io import HandlerPool, Outbox, SpringReply, consume

logger = logging.getLogger(__name__)


def _salvage(raw: bytes | None) -> tuple[str | None, str | None]:
    """(request_id, reply_to) of a message that failed validation, where they are usable."""
    if raw is None or len(raw) > MAX_MESSAGE_BYTES:
        return None, None  # an oversized message is not worth decoding to answer it
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    rid, reply_to = data.get("request_id"), data.get("reply_to")
    rid = rid if isinstance(rid, str) and 0 < len(rid) <= 128 else None
    ok_topic = (
        isinstance(reply_to, str)
        and 0 < len(reply_to) <= 249
        and reply_to.replace("-", "").replace("_", "").replace(".", "").isalnum()
    )
    return rid, reply_to if ok_topic else None


class LookupRequestHandler:
    """Handles one lookup-request event; every parseable request gets exactly one reply."""

    def __init__(self, runtime: Runtime, outbox: Outbox, pool: HandlerPool, partitions: int) -> None:
        self._rt = runtime
        self._outbox = outbox
        self._pool = pool
        self._partitions = partitions
        self._default_reply_topic = runtime.settings.topic_lookup_reply

    async def handle(self, event: EventT[bytes]) -> None:
        """Answer, forward, or dead-letter *event*; acks it when done."""
        msg = event.message
        spring = SpringReply.from_headers(msg.headers)
        try:
            request = parse(LookupRequest, msg.value)
        except InvalidMessage as e:
            await self._reject(event, spring, e.reason)
            event.ack()
            return
        reply_topic = spring.topic or request.reply_to or self._default_reply_topic
        try:
            key = request.lookup_key(self._rt.settings.default_region)
        except InvalidMessage as e:
            reply = Answer(request_id=request.request_id, status=LookupStatus.INVALID, error=e.reason)
            await self._reply(reply_topic, reply, spring)
            event.ack()
            return
        if owner_partition(str(key), self._partitions) != msg.partition:
            await self._outbox.forward(event, str(key))
            event.ack()
            return
        fast = self._rt.lookups.peek(key, request.request_id, request.max_age_s)
        if fast is not None:
            await self._reply(reply_topic, fast, spring)
            event.ack()
            return

        async def slow() -> None:
            reply = await self._rt.lookups.lookup_key(
                key, request_id=request.request_id, max_age_s=request.max_age_s, timeout_ms=request.timeout_ms
            )
            await self._reply(reply_topic, reply, spring)

        await self._pool.spawn(event, slow)

    async def _reply(self, topic: str, reply: Answer, spring: SpringReply) -> None:
        key = reply.request_id.encode() if reply.request_id else None
        await self._outbox.send(topic, key, reply.to_json(), partition=spring.partition, headers=spring.reply_headers())

    async def _reject(self, event: EventT[bytes], spring: SpringReply, reason: str) -> None:
        """Dead-letter the message; if it still names a request id and a reply topic, answer `invalid` too."""
        await self._outbox.dead_letter(event, reason)
        request_id, reply_to = _salvage(event.message.value)
        if request_id is None and spring.correlation_id is None:
            return
        topic = spring.topic or reply_to or self._default_reply_topic
        reply = Answer(request_id=request_id, status=LookupStatus.INVALID, error=reason)
        await self._reply(topic, reply, spring)


def register(sa: StreamApp, runtime: Runtime, outbox: Outbox, pool: HandlerPool) -> Any:
    """Attach the lookup-request agent to the app."""
    handler = LookupRequestHandler(runtime, outbox, pool, runtime.settings.topic_partitions)

    @sa.app.agent(sa.topics.lookup_request, name="warmline.lookup_requests")
    async def lookup_requests(stream: StreamT[bytes]) -> None:
        await consume(stream, handler.handle)

    return lookup_requests
