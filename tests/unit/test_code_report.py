"""tools/code_report.py (in `make lint`): finds import cycles, measures functions; warmline has neither a cycle
nor a function over 50 lines."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("code_report", ROOT / "tools" / "code_report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["code_report"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_cycles_are_found_however_indirect() -> None:
    tool = _tool()
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}, "f": {"a"}}
    assert sorted(tool.cycles(graph)) == [["a", "b", "c"], ["e", "e2"]]
    assert tool.cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_function_lengths_are_counted_from_def_to_last_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _tool()
    (tmp_path / "m.py").write_text("def one():\n    x = 1\n    return x\n\n\nasync def two():\n    pass\n")
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    found = {f.name: f.lines for f in tool.functions(tmp_path)}
    assert found == {"one": 3, "two": 2}


def test_a_function_over_the_limit_fails_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    body = "".join(f"    x{i} = {i}\n" for i in range(tool.LONG_LINES - 1))  # with its def line: exactly the limit
    (tmp_path / "warmline").mkdir()
    (tmp_path / "warmline" / "m.py").write_text(f"def fits():\n{body}\n\ndef too_long():\n{body}    return 0\n")
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    assert tool.main() == 1
    report = capsys.readouterr().out
    assert f"too long: warmline/m.py:{tool.LONG_LINES + 3}  too_long has {tool.LONG_LINES + 1} lines" in report
    assert "fits has" not in report


def test_warmline_has_no_import_cycle_and_no_function_over_the_limit(capsys: object) -> None:
    tool = _tool()
    assert tool.cycles(tool.import_graph("warmline")) == []
    assert tool.main() == 0
