"""Schemathesis against a live worker, from its own /openapi.json: no 5xx, every response as documented."""

from __future__ import annotations

from pathlib import Path

from harness.http_fuzz import fuzz

from .conftest import Cluster

API_TOKEN = "api-key-schemathesis"
ADMIN_TOKEN = "s3cret"  # the cluster's WARMLINE_ADMIN_TOKEN
#: Each operation gets a bounded number of generated cases (about 20 s on 2 cores).
MAX_EXAMPLES = 60


async def test_schemathesis_finds_no_5xx_and_no_undocumented_response(cluster: Cluster, tmp_path: Path) -> None:
    worker = cluster.worker(WARMLINE_API_TOKENS=f"another-key,{API_TOKEN}")
    report = await fuzz(worker.url, tmp_path, API_TOKEN, ADMIN_TOKEN, MAX_EXAMPLES)
    log = (tmp_path / "schemathesis.log").read_text()
    assert report["exit_code"] == 0, log[-12000:]
    assert report["operations"] >= 10 and report["operations_failed"] == [], (report, log[-4000:])
