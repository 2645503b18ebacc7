"""`make lint`'s shape report: the ten longest functions in warmline/ and any import cycle (warmline, harness,
benchmarks, tests).

Both fail the check (exit 1), each printed with where it is:
- a function in warmline/ longer than LONG_LINES lines: one that long does more than one job (issue 21);
  split it into helpers that each do one;
- an import cycle: the layers of docs/architecture.md only hold if no two modules import each other,
  however indirectly.

Run from a checkout: ``python tools/code_report.py`` (``make lint`` does).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "warmline"
CYCLE_FREE = (PACKAGE, "harness", "benchmarks", "tests")  # no import cycle in any of them
LONG_LINES = 50  # a function in warmline/ longer than this fails the check


@dataclass(frozen=True)
class Function:
    """One function or method: where it is and how many lines it spans (decorators excluded)."""

    path: str
    line: int
    name: str
    lines: int


def functions(root: Path) -> Iterator[Function]:
    """Every function and method under *root*, with its length in lines."""
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                yield Function(str(path.relative_to(ROOT)), node.lineno, node.name, node.end_lineno - node.lineno + 1)


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of *graph* with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def import_graph(package: str) -> dict[str, set[str]]:
    """Module → the package's modules it imports (imports under ``if TYPE_CHECKING:`` left out)."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def main() -> int:
    """Print the report; 1 when a function in warmline/ is over LONG_LINES lines or there is an import cycle."""
    longest = sorted(functions(ROOT / PACKAGE), key=lambda f: -f.lines)
    print(f"ten longest functions in {PACKAGE}/:")
    for f in longest[:10]:
        print(f"  {f.lines:4d} lines  {f.path}:{f.line}  {f.name}")
    over = [f for f in longest if f.lines > LONG_LINES]
    for f in over:
        print(f"too long: {f.path}:{f.line}  {f.name} has {f.lines} lines; split it into helpers with one job each")
    print(f"{len(over)} functions over {LONG_LINES} lines")
    found = [c for package in CYCLE_FREE for c in cycles(import_graph(package))]
    for component in found:
        print(f"import cycle: {' ↔ '.join(component)}")
    print(f"{len(found)} import cycles")
    return 1 if over or found else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # run as a file, the checkout's own packages (harness, tests) are not importable
    sys.exit(main())
