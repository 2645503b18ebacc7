"""HTTP routes served by the Faust web server; register() attaches them all."""

from __future__ import annotations

from typing import Any

from ..prewarm import VipRunner
from ..runtime import Runtime
from . import admin, chat, lookup, ops, prewarm
from .routing import OwnerRouter


def register(app: Any, runtime: Runtime, vip: VipRunner) -> None:
    """Attach every route to the Faust *app*."""
    router = OwnerRouter(app)
    lookup.register(app, runtime, router)
    admin.register(app, runtime, router)
    prewarm.register(app, runtime, router, vip)
    ops.register(app, runtime, vip)
    chat.register(app, runtime)
