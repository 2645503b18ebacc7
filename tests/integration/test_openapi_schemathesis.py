"""Schemathesis against a live worker, from its own /openapi.json: no 5xx, every response as documented."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from .conftest import Cluster

API_TOKEN = "api-key-schemathesis"
ADMIN_TOKEN = "s3cret"  # the cluster's WARMLINE_ADMIN_TOKEN
#: Response checks only; each operation gets a bounded number of generated cases (about 20 s on 2 cores).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "ignored_auth",  # a guarded operation called without its token must answer 401
)
MAX_EXAMPLES = 60


async def test_schemathesis_finds_no_5xx_and_no_undocumented_response(cluster: Cluster, tmp_path: Path) -> None:
    worker = cluster.worker(WARMLINE_API_TOKENS=f"another-key,{API_TOKEN}")
    config = tmp_path / "schemathesis.toml"
    # One token per security scheme of the document: schemathesis sends each operation the one it declares.
    config.write_text(
        f'[auth.openapi.apiToken]\nbearer = "{API_TOKEN}"\n\n[auth.openapi.adminToken]\nbearer = "{ADMIN_TOKEN}"\n'
    )
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{worker.url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "20261126",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
    ]
    proc = await asyncio.to_thread(
        subprocess.run, command, cwd=tmp_path, capture_output=True, text=True, timeout=150, check=False
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report[-12000:]
    assert "No issues found" in report or "passed" in report, report[-4000:]
