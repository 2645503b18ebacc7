"""Markers by folder, settings factory, Redis and Tansu fixtures, and worker processes."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .stack import _cluster, _tansu, random_suffix

HERE = Path(__file__).parent
__all__ = ["_cluster", "_tansu", "random_suffix"]  # fixtures shared by the integration and interop tiers


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--redis-url", default=os.environ.get("WARMLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in ("unit", "integration", "interop", "containers"):
            item.add_marker(getattr(pytest.mark, folder))


@pytest.fixture(name="collect_after", autouse=True)
def _collect_after(request: pytest.FixtureRequest) -> Iterator[None]:
    """After an integration or interop test, its event loop closed, collect its garbage, so a socket
    it left open is reported against it (an autouse fixture is torn down after the loop's). Left to a
    later collection, the warning fell on whichever test that was: twice on CI, a TLS Redis test
    failed on a transport from an earlier test's closed loop, which no run here reproduced. About
    60 ms a test, on ~150 tests."""
    yield
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("interop"):
        gc.collect()


@pytest.fixture(name="redis_url", scope="session")
def _redis_url(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--redis-url"))


@pytest.fixture(name="demo_db", scope="session")
def _demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from warmline.sources.demo import generate

    return generate(tmp_path_factory.mktemp("demo") / "demo.sqlite3", count=2000, seed=7)


@pytest.fixture(name="clean_env", autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's WARMLINE_* / TILORES_* / bare Faust variables."""
    for name in list(os.environ):
        if name.startswith(("WARMLINE_", "TILORES_")) or name in ("BROKER_REBALANCE_TIMEOUT", "WEB_PORT", "WEB_HOST"):
            monkeypatch.delenv(name)
    return
