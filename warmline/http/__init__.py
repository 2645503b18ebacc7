"""HTTP routes served by the Faust web server; register() attaches them all, behind one middleware."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from . import admin, chat, events, lookup, openapi, ops, prewarm
from .auth import TokenCheck
from .context import WebContext
from .middleware import build_middleware
from .routing import PeerTransport

logger = logging.getLogger(__name__)


def register(app: Any, ctx: WebContext, router: PeerTransport) -> None:
    """Attach every route to the Faust *app* (forwarding through *router*), and the token/error middleware."""
    check = TokenCheck.build(ctx.api_tokens, ctx.admin_token)
    web_app: web.Application = app.web.web_app
    web_app.middlewares.append(build_middleware(check, ctx.metrics.http_auth_failures))
    if check.api_open and ctx.source_name == "tilores":

        async def warn_open(_: web.Application) -> None:  # at server start: logging is configured by then
            logger.warning(
                "WARMLINE_API_TOKENS is not set: /v1/lookup, /v1/stats and /chat serve Tilores records to anyone"
                " who can reach port %s",
                ctx.web_port,
            )

        web_app.on_startup.append(warn_open)
    openapi.register(app)
    lookup.register(app, ctx, router)
    admin.register(app, ctx, router)
    prewarm.register(app, ctx, router)
    ops.register(app, ctx)
    chat.register(app, ctx)
    events.register(app, ctx)
