"""LLM layer (issue 9): what LangSmith tracing costs an HTTP L1 hit, that a hanging endpoint costs nothing,
and whether caller briefs written by a slow model are ready when the agent picks up."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp

from harness.workers import Worker
from warmline.commands.simulate import BriefingLookups
from warmline.commands.simulator import SimConfig

from . import httpload
from .serving import _warm_ids
from .stack import BenchStack
from .stats import Result, summary_ms
from .warming import simulate_calls

IDS = [f"C-{i:06d}" for i in range(1, 1001)]


@contextmanager
def fake_langsmith(*flags: str) -> Iterator[str]:
    """harness/fake_langsmith.py in its own process (so it takes no CPU from the load generator)."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.fake_langsmith", *flags], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _tracing_env(url: str, hit_sample: str = "1.0") -> dict[str, str]:
    return {
        "LANGSMITH_TRACING": "true",
        "LANGSMITH_API_KEY": "bench",
        "LANGSMITH_ENDPOINT": url,
        "LANGSMITH_TRACING_SAMPLING_RATE": "1.0",
        "WARMLINE_TRACE_HIT_SAMPLE": hit_sample,  # 1.0: every L1 hit is a run, the worst case
    }


_OFF = {"LANGSMITH_TRACING": "false", "WARMLINE_TRACE_HIT_SAMPLE": "0.01"}


async def _interleaved_hits(
    urls: dict[str, str], rate: int, seconds: float, slice_s: float = 1.0
) -> dict[str, list[float]]:
    """Paced L1 hits against each worker in turn, *slice_s* at a time, so every mode sees the same
    machine (the 2 cores are shared with other work: a mode measured minutes later is not comparable)."""
    async with aiohttp.ClientSession() as session:
        for url in urls.values():
            await _warm_ids(session, url, IDS)
    per_slice = int(rate * slice_s)
    out: dict[str, list[float]] = {mode: [] for mode in urls}
    requests = {
        mode: [httpload.get_request(url, f"/v1/lookup?customer_id={IDS[i % len(IDS)]}") for i in range(per_slice)]
        for mode, url in urls.items()
    }
    for mode, url in urls.items():  # settle connections and caches
        await httpload.paced(url, requests[mode][: per_slice // 2], rate)
    for _ in range(round(seconds / slice_s)):
        for mode, url in urls.items():
            run = await httpload.paced(url, requests[mode], rate)
            assert all(r.status == 200 and b"X-Cache: L1" in r.head for r in run)
            out[mode] += [r.latency_s for r in run]
    return out


async def _sigterm_to_exit(worker: Worker) -> float:
    started = time.perf_counter()
    await asyncio.to_thread(worker.terminate)
    return time.perf_counter() - started


async def tracing_overhead(stack: BenchStack, rate: int = 500, seconds: float = 20.0) -> list[Result]:
    """HTTP L1 hits at *rate*/s against four workers side by side — tracing off, on with the defaults,
    on for every hit, on with the endpoint hanging — in interleaved 1 s slices; then SIGTERM → exit
    of the worker whose endpoint hangs."""
    with fake_langsmith() as ok_url, fake_langsmith("--hang") as hang_url:
        envs = {
            "off": _OFF,
            "default": _tracing_env(ok_url, "0.01"),
            "every": _tracing_env(ok_url),
            "hang": _tracing_env(hang_url),
        }
        workers = {
            mode: await stack.extra_worker(**env, WARMLINE_DATA_DIR=str(stack.workdir / f"data-{mode}"))
            for mode, env in envs.items()
        }
        try:
            samples = await _interleaved_hits({m: w.url for m, w in workers.items()}, rate, seconds)
            shutdown_s = await _sigterm_to_exit(workers["hang"])
        finally:
            for worker in workers.values():
                worker.stop()
    stats = {mode: summary_ms(values) for mode, values in samples.items()}
    off = stats["off"]
    note = f"{seconds:g} s per mode in interleaved 1 s slices at {rate} req/s; load generator on the same 2 cores"

    def p50_row(mode: str, title: str) -> Result:
        ratio = stats[mode]["p50_ms"] / off["p50_ms"]
        return Result(
            f"HTTP L1 hit at {rate} req/s, {title}",
            stats[mode]["p50_ms"],
            "ms p50",
            "≤ 1.3× off p50",
            ratio <= 1.3,
            floor=off["p50_ms"],
            detail={**stats[mode], "ratio_p50": round(ratio, 2), "note": note},
            samples_ms=[s * 1000 for s in samples[mode]],
        )

    hang_ratio = stats["hang"]["p99_ms"] / off["p99_ms"]
    return [
        Result(
            f"HTTP L1 hit at {rate} req/s, tracing off",
            off["p50_ms"],
            "ms p50",
            "floor",
            None,
            detail=off,
            samples_ms=[s * 1000 for s in samples["off"]],
        ),
        p50_row("default", "tracing on, sampling 1.0, L1 hits 1 % (default)"),
        p50_row("every", "tracing on, every L1 hit a run"),
        Result(
            f"HTTP L1 hit at {rate} req/s, LangSmith hanging (every hit)",
            stats["hang"]["p99_ms"],
            "ms p99",
            "≤ 1.2× off p99",
            hang_ratio <= 1.2,
            floor=off["p99_ms"],
            detail={**stats["hang"], "ratio_p99": round(hang_ratio, 2), "note": note},
            samples_ms=[s * 1000 for s in samples["hang"]],
        ),
        Result(
            "SIGTERM → exit, LangSmith hanging",
            round(shutdown_s, 2),
            "s",
            "< 10 s",
            shutdown_s < 10,
            detail={"flush_deadline_s": 2.0},
        ),
    ]


async def brief_ready_at_answer(
    stack: BenchStack, rate: float, duration_s: float, wait_s: tuple[float, float] = (3.0, 20.0)
) -> Result:
    """`warmline simulate --http` against a worker whose model takes 2 s per brief (``fake:2s``): the share
    of found callers whose "brief me" was answered from the brief cache (``X-Brief: ready``), with
    warm at answer beside it. Every call waits in the queue (the brief cannot be ready for a call
    answered at once); the source takes 50–500 ms, so warm + brief fits in the shortest wait."""
    await stack.restart_worker(WARMLINE_CHAT_MODEL="fake:2s", WARMLINE_DEMO_LATENCY_MS="50-500")
    config = SimConfig(rate=rate, duration_s=duration_s, unknown_share=0.05, wait_s=wait_s, immediate_share=0.0)
    made: list[BriefingLookups] = []

    def briefing_lookups(session: aiohttp.ClientSession) -> BriefingLookups:
        made.append(BriefingLookups(session, stack.url))
        return made[0]

    report, stats = await simulate_calls(stack, config, briefing_lookups)
    briefing, worker = made[0], stats["briefs"]
    ratio = briefing.brief_ratio() or 0.0
    data = report.as_dict()
    return Result(
        f"brief ready at answer (waits {wait_s[0]:g}–{wait_s[1]:g} s, model 2 s per brief, {rate:g} calls/s)",
        round(ratio * 100, 2),
        "% ready",
        "≥ 99 %",
        ratio >= 0.99,
        detail={
            "briefs_asked": briefing.briefs_asked,
            "briefs_ready": briefing.briefs_ready,
            "warm_at_answer_ratio": data["warm_at_answer_ratio"],
            "calls": data["calls_started"],
            "tiers": data["tiers"],
            "worker_briefs": worker,
            "brief_max_per_s": stack.env.get("WARMLINE_BRIEF_MAX_PER_S", "20 (default)"),
            "source_ms": "50-500",
        },
    )
