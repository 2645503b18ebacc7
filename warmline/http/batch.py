"""POST /v1/lookup/batch: the body model, and the fan-out of its items to their owners."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import aiohttp
import orjson
from pydantic import BaseModel, ConfigDict, Field
from yarl import URL

from ..errors import InvalidMessage
from ..lookups import LookupService
from ..models import Answer, LookupKey, LookupStatus
from ..models.protocol import LOOKUP_PATH
from .routing import PeerTransport

MAX_BATCH = 1000


class BatchItem(BaseModel):
    """One lookup of a batch."""

    model_config = ConfigDict(extra="forbid")
    by: Literal["phone", "email", "customer_id"]
    value: str = Field(min_length=1, max_length=320)


class BatchRequest(BaseModel):
    """``{"lookups": [...], "concurrency": 10}``."""

    model_config = ConfigDict(extra="forbid")
    lookups: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH)
    concurrency: int = Field(default=10, ge=1, le=200)
    timeout_ms: int | None = Field(default=None, ge=1, le=60_000)


def _dump(reply: Answer) -> orjson.Fragment:
    return orjson.Fragment(reply.to_json())


async def run_batch(
    batch: BatchRequest,
    lookups: LookupService,
    router: PeerTransport,
    session: aiohttp.ClientSession,
    authorization: str | None = None,
) -> list[Any]:
    """Answer every item in input order: keys this worker owns in one local batch (L1, one MGET,
    then the source), the others as single lookups forwarded to their owners (with the caller's
    *authorization* header), both at once."""
    results: list[Any] = [None] * len(batch.lookups)
    local: list[tuple[int, LookupKey]] = []
    remote: list[tuple[int, URL, str, str]] = []
    for i, item in enumerate(batch.lookups):
        try:
            key = lookups.key_for(item.by, item.value)
        except InvalidMessage as e:
            results[i] = _dump(Answer(status=LookupStatus.INVALID, error=e.reason))
            continue
        owner = router.owner(key)
        if owner is None:
            local.append((i, key))
        else:
            remote.append((i, owner, item.by, item.value))
    gate = asyncio.Semaphore(batch.concurrency)

    async def run_local() -> None:
        replies = await lookups.lookup_keys([k for _, k in local], batch.concurrency, batch.timeout_ms)
        for (i, _), reply in zip(local, replies, strict=True):
            results[i] = _dump(reply)

    async def forwarded(i: int, owner: URL, by: str, value: str) -> None:
        async with gate:
            try:
                reply = await router.get_json(session, owner, LOOKUP_PATH, {by: value}, authorization)
            except Exception as e:  # noqa: BLE001  # a peer failure is one item's error, not the batch's
                reply = _dump(Answer(status=LookupStatus.UNAVAILABLE, error=f"owner {owner}: {type(e).__name__}"))
            if not (isinstance(reply, orjson.Fragment) or (isinstance(reply, dict) and "status" in reply)):
                reply = _dump(Answer(status=LookupStatus.ERROR, error=f"owner {owner} did not answer with a reply"))
            results[i] = reply

    await asyncio.gather(run_local(), *(forwarded(*item) for item in remote))
    return results
