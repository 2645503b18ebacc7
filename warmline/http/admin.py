"""DELETE /v1/cache/{key} (admin; the token is checked by the middleware): drop a key from its owner's L1 and L2."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from faust.web import View

from ..errors import InvalidMessage
from ..models import LookupStatus, parse_key
from ..models.protocol import CACHE_PATH
from .context import WebContext
from .responses import error_response, json_response
from .routing import PeerTransport


def register(app: Any, ctx: WebContext, router: PeerTransport) -> None:
    """Attach DELETE /v1/cache/{key}."""

    @app.page(CACHE_PATH)
    class CacheKeyView(View):
        async def delete(self, request: web.Request, key: str) -> web.Response:
            try:
                lookup_key = parse_key(key, ctx.region)
            except InvalidMessage as e:
                return error_response(LookupStatus.INVALID, e.reason)
            owner = router.owner(lookup_key, request)
            if owner is not None:
                return await router.forward(ctx.http, owner, request)
            held = await ctx.lookups.invalidate(lookup_key)
            return json_response({"invalidated": str(lookup_key), "l1_held": held})
