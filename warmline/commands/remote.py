"""How the tools reach warmline: HTTP (POST /v1/prewarm, GET /v1/lookup) or the Kafka protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import aiohttp
import orjson
from pydantic import SecretStr

from ..client import LookupClient
from ..models import LookupKey, LookupReply, parse
from ..models.protocol import LOOKUP_PATH, PREWARM_PATH
from ..settings import Settings
from ..stream.security import kafka_connection

PREWARM_CHUNK = 500


class Lookups(Protocol):
    """Something that answers lookups for a tool."""

    async def lookup(self, by: str, value: str, timeout_ms: int = 5000) -> LookupReply:
        """One lookup; failures come back as replies with a status."""
        ...


class HttpLookups:
    """Lookups over HTTP."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/")

    async def lookup(self, by: str, value: str, timeout_ms: int = 5000) -> LookupReply:
        """GET /v1/lookup."""
        timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000 + 1)
        async with self._session.get(self._base + LOOKUP_PATH, params={by: value}, timeout=timeout) as resp:
            return parse(LookupReply, await resp.read())


class KafkaLookups:
    """Lookups over the request/reply protocol."""

    def __init__(self, client: LookupClient) -> None:
        self._client = client

    async def lookup(self, by: str, value: str, timeout_ms: int = 5000) -> LookupReply:
        """Request → reply."""
        return await self._client.lookup(by, value, timeout_ms=timeout_ms)


def kafka_client(settings: Settings) -> LookupClient:
    """A LookupClient configured from *settings*."""
    return LookupClient(
        kafka_connection(settings),
        request_topic=settings.topic_lookup_request,
        reply_topic=settings.topic_lookup_reply,
        region=settings.default_region,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
    )


async def prewarm_http(
    session: aiohttp.ClientSession,
    base_url: str,
    keys: Sequence[LookupKey],
    token: SecretStr | None,
    on_chunk: Callable[[dict[str, Any], int], None],
    origin: str = "admin",
) -> None:
    """POST /v1/prewarm in chunks; *on_chunk(stats, size)* after each. *origin* labels the jobs (admin, replay)."""
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token is not None else {}
    for start in range(0, len(keys), PREWARM_CHUNK):
        chunk = [str(k) for k in keys[start : start + PREWARM_CHUNK]]
        # Sent only when not the default: a worker from before `origin` existed still takes admin warms.
        body = orjson.dumps({"keys": chunk} if origin == "admin" else {"keys": chunk, "origin": origin})
        async with session.post(base_url.rstrip("/") + PREWARM_PATH, data=body, headers=headers) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200:
                raise RuntimeError(f"POST /v1/prewarm answered {resp.status}: {body.get('error', body)}")
        on_chunk(body, len(chunk))


async def lookups_bounded(
    lookups: Lookups, keys: Sequence[LookupKey], concurrency: int, on_reply: Callable[[LookupReply], None]
) -> None:
    """Look every key up with at most *concurrency* in flight (warming as a side effect)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(key: LookupKey) -> None:
        async with gate:
            on_reply(await lookups.lookup(key.kind.value, key.value))

    await asyncio.gather(*(one(k) for k in keys))
