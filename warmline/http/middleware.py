"""The aiohttp middleware in front of every route: bearer tokens by path prefix, and JSON for every error."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import Counter

from ..models.protocol import MAX_BODY_BYTES, MAX_PREWARM_BODY_BYTES, PREWARM_PATH
from .auth import TokenCheck, route_group
from .responses import json_response

logger = logging.getLogger(__name__)


def _route(request: web.Request) -> str:
    """The matched route's pattern (``/v1/cache/{key}``), never the raw path or query: those hold keys."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


def body_limit(path: str) -> int:
    """The longest request body *path* reads: 8 MiB for a prewarm, 1 MiB for anything else."""
    return MAX_PREWARM_BODY_BYTES if path == PREWARM_PATH else MAX_BODY_BYTES


def build_middleware(check: TokenCheck, failures: Counter) -> Middleware:
    """The middleware: refuse what lacks its credential (401/403, counted by group) or is too long (413).

    Errors become JSON.
    """

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        group = route_group(request.path)
        if group is not None and (refusal := check.refusal(group, request.headers.get("Authorization"))):
            failures.labels(group.value).inc()
            headers = {"WWW-Authenticate": 'Bearer realm="warmline"'} if refusal.status == 401 else None
            return json_response({"error": refusal.message}, status=refusal.status, headers=headers)
        if request.body_exists:  # GETs have none: the lookup's hot path skips this
            limit = body_limit(request.path)
            if (request.content_length or 0) > limit:
                return json_response({"error": f"the body is over {limit} bytes"}, status=413)
            request = request.clone(client_max_size=limit)  # a chunked body is cut off at the limit as it is read
        try:
            return await handler(request)
        except web.HTTPException as e:  # aiohttp's own 404/405/413…: same JSON shape as ours
            if e.status < 400:
                raise
            return json_response({"error": e.reason}, status=e.status, headers=_allow(e))
        except Exception as e:  # the one place a view's bug becomes a JSON 500, not a text page
            # The route pattern and the error's type only: messages and tracebacks may quote keys.
            logger.error("%s %s failed: %s", request.method, _route(request), type(e).__name__)
            logger.debug("traceback of that failure", exc_info=True)  # debug logs are not for production
            return json_response({"error": "internal error"}, status=500)

    return guard


def _allow(e: web.HTTPException) -> dict[str, str] | None:
    allow = e.headers.get("Allow")
    return {"Allow": allow} if allow else None
