"""/metrics declares each family once: the exposition of a fully wired runtime parses with unique names."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from warmline.bootstrap import bootstrap
from warmline.metrics import Metrics
from warmline.settings import Settings


def family_names(exposition: str) -> list[str]:
    """Every family the exposition declares, in order, repeats included."""
    return [family.name for family in text_string_to_metric_families(exposition)]


def test_a_wired_runtime_declares_each_family_once(tmp_path: Path) -> None:
    worker = bootstrap(Settings(data_dir=tmp_path, demo_db=tmp_path / "none.sqlite3", redis_url=""))
    names = family_names(generate_latest(worker.runtime.metrics.registry).decode())
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert {
        "warmline_cache_events",
        "warmline_http_auth_failures",
        "warmline_lookups",
        "warmline_oldest_unacked_seconds",
    } <= set(names)


def test_family_names_sees_a_repeat() -> None:
    text = "# TYPE a_total counter\na_total 1.0\n# TYPE b gauge\nb 1.0\n# TYPE a_total counter\na_total 2.0\n"
    names = family_names(text)
    assert len(names) != len(set(names))


def test_the_registry_refuses_a_second_cache_events_family() -> None:
    metrics = Metrics()
    metrics.export_cache_events(lambda: {"hit_l1": 1.0})
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("warmline_cache_events", "again", registry=metrics.registry)
