"""Bearer-token check for admin routes."""

from __future__ import annotations

import hmac

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
