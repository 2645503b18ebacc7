"""POST /v1/prewarm (admin, checked by the middleware): warm keys or VIP lists on their owners; merged job stats."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Literal

import orjson
from aiohttp import web
from faust.web import View
from pydantic import BaseModel, ConfigDict, Field
from yarl import URL

from ..cache.stats import percentile
from ..errors import InvalidMessage
from ..lookups import LookupService
from ..models import LookupKey, LookupStatus, parse_object
from ..models.protocol import PREWARM_PATH
from ..prewarm.bulk import WarmOrigin, WarmOutcome, parse_keys
from ..prewarm.vip_lists import VipBook
from .context import WebContext
from .responses import error_response, json_response
from .routing import FORWARDED_HEADER, PeerTransport

MAX_PREWARM_KEYS = 100_000


class PrewarmRequest(BaseModel):
    """``{"keys": ["phone:+1…", …]}``, ``{"lists": ["platinum"]}``, or ``{}`` for every VIP list.

    ``origin`` labels the job in /v1/stats (``warm_jobs``) and ``warmline_warm_jobs_total``:
    ``admin`` (the default), or ``replay`` when ``warmline replay`` re-warms a topic's callers.
    """

    model_config = ConfigDict(extra="forbid")
    keys: list[str] | None = Field(default=None, max_length=MAX_PREWARM_KEYS)
    lists: list[str] | None = None
    origin: Literal["admin", "replay"] = "admin"


def _merge(parts: list[dict[str, Any]], invalid: int) -> dict[str, Any]:
    """Sum the workers' counts; percentiles over every item's latency."""
    took = [ms for part in parts for ms in part.get("items_ms", [])]
    total: dict[str, Any] = {o.value: sum(p.get(o.value, 0) for p in parts) for o in WarmOutcome}
    total["invalid"] += invalid
    total["total"] = sum(p.get("total", 0) for p in parts) + invalid
    total["duration_s"] = max((p.get("duration_s", 0.0) for p in parts), default=0.0)
    total["p50_ms"] = percentile(took, 0.5)
    total["p99_ms"] = percentile(took, 0.99)
    total["workers"] = len(parts)
    return total


def _select(body: PrewarmRequest, book: VipBook, region: str) -> list[LookupKey | InvalidMessage]:
    """The keys a prewarm request names: its own, or those of the VIP lists it names (all by default)."""
    if body.keys is not None:
        return parse_keys(body.keys, region)
    wanted = set(body.lists or [v.name for v in book.lists])
    unknown = wanted - {v.name for v in book.lists}
    if unknown:
        raise InvalidMessage(f"no VIP list named {sorted(unknown)}")
    return list(dict.fromkeys(k for v in book.lists if v.name in wanted for k in v.keys))


def _reason(body: PrewarmRequest) -> str:
    """What the job's record in /v1/stats says it warmed."""
    if body.keys is not None:
        return "keys"
    return "lists: " + ", ".join(body.lists) if body.lists else "all lists"


async def warm_here(lookups: LookupService, keys: list[LookupKey], body: PrewarmRequest) -> dict[str, Any]:
    """This worker's share: warmed at background priority, counted under the request's origin."""
    job = await lookups.warm_many(keys, origin=WarmOrigin(body.origin), reason=_reason(body))
    return {**job.stats(), "items_ms": [i.took_ms for i in job.items if i is not None]}


def register(app: Any, ctx: WebContext, router: PeerTransport) -> None:
    """Attach POST /v1/prewarm."""
    vip = ctx.vip

    async def warm_there(owner: URL, keys: list[LookupKey], origin: str) -> dict[str, Any]:
        share: dict[str, Any] = {"keys": [str(k) for k in keys]}
        if origin != "admin":  # a peer from before `origin` existed (a rolling upgrade) still takes admin shares
            share["origin"] = origin
        body = orjson.dumps(share)
        headers = {**router.auth_headers(ctx.admin_token), FORWARDED_HEADER: "1"}
        async with ctx.http.post(owner.with_path(PREWARM_PATH), data=body, headers=headers) as resp:
            result: dict[str, Any] = await resp.json(content_type=None)
            return result

    @app.page(PREWARM_PATH)
    class PrewarmView(View):
        async def post(self, request: web.Request) -> web.Response:
            try:
                raw = await request.read()
                body = parse_object(PrewarmRequest, orjson.loads(raw) if raw.strip() else {})
            except (orjson.JSONDecodeError, InvalidMessage) as e:
                return error_response(LookupStatus.INVALID, getattr(e, "reason", f"body is not JSON: {e}"))
            vip.watcher.refresh()
            try:
                parsed = _select(body, vip.watcher.book, ctx.region)
            except InvalidMessage as e:
                return error_response(LookupStatus.INVALID, e.reason)
            keys = [k for k in parsed if isinstance(k, LookupKey)]
            by_owner: dict[URL | None, list[LookupKey]] = defaultdict(list)
            for key in keys:
                by_owner[router.owner(key, request)].append(key)
            parts = await asyncio.gather(
                *(
                    warm_here(ctx.lookups, ks, body) if owner is None else warm_there(owner, ks, body.origin)
                    for owner, ks in by_owner.items()
                )
            )
            if request.headers.get(FORWARDED_HEADER):
                return json_response(parts[0] if parts else _merge([], 0))
            return json_response(_merge(list(parts), len(parsed) - len(keys)))
