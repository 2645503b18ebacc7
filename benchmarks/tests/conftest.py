"""Tests of the benchmarks' own code (generators, tallies, the fault runs in short), marked by folder like tests/."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if HERE in path.parents and path.parent.name in ("unit", "integration"):
            item.add_marker(getattr(pytest.mark, path.parent.name))
