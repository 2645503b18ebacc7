"""`warmline simulate --platform`: a platform's own events drive a worker; warm-at-answer from its answered events."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys

import orjson

from ..unit.test_platform_docs import example
from .conftest import Cluster

TWILIO_TOKEN = "twilio-auth-token-Sim7"  # test credential
SMALL_RUN = ["--rate", "4", "--duration", "3", "--wait", "1-2", "--immediate", "0", "--callers", "300"]


async def _simulate(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "warmline",
        "simulate",
        *args,
        env={**env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(90):
        out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_twilio_callbacks_signed_by_twilio_s_sdk_are_warm_at_answer_for_99_percent(cluster: Cluster) -> None:
    public = "https://warmline.example.com"  # the URL Twilio would call, behind a proxy
    worker = cluster.worker(TWILIO_AUTH_TOKEN=TWILIO_TOKEN, WARMLINE_PUBLIC_URL=public)
    documented = shlex.split(example("simulate").replace("http://127.0.0.1:6066", worker.url))  # docs/platforms.md
    assert documented[:2] == ["warmline", "simulate"]
    code, out, err = await _simulate(worker.env, *documented[2:])
    assert code == 0, err[-2000:]
    report = orjson.loads(out)  # --json: the report, and nothing else, on stdout
    assert report["platform"] == "twilio" and report["refused"] == 0
    queued = report["events_sent"]["queued"]
    assert queued >= 3 and report["answered_counted"] == report["events_sent"]["answered"] == queued
    assert report["warm_at_answer_of_queued"] >= 0.99  # the bar, from the worker's own answered counts


async def test_connect_events_over_kafka_print_a_table_for_people(cluster: Cluster) -> None:
    worker = cluster.worker()
    code, out, err = await _simulate(worker.env, "--platform", "connect", "--stats", worker.url, *SMALL_RUN)
    assert code == 0, err[-2000:]
    assert out == ""  # the table is for the terminal (stderr, as every command's output for people)
    assert "warmline simulate --platform connect" in err and "warm at answer, of queued calls" in err
    assert '"platform"' not in err  # the table, not JSON
    row = next(line for line in err.splitlines()[::-1] if "answers counted by the workers" in line)
    assert int(row.split("│")[-2].strip()) >= 3  # CONNECTED_TO_AGENT has no number: joined by contact id


async def test_plain_simulate_json_is_the_report_only(cluster: Cluster) -> None:
    worker = cluster.worker()
    code, out, err = await _simulate(worker.env, "--http", worker.url, "--json", *SMALL_RUN)
    assert code == 0, err[-2000:]
    report = orjson.loads(out)
    assert report["calls_started"] == report["answered"] >= 3 and report["queued_warm_ratio"] is not None
    assert "warm at answer (L1)" not in err  # no table with --json
