"""`warmline lookup`: one lookup over HTTP or Kafka, printed as JSON."""

from __future__ import annotations

import sys

import aiohttp
import orjson

from ..client import LookupClient
from ..models import LookupStatus
from ..models.protocol import LOOKUP_PATH
from ..settings import Settings
from ..stream.security import kafka_connection


async def run_lookup(settings: Settings, by: str, value: str, *, http: str | None, timeout_ms: int) -> int:
    """Print the reply; exit status 0 for ok, 1 for not_found, 2 otherwise."""
    if http:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                http.rstrip("/") + LOOKUP_PATH,
                params={by: value},
                timeout=aiohttp.ClientTimeout(total=timeout_ms / 1000 + 1),
            ) as resp,
        ):
            body = await resp.read()
            status = orjson.loads(body).get("status")
    else:
        async with LookupClient(
            kafka_connection(settings),
            request_topic=settings.topic_lookup_request,
            reply_topic=settings.topic_lookup_reply,
            region=settings.default_region,
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        ) as client:
            reply = await client.lookup(by, value, timeout_ms=timeout_ms)
        body, status = reply.to_json(), reply.status.value
    sys.stdout.write(orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if status == LookupStatus.OK else 1 if status == LookupStatus.NOT_FOUND else 2
