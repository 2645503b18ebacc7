"""Bearer-token check for admin routes."""

from __future__ import annotations

import hmac

import orjson
from aiohttp import web
from pydantic import SecretStr


def admin_denial(request: web.Request, token: SecretStr | None) -> str | None:
    """None if *request* carries the admin token, else why it is refused."""
    if token is None or not token.get_secret_value():
        return "admin routes are disabled: set WARMLINE_ADMIN_TOKEN"
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        return "missing or wrong bearer token"
    return None


def refuse(request: web.Request, token: SecretStr | None) -> web.Response | None:
    """None when *request* may use an admin route, else the 401/403 response to send."""
    denial = admin_denial(request, token)
    if denial is None:
        return None
    body = orjson.dumps({"error": denial})
    return web.Response(body=body, status=401 if token is not None else 403, content_type="application/json")
