"""HTTP routes served by the Faust web server; register() attaches them all, behind one middleware."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from ..prewarm.scheduler import VipRunner
from ..runtime import Runtime
from . import admin, chat, lookup, openapi, ops, prewarm
from .auth import TokenCheck
from .middleware import build_middleware
from .routing import OwnerRouter

logger = logging.getLogger(__name__)


def register(app: Any, runtime: Runtime, vip: VipRunner) -> None:
    """Attach every route to the Faust *app*, and the token/error middleware to its aiohttp application."""
    settings = runtime.settings
    check = TokenCheck.build(settings.api_token_list, settings.admin_token)
    web_app: web.Application = app.web.web_app
    web_app.middlewares.append(build_middleware(check, runtime.metrics.http_auth_failures))
    if check.api_open and settings.source == "tilores":

        async def warn_open(_: web.Application) -> None:  # at server start: logging is configured by then
            logger.warning(
                "WARMLINE_API_TOKENS is not set: /v1/lookup, /v1/stats and /chat serve Tilores records to anyone"
                " who can reach port %s",
                settings.web_port,
            )

        web_app.on_startup.append(warn_open)
    openapi.register(app)
    router = OwnerRouter(app)
    lookup.register(app, runtime, router)
    admin.register(app, runtime, router)
    prewarm.register(app, runtime, router, vip)
    ops.register(app, runtime, vip)
    chat.register(app, runtime)
