"""Upstream record sources and build_source(settings)."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from ..errors import SettingsError
from ..settings import Settings
from .base import Priority, Source, SourceResult

__all__ = [
    "Priority",
    "Source",
    "SourceResult",
    "build_source",
]


def build_source(settings: Settings, session: Callable[[], aiohttp.ClientSession]) -> Source:
    """The Source named by WARMLINE_SOURCE; *session* gives the runtime's pooled HTTP session."""
    if settings.source == "demo":
        from .demo import DemoSource

        return DemoSource(settings.demo_db_path, settings.demo_latency_range_ms)
    return _tilores(settings, session)


def _tilores(settings: Settings, session: Callable[[], aiohttp.ClientSession]) -> Source:
    from ..errors import FieldListError
    from .tilores import MappingRules, TiloresConfig, TiloresSource, TokenProvider
    from .tilores.queries import check_name, field_names

    t = settings.tilores
    missing = [
        n
        for n, v in (
            ("TILORES_API_URL", t.api_url),
            ("TILORES_TOKEN_URL", t.token_url),
            ("TILORES_CLIENT_ID", t.client_id),
        )
        if not v
    ]
    if missing:
        raise SettingsError(f"WARMLINE_SOURCE=tilores needs {', '.join(missing)}")
    try:
        config = TiloresConfig(
            t.api_url,
            MappingRules(field_names(t.record_fields), t.param_customer_id, settings.default_region),
            param_phone=check_name(t.param_phone, "TILORES_PARAM_PHONE"),
            param_email=check_name(t.param_email, "TILORES_PARAM_EMAIL"),
            param_customer_id=check_name(t.param_customer_id, "TILORES_PARAM_CUSTOMER_ID")
            if t.param_customer_id
            else None,
            phone_format=t.phone_format,
            timeout_s=t.timeout_ms / 1000,
        )
    except FieldListError as e:
        raise SettingsError(str(e)) from None
    tokens = TokenProvider(session, t.token_url, t.client_id, t.client_secret, t.scope, timeout_s=t.timeout_ms / 1000)
    return TiloresSource(session, tokens, config)
