"""Every Python block of docs/llm.md runs against a real worker (its URL substituted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Cluster

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "llm.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
EXPECT = [
    ["ok upstream C-000042", "lookup invalid:"],
    ["(C-000042)", "upstream True", "2"],
    ["200", "kafka True"],
]


def test_the_doc_has_the_blocks_this_test_checks() -> None:
    assert len(BLOCKS) == len(EXPECT)
    links = re.findall(r"\]\((https?://[^)]+)\)", DOC.read_text())
    assert all(link.startswith("https://docs.smith.langchain.com") for link in links)  # public sites only


@pytest.mark.parametrize("index", range(len(EXPECT)))
async def test_doc_block_runs(cluster: Cluster, index: int) -> None:
    worker = cluster.worker()
    code = BLOCKS[index].replace("http://127.0.0.1:6066", worker.url)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for expected in EXPECT[index]:
        assert expected in proc.stdout, (expected, proc.stdout)
    assert "Traceback" not in proc.stderr
