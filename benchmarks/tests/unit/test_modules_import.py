"""Every benchmark and harness module imports: a merge that breaks one fails here, not at `make bench`."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import benchmarks
import harness


def _modules() -> list[str]:
    names = []
    for package in (benchmarks, harness):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".tests" not in info.name and not info.name.endswith("__main__"):
                names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_module_imports(name: str) -> None:
    importlib.import_module(name)


def test_the_benchmark_runner_imports() -> None:
    importlib.import_module("benchmarks.__main__")
