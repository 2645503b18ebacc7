"""JSON responses for the views, and the one mapping of lookup statuses to HTTP codes (STATUS_CODES)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ..models import Answer, CacheTier, LookupStatus

STATUS_CODES = {
    LookupStatus.OK: 200,
    LookupStatus.NOT_FOUND: 404,
    LookupStatus.INVALID: 400,
    LookupStatus.UNAVAILABLE: 503,
    LookupStatus.TIMEOUT: 504,
    LookupStatus.ERROR: 502,
}
X_CACHE = {CacheTier.L1: "L1", CacheTier.L2: "L2", CacheTier.UPSTREAM: "MISS"}
JSON = "application/json"


def lookup_response(reply: Answer, request_id: str) -> web.Response:
    """An Answer as an HTTP response with ``X-Cache`` and ``X-Request-ID``."""
    headers = {"X-Cache": X_CACHE.get(reply.source, "MISS") if reply.source else "MISS", "X-Request-ID": request_id}
    return web.Response(body=reply.to_json(), status=STATUS_CODES[reply.status], content_type=JSON, headers=headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Any JSON body."""
    return web.Response(body=orjson.dumps(body), status=status, content_type=JSON, headers=headers)


def error_response(
    status: LookupStatus, message: str, request_id: str | None = None, http_status: int | None = None
) -> web.Response:
    """A JSON error in the LookupReply shape, so clients parse one body type."""
    reply = Answer(request_id=request_id, status=status, error=message)
    code = http_status or STATUS_CODES[status]
    return web.Response(
        body=reply.to_json(), status=code, content_type=JSON, headers={"X-Request-ID": request_id or ""}
    )
