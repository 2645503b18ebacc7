"""docker-compose.yml: the production-like stack the README describes, with env names warmline knows.

`docker compose config` needs the compose plugin, which this machine lacks; this test checks the
same things that matter offline.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from warmline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_has_kraft_kafka_redis_and_two_workers() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"kafka", "redis", "worker-1", "worker-2"} <= set(services)
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    known = {f"WARMLINE_{name.upper()}" for name in Settings.model_fields}
    for name in ("worker-1", "worker-2"):
        env = services[name]["environment"]
        assert set(env) <= known, set(env) - known
        assert env["WARMLINE_BROKER"] == "kafka://kafka:9092"
        assert services[name]["build"] == "."
    assert (ROOT / "Dockerfile").exists()
