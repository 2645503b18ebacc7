"""Upstream record sources and build_source(settings)."""

from __future__ import annotations

from ..settings import Settings, SettingsError
from .base import Priority, Source, SourceError, SourceResult, SourceTimeout, SourceUnavailable

__all__ = [
    "Priority",
    "Source",
    "SourceError",
    "SourceResult",
    "SourceTimeout",
    "SourceUnavailable",
    "build_source",
]


def build_source(settings: Settings) -> Source:
    """The Source named by WARMLINE_SOURCE."""
    if settings.source == "demo":
        from .demo import DemoSource

        return DemoSource(settings.demo_db_path, settings.demo_latency_range_ms)
    raise SettingsError(
        "WARMLINE_SOURCE=tilores: the Tilores source is not in this build yet (issue 5); use WARMLINE_SOURCE=demo"
    )
