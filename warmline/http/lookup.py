"""GET /v1/lookup (served by the key's owner) and POST /v1/lookup/batch (fanned out per key)."""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
from typing import Any

import orjson
from aiohttp import web
from faust.web import View

from ..errors import InvalidMessage
from ..llm.tracing import HTTP_PARENT, TRACE_HEADER, trace_parent
from ..models import KeyKind, LookupStatus, parse_object
from ..models.protocol import BATCH_PATH, LOOKUP_PATH
from .batch import BatchRequest, run_batch
from .context import WebContext
from .responses import error_response, json_response, lookup_response
from .routing import PeerTransport

#: How long a batch without its own timeout waits for the broker to catch up before a 503.
BACKLOG_WAIT_MS = 5000


#: Request ids this process makes: a random prefix and a counter (uuid4 reads os.urandom per call).
_ID_PREFIX = secrets.token_hex(5)
_ids = (f"{_ID_PREFIX}{n:06x}" for n in itertools.count())


def _request_id(request: web.Request) -> str:
    return request.headers.get("X-Request-ID") or next(_ids)


#: The query parameters a lookup is by (plain strings: iterating KeyKind costs more than the L1 hit's table read).
_BY = tuple(kind.value for kind in KeyKind)


def _by_value(query: Any) -> tuple[str, str]:
    given = [(by, query[by]) for by in _BY if by in query]
    if len(given) != 1:
        raise InvalidMessage("give exactly one of phone=, email= or customer_id=")
    return given[0]


def _max_age_s(query: Any) -> float | None:
    text = query.get("max_age_s")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidMessage("max_age_s must be a number") from None
    if not math.isfinite(value) or value < 0:
        raise InvalidMessage("max_age_s must be a finite number ≥ 0")
    return value


def register(app: Any, ctx: WebContext, router: PeerTransport) -> None:
    """Attach the lookup routes."""
    lookups = ctx.lookups

    async def lookup(request: web.Request) -> web.Response:
        rid = _request_id(request)
        try:
            key = lookups.key_for(*_by_value(request.query))
            max_age_s = _max_age_s(request.query)
        except InvalidMessage as e:
            return error_response(LookupStatus.INVALID, e.reason, rid)
        owner = router.owner(key, request)
        if owner is not None:
            relayed = await router.try_forward(ctx.http, owner, request)
            if relayed is not None:
                return relayed
            # The owner is down or frozen until the group rebalances: answer here, from L2 (the
            # record is shared) or the source, rather than fail a caller whose record is cached.
        parent = trace_parent(request.headers, via="http") if TRACE_HEADER in request.headers else HTTP_PARENT
        # An L1 hit is answered without a coroutine of its own; anything else takes the awaited path.
        reply = lookups.peek(key, rid, max_age_s, parent) or await lookups.lookup_key(
            key, request_id=rid, max_age_s=max_age_s, parent=parent
        )
        return lookup_response(reply, rid)

    # The hottest route goes straight on aiohttp's router: a Faust View adds a dispatch wrapper and
    # its monitor's per-request sensors (~10 % of an L1 hit's CPU, measured with py-spy). The token
    # and JSON-error middleware still applies: it sits on the aiohttp application.
    app.web.web_app.router.add_route("GET", LOOKUP_PATH, lookup)

    @app.page(BATCH_PATH)
    class BatchView(View):
        async def post(self, request: web.Request) -> web.Response:
            rid = _request_id(request)
            try:
                batch = parse_object(BatchRequest, orjson.loads(await request.read()))
            except (orjson.JSONDecodeError, InvalidMessage) as e:
                return error_response(LookupStatus.INVALID, getattr(e, "reason", f"body is not JSON: {e}"), rid)
            if ctx.backlog is not None and ctx.backlog.full:
                # A batch fills L1, hence the changelog: wait for the broker first, within the batch's
                # own deadline; a broker that stays behind gets the client a 503 to retry, not a hang.
                try:
                    async with asyncio.timeout((batch.timeout_ms or BACKLOG_WAIT_MS) / 1000):
                        await ctx.backlog.room()
                except TimeoutError:
                    return error_response(LookupStatus.UNAVAILABLE, "the broker is behind; retry later", rid)
            results = await run_batch(batch, lookups, router, ctx.http, request.headers.get("Authorization"))
            return json_response({"results": results, "count": len(results)}, headers={"X-Request-ID": rid})
