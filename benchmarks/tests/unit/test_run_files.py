"""A fault run's results file starts with what ran, when, where and how long; its work directory goes unless kept."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from benchmarks import report


def test_the_results_file_has_the_header_then_the_body(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(report, "RESULTS_DIR", tmp_path / "results")
    path = report.write_run("faults", "faults-test", time.monotonic(), {"faults": [{"fault": "x"}], "path": Path("/")})
    doc = json.loads(path.read_text())
    assert path == tmp_path / "results" / "faults-test.json"
    assert list(doc) == ["benchmark", "when", "machine", "duration_s", "faults", "path"]
    assert doc["benchmark"] == "faults" and doc["faults"] == [{"fault": "x"}] and doc["path"] == "/"
    assert set(doc["machine"]) == {"python", "cpus"}


def test_the_work_directory_is_removed_unless_kept(capsys: pytest.CaptureFixture[str]) -> None:
    with report.run_dir("warmline-test-", keep=False) as scratch:
        assert scratch.is_dir()
    assert not scratch.exists()
    with report.run_dir("warmline-test-", keep=True) as kept:
        (kept / "worker-0.log").write_text("kept\n")
    assert (kept / "worker-0.log").read_text() == "kept\n"
    assert f"logs kept under {kept}" in capsys.readouterr().out
    (kept / "worker-0.log").unlink()
    kept.rmdir()
