"""Admin routes: DELETE /v1/cache/{key} (bearer token), routed to the key's owner."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from faust.web import View

from ..models import InvalidMessage, LookupStatus, parse_key
from ..runtime import Runtime
from .auth import admin_denial
from .responses import error_response, json_response
from .routing import OwnerRouter


def register(app: Any, runtime: Runtime, router: OwnerRouter) -> None:
    """Attach the admin routes."""

    @app.page("/v1/cache/{key}")
    class CacheKeyView(View):
        async def delete(self, request: web.Request, key: str) -> web.Response:
            denial = admin_denial(request, runtime.settings.admin_token)
            if denial is not None:
                return json_response({"error": denial}, status=401 if runtime.settings.admin_token else 403)
            try:
                lookup_key = parse_key(key, runtime.settings.default_region)
            except InvalidMessage as e:
                return error_response(LookupStatus.INVALID, e.reason)
            owner = router.owner(lookup_key, request)
            if owner is not None:
                return await router.forward(runtime.http, owner, request)
            held = await runtime.cache.invalidate(lookup_key)
            return json_response({"invalidated": str(lookup_key), "l1_held": held is not None})
