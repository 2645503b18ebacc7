"""docs/architecture.md against the code: the layer diagram is the import contract, the tree is the package."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text()


def _block_after(marker: str) -> list[str]:
    """The lines of the first fenced block after *marker*."""
    rest = DOC[DOC.index(marker) :]
    block = re.search(r"```\n(.*?)```", rest, re.S)
    assert block is not None, f"no fenced block after {marker!r}"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _names(cell: str) -> set[str]:
    """`prewarm.{bulk,vip_lists}` and `agents | http` → the module names they stand for."""
    names: set[str] = set()
    for part in cell.split("|"):
        part = part.strip()
        group = re.fullmatch(r"(.*)\{(.*)\}", part)
        names |= {group.group(1) + n for n in group.group(2).split(",")} if group else {part}
    return names


def _diagram_layers() -> list[set[str]]:
    return [_names(re.split(r"\s{2,}", line.strip())[0]) for line in _block_after("Imports flow one way")]


def _contract_layers() -> list[set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (layers,) = [c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [{n.strip().removeprefix("warmline.") for n in layer.split("|")} for layer in layers]


def test_the_layer_diagram_is_the_import_contract_make_lint_checks() -> None:
    assert _diagram_layers() == _contract_layers()


def test_the_tree_lists_every_module_and_package_and_nothing_else() -> None:
    entries = [line.split()[0] for line in _block_after("## The tree") if re.match(r"  \S", line)]
    listed = {name.rstrip("/").removesuffix(".py") for name in entries}
    package = ROOT / "warmline"
    real = {p.stem for p in package.glob("*.py") if not p.stem.startswith("__")}
    real |= {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    assert listed == real


def test_the_harness_block_lists_every_harness_module_and_nothing_else() -> None:
    entries = [line.split()[0] for line in _block_after("## Tests, benchmarks and their harness")[1:]]
    real = {p.name for p in (ROOT / "harness").glob("*.py") if not p.stem.startswith("__")}
    assert set(entries) == real


def test_the_diagram_parser_sees_a_missing_layer() -> None:
    """The check above can fail: a diagram without one layer differs from the contract."""
    assert _diagram_layers()[1:] != _contract_layers()
