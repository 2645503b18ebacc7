"""WARMLINE_LOG_FORMAT=json: every line of a real worker's output is a JSON object; lookups carry ids."""

from __future__ import annotations

from typing import Any

import orjson
from langsmith.run_trees import RunTree

from .conftest import Cluster, eventually, http_get


async def test_json_logs_one_object_per_line_with_request_and_trace_ids(cluster: Cluster) -> None:
    worker = cluster.worker(WARMLINE_LOG_FORMAT="json", WARMLINE_LOG_LEVEL="debug")
    parent = RunTree(name="desk", run_type="chain", inputs={})
    import aiohttp

    headers = {"X-Request-ID": "req-json-1", **parent.to_headers()}
    async with aiohttp.ClientSession() as s, s.get(f"{worker.url}/v1/lookup?customer_id=C-000007", headers=headers):
        pass
    assert (await http_get(f"{worker.url}/v1/lookup", customer_id="C-000007"))[0] == 200

    def lookup_lines() -> list[dict[str, Any]]:
        lines = [orjson.loads(line) for line in worker.log_path.read_bytes().splitlines() if line.strip()]
        return [rec for rec in lines if rec["logger"] == "warmline.lookup"]

    eventually(lambda: len(lookup_lines()) >= 2)
    worker.stop()
    records = [orjson.loads(line) for line in worker.log_path.read_bytes().splitlines() if line.strip()]
    assert {"time", "level", "logger", "message", "request_id", "trace_id", "key"} <= set(records[0])
    first = next(r for r in records if r["request_id"] == "req-json-1")
    assert first["logger"] == "warmline.lookup" and first["trace_id"] == str(parent.trace_id)
    assert first["key"].startswith("customer_id#") and "C-000007" not in first["message"]
    assert not any("┌" in r["message"] or "│" in r["message"] for r in records)  # no start-up tables
