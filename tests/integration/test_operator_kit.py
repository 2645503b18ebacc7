"""The operator's kit: the alerting rules pass promtool (and fire in its rule tests); the dashboard
and the rules name only metrics a running worker exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest
import yaml

from .conftest import Cluster

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "warmline-rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "warmline-rules.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "warmline-dashboard.json"
PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (Debian's prometheus package; .ci/run installs it)")
def test_the_alerting_rules_are_valid_and_fire_on_the_series_that_should_fire_them() -> None:
    assert PROMTOOL is not None
    check = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent, capture_output=True, text=True, timeout=60
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _names_in(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in re.findall(r"\bwarmline_[a-z0-9_]+", expr)}


def _exported(metrics_text: str) -> set[str]:
    """Every series name the exposition can carry, from its `# TYPE` lines (present before any sample)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    names = set()
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)$", metrics_text, flags=re.M):
        base = family.removesuffix("_total") if kind == "counter" else family  # prometheus_client names it either way
        names |= {base + suffix for suffix in suffixes.get(kind, ("",))}
    return names


async def test_the_dashboard_and_the_rules_query_only_what_a_worker_exports(cluster: Cluster) -> None:
    worker = cluster.worker()
    async with aiohttp.ClientSession() as session, session.get(f"{worker.url}/metrics") as resp:
        exported = _exported(await resp.text())
    dashboard = json.loads(DASHBOARD.read_text())
    queried = _names_in([target["expr"] for panel in dashboard["panels"] for target in panel["targets"]])
    rules = yaml.safe_load(RULES.read_text())
    ruled = _names_in([rule["expr"] for group in rules["groups"] for rule in group["rules"]])
    assert len(queried) >= 10 and len(ruled) >= 5
    assert queried - exported == set(), f"the dashboard queries {queried - exported}, which no worker exports"
    assert ruled - exported == set(), f"the rules use {ruled - exported}, which no worker exports"
