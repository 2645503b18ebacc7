"""The benchmark figures README.md, docs/operations.md and docs/llm.md quote are the committed runs'.

Each table row that quotes a benchmark is listed below with the figures it must show, read from
the JSON; and every number in its measured and floor cells must be one of those, so a figure
from an older run (one whose JSON was overwritten) cannot stay in a row unnoticed. Figures in
running text are listed as the phrases that must appear, built from the JSON.
docs/faults.md has its own tests (test_faults_table.py, test_failover_docs.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@cache
def _results(file: str) -> dict[str, dict[str, Any]]:
    doc = json.loads((ROOT / "benchmarks" / "results" / f"{file}.json").read_text())
    return {r["name"]: r for r in doc["results"]}


def fig(file: str, name: str, path: str = "value") -> Any:
    """A field of a committed result: ``value``, ``floor`` or ``detail.…``."""
    node: Any = _results(file)[name]
    for part in path.split("."):
        node = node[part]
    return node


S, W = "serving", "warming"
W_6_DEC = "warming-2026-12-06"  # the run before fetches were bounded
W_EVENING = ("warming-2026-12-07-1751", "warming-2026-12-07-1758")  # clocks stopped on L1 sizes
W_0357 = "warming-2026-12-07-0357"  # the run before warming took turns on the loop
W_1903 = "warming-2026-12-07-1903"  # the last run with Faust's standby copies and its changelog buffer
W_2132 = "warming-2026-12-07-2132"  # the last run with the changelog writer through Faust's producer
W_2325 = "warming-2026-12-07-2325"  # the first run through librdkafka (its one-worker stage unexplained)
L1_FRESH = "L1 hit in-process, normalize → Faust table → JSON reply, new input string each time (median)"
L1_REPEAT = "L1 hit in-process, normalize → Faust table → JSON reply, repeat caller, normalize cached (median)"
KAFKA = "Kafka request→reply, L1 hit"
UNKEYED = "unkeyed request→reply, L1 hit, one worker (librdkafka)"
AIO_UNKEYED = "Kafka request→reply, L1 hit, unkeyed, plain aiokafka client"
AIO_SHARED = AIO_UNKEYED + ", lookup lane consumer off"
WIDE_ECHO = "bare two-hop aiokafka echo, 48 partitions fetched, one busy (diagnostic)"
OTHER = "unkeyed request→reply for a key the other worker owns (one hop)"
TLS = "Kafka request→reply, L1 hit over TLS"
PACED, HEALTHZ = "HTTP L1 hit at 500 req/s", "HTTP /healthz at 500 req/s (floor)"
HITS = "HTTP L1 hits, one worker"
RSS, RSS_PINNED = "RSS with 100,000 L1 entries", "RSS with 100,000 L1 entries, worker on one core (taskset)"
ONE, TWO = (
    "pre-warm throughput, 1 worker (50 ms source, concurrency 1000)",
    ("pre-warm throughput, 2 workers (50 ms source, concurrency 1000)"),
)
BATCHED = ONE + ", batched produces (diagnostic, unsafe on Tansu)"
NO_INTAKE = ONE + ", Faust's per-record delivery (WARMLINE_WARMING_INTAKE=false, diagnostic)"
NO_WRITER = ONE + ", Faust's changelog buffer (WARMLINE_L1_CHANGELOG_WRITER=false, diagnostic)"
FAUST_PRODUCER = ONE + ", the changelog through Faust's producer (WARMLINE_L1_CHANGELOG_PRODUCER=faust, diagnostic)"
BULK = "bulk warm of 100,000 keys over HTTP (50 ms source)"
LIVE = "live time-to-warm p99 during a 10,000-key bulk warm (prewarm concurrency 8)"
SPEEDUP = "warm_many speedup N={} C={} (L1 only: no L2, no source gate)"
CLUSTER = "L2 hit (phone key: 2 GETs) on a 3-primary Cluster"
CLUSTER_GET = "bare Redis GET on a 3-primary Cluster (floor)"
P = "platforms"
WEBHOOK = "POST /v1/events/genesys → 202 (stored on Kafka), open loop 100/s"
WEBHOOK_RATE = "webhook events answered 202 per second, one worker, closed loop, 32 connections"
ONE_CONSUMER = ", one consumer for every lane (diagnostic)"


def ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def p99_vs_floor(file: str, name: str) -> list[str]:
    """A p99 row: "p99 ms (p50 …)" and "floor ms (ratio×)"."""
    ratio = fig(file, name, "detail.ratio_to_floor_p99")
    return [
        f"{ms(fig(file, name))} ms (p50 {ms(fig(file, name, 'detail.p50_ms'))})",
        f"{ms(fig(file, name, 'floor'))} ms ({ratio:.2f}×)",
    ]


def _readme_rows() -> dict[str, list[str]]:
    """README "Measured speed": the start of each row's first cell → what its measured/floor cells show."""
    one, two = fig(W, ONE), fig(W, TWO)
    return {
        "L1 hit inside the process": [f"{fig(S, L1_FRESH):.1f} µs", f"{fig(S, L1_REPEAT):.1f} µs"],
        "L2 hit (phone key": [
            f"{fig(S, 'L2 hit (phone key: 2 GETs)'):.2f} ms",
            f"{fig(S, 'bare Redis GET (floor)'):.2f} ms",
            f"({fig(S, 'L2 hit (phone key: 2 GETs)', 'detail.ratio_to_floor'):.1f}×)",
        ],
        "the same on a three-primary Redis Cluster": [
            f"{fig('connectivity', CLUSTER):.2f} ms",
            f"{fig('connectivity', CLUSTER_GET):.2f} ms",
            f"({fig('connectivity', CLUSTER, 'detail.ratio_to_floor'):.1f}×)",
        ],
        "Kafka request→reply over TLS": p99_vs_floor("connectivity", TLS),
        "Kafka request→reply, keyed": p99_vs_floor(S, KAFKA),
        "Kafka request→reply, unkeyed, L1 hit, one worker, plain aiokafka": p99_vs_floor("interop", AIO_UNKEYED),
        "the same with one fetch of all 48 input partitions": p99_vs_floor("interop", AIO_SHARED),
        "diagnostic: the bare echo whose consumer fetches 48": p99_vs_floor("interop", WIDE_ECHO),
        "unkeyed request→reply, L1 hit, one worker": p99_vs_floor("interop", UNKEYED),
        "the same for a key the other of two workers owns": p99_vs_floor("interop", OTHER),
        "HTTP L1 hit at 500 req/s": [
            f"{ms(fig(S, PACED))} ms (p50 {ms(fig(S, PACED, 'detail.p50_ms'))})",
            f"{ms(fig(S, HEALTHZ))} ms (p50 {ms(fig(S, HEALTHZ, 'detail.p50_ms'))})",
        ],
        "HTTP L1 hits, one worker, closed loop": [
            f"{fig(S, HITS):,.0f} req/s",
            f"{fig(S, HITS, 'detail.body_bytes')}-byte",
            f"{fig(S, HITS, 'floor'):,.0f} req/s ({fig(S, HITS, 'detail.ratio_to_bare'):.2f}×)",
        ],
        "100 concurrent misses of one key": [f"{fig(S, '100 concurrent misses of one key'):.0f} source call"],
        "worker RSS with 100,000 L1 entries": [
            f"{fig(S, RSS):.0f} MB ({fig(S, RSS, 'detail.fill_seconds'):.0f} s fill)",
            f"{fig(S, RSS_PINNED):.0f} MB ({fig(S, RSS_PINNED, 'detail.fill_seconds'):.0f} s fill)",
            f"{fig(S, RSS, 'detail.rss_before_mb'):.0f} MB empty",
        ],
        "warm at answer": [f"{fig(W, 'warm at answer (waits 2.5–8 s, source 500–2000 ms)'):.0f} % from L1"],
        "pre-warm throughput, 50 ms source": [
            f"**{one:,.0f} events/s**",
            f"{fig(W, ONE, 'detail.cpu_us_per_event')} µs CPU per event",
            f"{one / fig(W, NO_INTAKE):.2f}× the rate at "
            f"{fig(W, ONE, 'detail.cpu_us_per_event') / fig(W, NO_INTAKE, 'detail.cpu_us_per_event'):.2f}× the CPU",
            f"{fig(W, ONE, 'detail.floor_bare_aiokafka_consume_events_s'):,}/s",
            f"{fig(W, ONE, 'detail.floor_source_gate_ceiling_events_s'):,}/s",
        ],
        "the same, two workers": [
            f"{two:,.0f} events/s ({two / one:.2f}×)",
            f"{fig(W, TWO, 'detail.cpu_us_per_event')} µs per event",
        ],
        "bulk warm of 100,000 keys": [f"{fig(W, BULK):,.0f} keys/s ({fig(W, BULK, 'detail.s'):.1f} s)"],
        "live time-to-warm p99 during a 10,000-key bulk warm": [
            f"{ms(fig(W, LIVE))} ms",
            f"{ms(fig(W, LIVE, 'floor'))} ms without ({fig(W, LIVE, 'detail.ratio'):.2f}×)",
        ],
        "warm_many speedup, N=100 C=10 (20 ms source) / N=200 C=50": [
            f"{fig('batch', SPEEDUP.format(100, 10)):.1f}× / {fig('batch', SPEEDUP.format(200, 50)):.1f}×"
        ],
        "warm_many speedup, N=500 C=50": [f"**{fig('batch', SPEEDUP.format(500, 50)):.1f}×**"],
        "Tilores client overhead over a bare POST": [
            f"{fig('tilores', 'TiloresSource overhead over the bare POST (token, query build, mapping)'):.2f} ms",
            f"POST {fig('tilores', 'bare aiohttp GraphQL POST (floor)'):.2f} ms",
        ],
        "200 concurrent Tilores lookups": [
            f"{fig('tilores', '200 concurrent lookups, fresh client'):.0f} token request"
        ],
        "platform webhook (`--only platforms`)": [
            f"{ms(fig(P, WEBHOOK))} ms (p50 {ms(fig(P, WEBHOOK, 'detail.p50_ms'))})",
            f"{ms(fig(P, WEBHOOK, 'floor'))} ms ({fig(P, WEBHOOK, 'detail.ratio_to_floor_p99'):.1f}×)",
        ],
        "platform webhook events answered": [f"{fig(P, WEBHOOK_RATE):.1f}/s"],
    }


def _platforms_rows() -> dict[str, list[str]]:
    """docs/platforms.md "Measured" (platforms.json)."""
    return {
        "webhook time to 202": [
            f"{ms(fig(P, WEBHOOK))} ms (p50 {ms(fig(P, WEBHOOK, 'detail.p50_ms'))})",
            f"{ms(fig(P, WEBHOOK, 'floor'))} ms (p50 {ms(fig(P, WEBHOOK, 'detail.floor_p50_ms'))})",
            f"{fig(P, WEBHOOK, 'detail.ratio_to_floor_p99'):.1f}×",
        ],
        "webhook events answered": [
            f"{fig(P, WEBHOOK_RATE):.1f}/s",
            f"the worker used {fig(P, WEBHOOK_RATE, 'detail.worker_cpu_share')} of a core",
            f"({fig(P, WEBHOOK_RATE, 'detail.worker_cpu_ms_per_event')} ms of CPU per event)",
            f"the load generator {fig(P, WEBHOOK_RATE, 'detail.generator_cpu_share')} of one",
        ],
        "the same two, one consumer for every lane": [
            f"{ms(fig(P, WEBHOOK + ONE_CONSUMER))} ms (p50 {ms(fig(P, WEBHOOK + ONE_CONSUMER, 'detail.p50_ms'))})",
            f"against {ms(fig(P, WEBHOOK + ONE_CONSUMER, 'floor'))} "
            f"({fig(P, WEBHOOK + ONE_CONSUMER, 'detail.ratio_to_floor_p99'):.1f}×)",
            f"{fig(P, WEBHOOK_RATE + ONE_CONSUMER):.1f}/s",
        ],
    }


def _operations_rows() -> dict[str, list[str]]:
    """docs/operations.md: the sizing table (warming.json) and the memory table (serving.json)."""
    one, two = fig(W, ONE), fig(W, TWO)
    return {
        "one worker |": [
            f"**{one:,.0f}**",
            f"{fig(W, ONE, 'detail.cpu_us_per_event')} µs",
            f"{fig(W, ONE, 'detail.floor_bare_aiokafka_consume_events_s'):,} events/s",
            f"({fig(W, ONE, 'detail.floor_source_gate_ceiling_events_s') // 20:,} slots / 50 ms)",  # 1,000 × 20/s
            f"{fig(W, ONE, 'detail.floor_source_gate_ceiling_events_s'):,} events/s",
        ],
        "two workers |": [f"**{two:,.0f}** ({two / one:.2f}×)", f"{fig(W, TWO, 'detail.cpu_us_per_event')} µs"],
        "one worker, batched produces": [f"{fig(W, BATCHED):,.0f}", f"{fig(W, BATCHED, 'detail.cpu_us_per_event')} µs"],
        "one worker, Faust's per-record delivery": [
            f"{fig(W, NO_INTAKE):,.0f}",
            f"{fig(W, NO_INTAKE, 'detail.cpu_us_per_event')} µs",
        ],
        "one worker, Faust's changelog buffer": [
            f"{fig(W, NO_WRITER):,.0f}",
            f"{fig(W, NO_WRITER, 'detail.cpu_us_per_event')} µs",
        ],
        "one worker, the changelog writer through Faust's producer": [
            f"{fig(W, FAUST_PRODUCER):,.0f}",
            f"{fig(W, FAUST_PRODUCER, 'detail.cpu_us_per_event')} µs",
        ],
        "with the bound (": [
            f"{fig(S, RSS):.0f} MB ({fig(S, RSS, 'detail.rss_before_mb'):.0f} MB empty)",
            f"{fig(S, RSS, 'detail.fill_seconds'):.0f} s",
        ],
        "the same, the worker pinned to one core": [
            f"{fig(S, RSS_PINNED):.0f} MB ({fig(S, RSS_PINNED, 'detail.rss_before_mb'):.0f} MB empty)",
            f"{fig(S, RSS_PINNED, 'detail.fill_seconds'):.0f} s",
        ],
    }


def _llm_rows() -> dict[str, list[str]]:
    """docs/llm.md: the tracing table and the brief table (llm.json)."""
    off = "HTTP L1 hit at 500 req/s, tracing off"
    default = "HTTP L1 hit at 500 req/s, tracing on, sampling 1.0, L1 hits 1 % (default)"
    every = "HTTP L1 hit at 500 req/s, tracing on, every L1 hit a run"
    hang = "HTTP L1 hit at 500 req/s, LangSmith hanging (every hit)"
    brief = "brief ready at answer (waits 3–20 s, model 2 s per brief, 10 calls/s)"
    return {
        "L1 hit p50, tracing off": [f"{fig('llm', off):.2f} ms"],
        "L1 hit p50, tracing on (defaults": [
            f"{fig('llm', default):.2f} ms ({fig('llm', default, 'detail.ratio_p50'):.2f}×)"
        ],
        "L1 hit p50, every L1 hit traced": [
            f"{fig('llm', every):.2f} ms ({fig('llm', every, 'detail.ratio_p50'):.2f}×)"
        ],
        "L1 hit p99, endpoint hanging": [
            f"{fig('llm', hang):.0f} ms ({fig('llm', hang, 'detail.ratio_p99'):.2f}× off)"
        ],
        "SIGTERM → exit, endpoint hanging": [f"{fig('llm', 'SIGTERM → exit, LangSmith hanging'):.2f} s"],
        "brief ready at answer, `WARMLINE_BRIEF_CONCURRENCY=64`": [
            f"{fig('llm', brief):.0f} % ({fig('llm', brief, 'detail.briefs_ready')} of "
            f"{fig('llm', brief, 'detail.briefs_asked')})"
        ],
        "warm at answer, same calls": [
            f"{fig('llm', brief, 'detail.warm_at_answer_ratio') * 100:.0f} % "
            f"({fig('llm', brief, 'detail.tiers.l1')} of {fig('llm', brief, 'detail.calls')} from L1)"
        ],
    }


PEAK = "lookups first {}: {} lookup p99, callers warmed earlier, during the burst"
PEAK_WARM = "lookups first {}: time to warm p99 under the burst (publish → caller in L1)"
PEAK_AT_ANSWER = "lookups first {}: warm at answer, burst callers who waited ≥ 5 s"


def _peak_ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _peak_rows() -> dict[str, list[str]]:
    """docs/operations.md "Lookups first at the peak": both tables (peak.json)."""
    rows: dict[str, list[str]] = {}
    for mode, bold in (("off", "**off**"), ("on", "**on**")):
        quiet, burst = (fig("peak", PEAK.format(mode, "kafka"), f"detail.{k}") for k in ("without_burst", "with_burst"))
        kafka = [f"{quiet['p50_ms']:.1f} / {quiet['p99_ms']:.1f} ms"]
        kafka.append(" / ".join(f"{burst[k] / 1000:.1f} s" for k in ("p50_ms", "p90_ms", "p99_ms")))
        if "timeout" in burst["tiers"]:
            kafka.append(f"{burst['tiers']['timeout']:,} of {burst['n']:,} got no reply within the client's 30 s")
        rows[f"Kafka, lookups first {bold}"] = kafka
        quiet, burst = (fig("peak", PEAK.format(mode, "http"), f"detail.{k}") for k in ("without_burst", "with_burst"))
        rows[f"HTTP, lookups first {mode}"] = [
            f"{quiet['p50_ms']:.1f} / {quiet['p99_ms']:.1f} ms",
            " / ".join(_peak_ms(burst[k]) for k in ("p50_ms", "p90_ms", "p99_ms")) + " ms",
        ]
    warm = [fig("peak", PEAK_WARM.format(mode), "detail") for mode in ("off", "on")]
    rows["time to warm (publish → caller in L1)"] = [
        f"{w['p50_ms'] / 1000:.1f} s / {w['p99_ms'] / 1000:.1f} s" for w in warm
    ]
    rows["all of it handled, after the burst ended"] = [f"{w['all_handled_s_after_burst']:.0f} s" for w in warm]
    rows["warm at answer, callers who waited"] = [f"{fig('peak', PEAK_AT_ANSWER.format(m))} %" for m in ("off", "on")]
    rows["CPU, % of one core, worker / broker"] = [
        f"{w['cpu_pct_of_one_core']['burst']['worker']:.0f} / {w['cpu_pct_of_one_core']['burst']['broker']:.0f}"
        for w in warm
    ]
    yields = warm[1]["warming_yields"]
    rows["warming yielded"] = [f"{yields['lookups_waiting']:.0f} / {yields['late_loop']:.0f} / {yields['sliced']:.0f}"]
    return rows


QUIET_PEAK = "peak-2026-12-06"
OWN_STACKS_PEAK = "peak-2026-12-06-own-stacks"
INTAKE_PEAK = "peak-2026-12-06-intake"
#: Row label → mode, for the two 6 Dec tables ("{}" is the table's prefix: "6 Dec" or "6 Dec, own stacks").
QUIET_MODES = {
    "{}, lookups first off": "off",
    "{}, lookups first on, one fetch for every lane": "on, one fetch for all lanes",
    "{}, lookups first on, the lookup lane's own consumer": "on",
}


Shown = Callable[[list[float]], str]


def _in_seconds(digits: int) -> Shown:
    """Milliseconds shown as seconds with *digits* decimals, " / " between them."""
    return lambda values: " / ".join(f"{v / 1000:.{digits}f} s" for v in values)


def _as_they_fall(values: list[float]) -> str:
    """Seconds (two decimals) when the first is a second or more, else milliseconds."""
    return _in_seconds(2)(values) if values[0] >= 1000 else " / ".join(_peak_ms(v) for v in values) + " ms"


def _mode_cells(file: str, mode: str, shown: Shown) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """One peak mode of *file*: its Kafka detail, its time-to-warm detail, and the cells every peak
    table shows (Kafka without the burst, Kafka during it as *shown*, HTTP during it)."""
    kafka = fig(file, PEAK.format(mode, "kafka"), "detail")
    http = fig(file, PEAK.format(mode, "http"), "detail.with_burst")
    quiet, burst = kafka["without_burst"], kafka["with_burst"]
    during = shown([burst[k] for k in ("p50_ms", "p90_ms", "p99_ms")])
    if "timeout" in burst["tiers"]:
        during += f" ({burst['tiers']['timeout']:,} of {burst['n']:,} got no reply within 30 s)"
    cells = [
        f"{quiet['p50_ms']:.1f} / {quiet['p99_ms']:.1f} ms",
        during,
        " / ".join(_peak_ms(http[k]) for k in ("p50_ms", "p90_ms", "p99_ms")) + " ms",
    ]
    return kafka, fig(file, PEAK_WARM.format(mode), "detail"), cells


def _quiet_peak_rows(file: str, prefix: str) -> dict[str, list[str]]:
    """docs/operations.md's 6 Dec peak tables: one row per mode of *file*."""
    rows: dict[str, list[str]] = {}
    for start, mode in QUIET_MODES.items():
        _, warm, cells = _mode_cells(file, mode, _in_seconds(1))
        rows[start.format(prefix)] = [
            *cells,
            f"{warm['p50_ms'] / 1000:.1f} s / {warm['p99_ms'] / 1000:.1f} s",
            f"{warm['all_handled_s_after_burst']:.0f} s",
            f"{fig(file, PEAK_AT_ANSWER.format(mode))} %",
        ]
    return rows


BOUNDED_PEAK = "peak-2026-12-07-poll-cap"
#: Row label → mode, for the 7 Dec table (bounded fetches).
BOUNDED_MODES = {
    "7 Dec, lookups first off": "off",
    "7 Dec, lookups first on, one fetch for every lane": "on, one fetch for all lanes",
    "7 Dec, lookups first on, the lookup lane's own consumer (the default again)": "on",
}


def _split_peak_rows(file: str, modes: dict[str, str], shown: Callable[[str], Shown]) -> dict[str, list[str]]:
    """docs/operations.md's 7 Dec peak tables: one row per mode of *file*, with the split (Kafka
    times as ``shown(mode)`` shows them)."""
    rows: dict[str, list[str]] = {}
    for start, mode in modes.items():
        kafka, warm, cells = _mode_cells(file, mode, shown(mode))
        split = kafka["with_burst_split"]["request_seen_to_reply_stamped"]
        rows[start] = [
            cells[0],
            cells[1],
            shown(mode)([split[k] for k in ("p50_ms", "p99_ms")]),
            cells[2],
            f"{warm['p50_ms'] / 1000:.1f} s / {warm['p99_ms'] / 1000:.1f} s",
        ]
    return rows


def _bounded_seconds(mode: str) -> Shown:
    """The bounded-fetch table: seconds, one decimal where the mode's median is a second or more."""
    p50 = fig(BOUNDED_PEAK, PEAK.format(mode, "kafka"), "detail.with_burst.p50_ms")
    return _in_seconds(1 if p50 >= 1000 else 2)


def _peak_modes(prefix: str) -> dict[str, str]:
    """Row label → mode, for a later 7 Dec peak table whose rows start with *prefix*."""
    return {
        f"{prefix}, lookups first off": "off",
        f"{prefix}, lookups first on, one fetch for every lane": "on, one fetch for all lanes",
        f"{prefix}, lookups first on, the lookup lane's own consumer (the default)": "on",
    }


def _measured(file: str, capacity: dict[str, Any]) -> str:
    """How the prose quotes a peak run's capacity stage."""
    return f"measured {fig(file, capacity_name()):,} events/s at {capacity['worker_cpu_us_per_event']} µs"


def _default_mode(file: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A peak run's capacity detail, and its default mode's Kafka and HTTP details."""
    kafka, http = (fig(file, PEAK.format("on", transport), "detail") for transport in ("kafka", "http"))
    return fig(file, capacity_name(), "detail"), kafka, http


PUMP_PEAK = "peak-2026-12-07-pump"
#: The table of the run with the lookup lane's pump and the collector tuned.
PUMP_MODES = _peak_modes("pump")


def test_the_pump_peak_run_s_prose_is_the_committed_one() -> None:
    capacity, lane, http = _default_mode(PUMP_PEAK)
    before = fig(BOUNDED_PEAK, capacity_name(), "detail")
    _operations_says(
        _measured(PUMP_PEAK, capacity),
        f"({fig(BOUNDED_PEAK, capacity_name()):,} at {before['worker_cpu_us_per_event']} µs in the run above)",
        f"{capacity['burst_rate_events_s']:,} call-started a second",
        f"a burst {capacity['burst_rate_events_s'] / before['burst_rate_events_s']:.1f} times as large",
        f"to {_peak_ms(lane['with_burst']['p99_ms'])} ms, and its median",
        f"to {lane['with_burst']['p50_ms']:.1f} ms",
        f"{_peak_ms(lane['with_burst']['p99_ms'])} ms is {lane['ratio_p99']:.1f}× the p99 without the burst",
        f"the HTTP p99 ({http['with_burst']['p99_ms']:.1f} ms) is {http['ratio_p99']:.0f}× its own",
    )


TURNS_PEAK = "peak-2026-12-07-turns"
#: The table of the run with warming's turns on the loop.
TURNS_MODES = _peak_modes("turns")


def test_the_turns_peak_run_s_prose_and_the_readme_are_the_committed_ones() -> None:
    capacity, lane, http = _default_mode(TURNS_PEAK)
    _, before, before_http = _default_mode(PUMP_PEAK)
    _operations_says(
        _measured(TURNS_PEAK, capacity),
        f"{capacity['burst_rate_events_s']:,} call-started a second",
        f"Kafka p99 during the burst fell from {_peak_ms(before['with_burst']['p99_ms'])} ms "
        f"to {_peak_ms(lane['with_burst']['p99_ms'])} ms ({lane['ratio_p99']:.1f}× the p99 without the burst, "
        f"{before['ratio_p99']:.1f}× before)",
        f"{capacity['burst_rate_events_s'] / fig(PUMP_PEAK, capacity_name(), 'detail.burst_rate_events_s'):.1f} "
        "times the pump run's",
        f"the HTTP p99 from {_peak_ms(before_http['with_burst']['p99_ms'])} ms "
        f"to {_peak_ms(http['with_burst']['p99_ms'])} ms "
        f"({http['ratio_p99']:.1f}×, {before_http['ratio_p99']:.0f}× before)",
    )
    cpu = fig(TURNS_PEAK, PEAK_WARM.format("on"), "detail.cpu_pct_of_one_core.burst")
    _operations_says(f"the worker used {cpu['worker']:.1f} % of a core and Tansu {cpu['broker']:.1f} %")


GEN0_PEAK = "peak-2026-12-07-gen0"


def test_the_generation_0_peak_run_s_prose_and_the_readme_are_the_committed_ones() -> None:
    capacity, lane, http = _default_mode(GEN0_PEAK)
    _, turns, turns_http = _default_mode(TURNS_PEAK)
    _, before, _ = _default_mode(PUMP_PEAK)
    _operations_says(
        _measured(GEN0_PEAK, capacity),
        f"burst was {capacity['burst_rate_events_s']:,} call-started a second",
        f"the Kafka p99 during the burst was {_peak_ms(lane['with_burst']['p99_ms'])} ms "
        f"({lane['ratio_p99']:.1f}× the p99 without the burst) and the HTTP p99 "
        f"{_peak_ms(http['with_burst']['p99_ms'])} ms ({http['ratio_p99']:.1f}×; "
        f"its p99 without the burst, {http['without_burst']['p99_ms']:.1f} ms",
        f"The turns run gave {_peak_ms(turns['with_burst']['p99_ms'])} and "
        f"{_peak_ms(turns_http['with_burst']['p99_ms'])} ms with a burst of "
        f"{fig(TURNS_PEAK, capacity_name(), 'detail.burst_rate_events_s'):,} a second",
    )
    cpu = fig(GEN0_PEAK, PEAK_WARM.format("on"), "detail.cpu_pct_of_one_core.burst")
    _operations_says(
        f"The worker used {cpu['worker']:.1f} % of a core during the burst and Tansu {cpu['broker']:.1f} %"
    )
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert (
        f"p99 is now {_peak_ms(lane['with_burst']['p99_ms'])} ms and its median {lane['with_burst']['p50_ms']:.1f} ms "
        f"({_peak_ms(before['with_burst']['p99_ms'])} ms and {before['with_burst']['p50_ms']:.1f} ms before" in readme
    )
    assert f"the HTTP p99 {_peak_ms(http['with_burst']['p99_ms'])} ms" in readme


def test_the_run_before_the_review_is_quoted_as_committed() -> None:
    _, lane, http = _default_mode("peak-2026-12-07-turns-before-review")
    capacity = fig("peak-2026-12-07-turns-before-review", capacity_name(), "detail")
    _operations_says(
        f"gave {_peak_ms(lane['with_burst']['p99_ms'])} and {_peak_ms(http['with_burst']['p99_ms'])} ms "
        f"with a burst of {capacity['burst_rate_events_s']:,} a second"
    )


def test_the_turns_a_b_s_time_to_warm_is_quoted_as_committed() -> None:
    warm = "warming turns {}, round {}: time to warm p99 under the burst (publish → caller in L1)"
    on, off = (
        [fig("warming-turns", warm.format(label, n), "detail.p99_ms") / 1000 for n in (1, 2)]
        for label in ("of 2 ms", "unbounded")
    )
    _operations_says(f"{on[0]:.1f} and {on[1]:.1f} s with the turns against {off[0]:.1f} and {off[1]:.1f} s without")


def test_the_first_version_of_the_turns_is_quoted_as_committed() -> None:
    first = "warming-turns-2026-12-07-first-version"
    on, off = (
        [fig(first, f"warming turns {label}, round {n}: warm capacity") for n in (1, 2)]
        for label in ("of 2 ms", "unbounded")
    )
    _operations_says(f"({on[0]:,} and {on[1]:,} events/s against {off[0]:,} and {off[1]:,} without the turns)")


def test_the_generation_0_a_b_s_prose_quotes_both_runs_as_committed() -> None:
    def per_round(file: str, threshold: str, what: str, path: str, rounds: int) -> list[Any]:
        return [fig(file, what.format(f"gen0 threshold {threshold}, round {n}"), path) for n in range(1, rounds + 1)]

    def p99s(file: str, threshold: str, lane: str, rounds: int) -> str:
        row = AB_ROW.format("{}", lane)
        runs = [_peak_ms(v) for v in per_round(file, threshold, row, "detail.with_burst.p99_ms", rounds)]
        return ", ".join(runs[:-1]) + f" and {runs[-1]}"

    _operations_says(
        f"the HTTP p99 during the burst was {p99s('gc-gen0', '700', 'http', 3)} ms "
        f"against {p99s('gc-gen0', '50,000', 'http', 3)} ms with 50,000"
    )
    kafka_row = AB_ROW.format("{}", "kafka")
    kafka = (per_round("gc-gen0", t, kafka_row, "detail.with_burst.p99_ms", 3) for t in ("700", "50,000"))
    assert all(a < b for a, b in zip(*kafka, strict=True)), "the Kafka p99 was lower in every round"
    caps = [per_round("gc-gen0", t, "{}: warm capacity", "value", 3) for t in ("700", "50,000")]
    assert all(a > b for a, b in zip(*caps, strict=True)), "the capacity stages came out ahead"
    _operations_says("ahead ({:,}, {:,} and {:,} events/s against {:,}, {:,} and {:,})".format(*caps[0], *caps[1]))
    first = "gc-gen0-2026-12-07-first"
    _operations_says(
        f"HTTP p99 {p99s(first, '700', 'http', 2)} ms with 700 "
        f"against {p99s(first, '50,000', 'http', 2)} ms with 50,000",
        f"Kafka p99 {p99s(first, '700', 'kafka', 2)} ms against {p99s(first, '50,000', 'kafka', 2)} ms",
    )


AB_ROW = "{}: {} lookup p99, callers warmed earlier, during the burst"
#: Row label → run label, for the two A/B tables (benchmarks/setting_ab.py).
GC_RUNS = {
    f"{setting}, round {n}": f"gc tuning {label}, round {n}"
    for n in (1, 2)
    for setting, label in (("true", "on"), ("false", "off"))
}
TURN_RUNS = {
    f"{setting}, round {n}": f"warming turns {label}, round {n}"
    for n in (1, 2)
    for setting, label in (("2", "of 2 ms"), ("0", "unbounded"))
}

GEN0_RUNS = {
    f"{threshold}, round {n}": f"gen0 threshold {threshold}, round {n}"
    for n in (1, 2, 3)
    for threshold in ("50,000", "5,000", "700")
}

#: The A/Bs of 7 Dec afternoon: two settings not kept, and the turns' budget (rows labelled with the runs' own labels).
NOT_KEPT_RUNS = {
    "gil-switch": {
        f"switch interval {ms} ms, round {n}": f"switch interval {ms} ms, round {n}"
        for n in (1, 2)
        for ms in ("5", "0.5")
    },
    "warming-turn-budget": {
        f"warming turns of {ms} ms, round {n}": f"warming turns of {ms} ms, round {n}"
        for n in (1, 2, 3)
        for ms in ("2", "0.5")
    },
    "gc-auto-full": {
        f"full collections {how}, round {n}": f"full collections {how}, round {n}"
        for n in (1, 2)
        for how in ("at sweeps only", "automatic")
    },
}


#: The L1 changelog writer's A/B of 7 Dec evening (a kept setting; rows labelled with the runs' own labels).
WRITER_RUNS = {
    f"{label}, round {n} |": f"{label}, round {n}"
    for n in (1, 2, 3)
    for label in ("changelog writer", "Faust's changelog buffer")
}
#: Its one round with the morning peak's burst, 8,000 a second for 30 s.
WRITER_BIG_RUNS = {
    f"{label}, round 1 (8,000 a second)": f"{label}, round 1"
    for label in ("changelog writer", "Faust's changelog buffer")
}


#: The changelog producer's A/B of 7 Dec late evening (librdkafka against Faust's aiokafka producer).
PRODUCER_AB = "l1-changelog-producer"
PRODUCER_RUNS = {
    f"{label}, round {n} |": f"{label}, round {n}"
    for n in (1, 2)
    for label in ("changelog through librdkafka", "changelog through Faust's producer")
}
PRODUCER_PEAK = "peak-2026-12-07-librdkafka"


FAUST_AB = "changelog through Faust's producer"


def _capacities(label: str) -> str:
    """ "A and B": the warm capacity of *label*'s two rounds in the changelog producer's A/B."""
    return " and ".join(f"{fig(PRODUCER_AB, f'{label}, round {n}: warm capacity'):,}" for n in (1, 2))


def _setting_ab_rows(file: str, runs: dict[str, str]) -> dict[str, list[str]]:
    """docs/operations.md's A/B tables: one row per run of *file* (capacity, Kafka and HTTP during the burst)."""
    rows: dict[str, list[str]] = {}
    for start, run in runs.items():
        cap, cpu = (fig(file, f"{run}: warm capacity", p) for p in ("value", "detail.worker_cpu_us_per_event"))
        kafka, http = (fig(file, AB_ROW.format(run, t), "detail.with_burst") for t in ("kafka", "http"))
        rows[start] = [
            f"{cap:,} events/s ({cpu} µs)",
            f"{kafka['p50_ms']:.1f} / {_peak_ms(kafka['p99_ms'])} ms",
            f"{http['p50_ms']:.1f} / {_peak_ms(http['p99_ms'])} ms",
        ]
    return rows


def _operations_says(*phrases: str, flat: bool = True) -> None:
    """Each phrase is in docs/operations.md (*flat*: its runs of whitespace read as one space)."""
    text = (ROOT / "docs" / "operations.md").read_text()
    doc = " ".join(text.split()) if flat else text
    for phrase in phrases:
        assert phrase in doc, phrase


def test_the_bounded_fetch_peak_run_s_prose_is_the_committed_one() -> None:
    capacity = fig(BOUNDED_PEAK, capacity_name(), "detail")
    lane = fig(BOUNDED_PEAK, PEAK.format("on", "kafka"), "detail")
    quick = fig("peak-quick-2026-12-07-poll-cap-100", PEAK.format("on", "kafka"))
    quick_shared = fig("peak-quick-2026-12-07-poll-cap-100", PEAK.format("on, one fetch for all lanes", "kafka"))
    before = [
        fig("peak-2026-12-06-unbounded-fetch", PEAK.format(m, "kafka")) for m in ("on", "on, one fetch for all lanes")
    ]
    splits = [fig(BOUNDED_PEAK, PEAK.format(m, "kafka"), "detail.with_burst_split") for m in BOUNDED_MODES.values()]
    seen = [s["due_to_request_seen"]["p99_ms"] for s in splits]
    back = [s["reply_stamped_to_received"]["p99_ms"] for s in splits]
    _operations_says(
        f"measured {fig(BOUNDED_PEAK, capacity_name()):,.0f} events/s ({capacity['worker_cpu_us_per_event']} µs",
        f"the burst was {capacity['burst_rate_events_s']:,} call-started a second for {capacity['burst_s']:.0f} s",
        f"to {lane['with_burst']['p99_ms'] / 1000:.2f} s, and no lookup",
        f"{lane['ratio_p99']:.0f}× the p99 without the burst",
        f"{quick / 1000:.2f} s against {quick_shared / 1000:.1f} s for one fetch with 100",
        f"had it at {before[0] / 1000:.1f} s against {before[1] / 1000:.1f} s",
        f"(in the run below, p99 {min(seen):.0f}–{max(seen):.0f} ms and {min(back):.0f}–{max(back):.0f} ms)",
    )


def test_the_fetch_bound_s_cost_is_quoted_as_committed() -> None:
    def runs(bound: int) -> list[dict[str, Any]]:
        name = "pre-warm throughput, one worker, at most {:,} records a fetch, round {}"
        return [_results("poll-cap")[name.format(bound, n)] for n in (1, 2)]

    low, mid, none = runs(100), runs(500), runs(100_000)
    rates = [" and ".join(f"{r['value']:,.0f}" for r in rows) for rows in (low, mid, none)]
    cpu = " and ".join(f"{r['detail']['cpu_us_per_event']:,}" for r in low)
    _operations_says(
        f"warmed {rates[0]} events/s with 100 records a fetch ({cpu} µs",
        f"{rates[1]} with 500, and {rates[2]} without a bound",
    )


def test_the_quiet_peak_run_s_prose_is_the_committed_one() -> None:
    capacity = fig(QUIET_PEAK, capacity_name(), "detail")
    kafka = {m: fig(QUIET_PEAK, PEAK.format(m, "kafka"), "detail.with_burst") for m in QUIET_MODES.values()}
    off, shared, lane = kafka.values()
    _operations_says(
        f"One worker warmed {fig(QUIET_PEAK, capacity_name()):,.0f} events/s ({capacity['worker_cpu_us_per_event']} µs",
        f"was {capacity['burst_rate_events_s']:,} call-started a second for {capacity['burst_s']:.0f} s",
        f"({fig(QUIET_PEAK, PEAK_WARM.format('on'), 'detail.burst_events'):,} callers)",
        f"from {off['p50_ms'] / 1000:.1f} s to {shared['p50_ms'] / 1000:.1f} s",
        f"p99 from {off['p99_ms'] / 1000:.1f} s to {shared['p99_ms'] / 1000:.1f} s",
        f"and {lane['tiers']['timeout']:,} Kafka lookups got no",
        flat=False,
    )


def test_the_own_stacks_peak_run_s_prose_is_the_committed_one() -> None:
    capacity = fig(OWN_STACKS_PEAK, capacity_name(), "detail")
    off, shared, _ = (fig(OWN_STACKS_PEAK, PEAK.format(m, "kafka"), "detail.with_burst") for m in QUIET_MODES.values())
    _operations_says(
        f"stage measured {fig(OWN_STACKS_PEAK, capacity_name()):,.0f} events/s this time "
        f"({capacity['worker_cpu_us_per_event']:,} µs",
        f"burst was {capacity['burst_rate_events_s']:,} call-started a second for {capacity['burst_s']:.0f} s",
        f"({fig(OWN_STACKS_PEAK, PEAK_WARM.format('on'), 'detail.burst_events'):,} callers)",
        f"off ({off['p50_ms'] / 1000:.1f} s to {shared['p50_ms'] / 1000:.1f} s here)",
    )


def _prose() -> list[tuple[str, str]]:
    """(doc, phrase): figures in running text, each built from the committed JSON."""
    one, two, batched = fig(W, ONE), fig(W, TWO), fig(W, BATCHED)
    pair = fig(W, TWO, "detail")
    standby = {fig(run, TWO, "detail.warmed_in_l1") - fig(run, TWO, "detail.source_calls") for run in W_EVENING}
    rates = [fig(run, ONE) for run in (W_1903, *W_EVENING)]
    assert len(standby) == 1, standby  # the docs quote one count for both runs
    peak_kafka = [fig("peak", PEAK.format(m, "kafka"), "detail.with_burst") for m in ("off", "on")]
    capacity = fig("peak", "warm capacity, one worker (lookups first off; 50 ms source, concurrency 1000)", "detail")
    warm = [fig("peak", PEAK_WARM.format(mode), "detail") for mode in ("off", "on")]
    rss, empty = fig(S, RSS), fig(S, RSS, "detail.rss_before_mb")
    brief = fig("llm", "brief ready at answer (waits 3–20 s, model 2 s per brief, 10 calls/s)", "detail")
    ops, llm = "docs/operations.md", "docs/llm.md"
    idle = HITS + ", fetch wait 500 ms (diagnostic)"
    return [
        (ops, _writer_time_to_warm()),
        *[(ops, phrase) for phrase in _writer_peak_phrases()],
        ("README.md", _writer_peak_readme()),
        (ops, f"Two workers give {two / one:.2f}×, not 2×"),
        (ops, _one_and_two(W_1903)),
        (ops, f"two workers {fig(W_1903, TWO) / fig(W_1903, ONE):.2f}×"),
        (
            ops,
            f"gives {one / fig(W, NO_WRITER):.2f}× the events per second at "
            f"{fig(W, ONE, 'detail.cpu_us_per_event') / fig(W, NO_WRITER, 'detail.cpu_us_per_event'):.2f}× the CPU "
            f"of Faust's changelog buffer, and {one / fig(W, FAUST_PRODUCER):.2f}× at "
            f"{fig(W, ONE, 'detail.cpu_us_per_event') / fig(W, FAUST_PRODUCER, 'detail.cpu_us_per_event'):.2f}× "
            "the CPU of the writer through Faust's producer",
        ),
        (ops, _one_and_two(W_2132)),
        (
            ops,
            f"measured one worker at only {fig(W_2325, ONE):,.0f} events/s and "
            f"{fig(W_2325, ONE, 'detail.cpu_us_per_event')} µs, below the writer through Faust's producer in the "
            f"same run ({fig(W_2325, FAUST_PRODUCER):,.0f} events/s, "
            f"{fig(W_2325, FAUST_PRODUCER, 'detail.cpu_us_per_event')} µs), and two workers at "
            f"{fig(W_2325, TWO):,.0f}/s",
        ),
        (
            ops,
            f"which measured {_capacities('changelog through librdkafka')} events/s on fresh stacks against "
            f"{_capacities(FAUST_AB)}",
        ),
        (ops, f"reached {two:,.0f}/s, {two / 5000:.2f}× the 5,000"),
        (
            ops,
            f"the intake gives {one / fig(W, NO_INTAKE):.2f}× the events per second at "
            f"{fig(W, ONE, 'detail.cpu_us_per_event') / fig(W, NO_INTAKE, 'detail.cpu_us_per_event'):.2f}× the CPU",
        ),
        (ops, f"(run the warming benchmark there; here {one:,.0f})"),
        (
            ops,
            f"warmed {fig(W_6_DEC, ONE):,.0f} events/s at {fig(W_6_DEC, ONE, 'detail.cpu_us_per_event')} µs "
            f"with one worker and {fig(W_6_DEC, TWO):,.0f}/s with two",
        ),
        (ops, f"ceil(5,000 / {one:,.0f} × 1.5) = {-(-5000 * 1.5 // one):.0f} workers"),
        (ops, f"reached {two:,.0f}/s"),
        (ops, f"on a shared host two workers warmed {two / one:.2f}× what one did"),
        *[(ops, _one_and_two(run)) for run in W_EVENING],
        (ops, f"{standby.pop():,} extra entries in each of them"),
        (ops, f"moved by up to {(max(rates) / min(rates) - 1) * 100:.0f} % across the three runs"),
        (ops, _one_and_two(W_0357)),
        (ops, f"at 03:57 it added {fig(W_0357, TWO) / fig(W_0357, ONE) - 1:.2f}×"),
        (
            ops,
            f"made {pair['source_calls']:,} source calls for the {pair['events']:,} callers and counted "
            f"{pair['warmed_events']:,} warmed; their L1s held {pair['warmed_in_l1']:,} entries between them",
        ),
        (ops, f"100,000 keys took {fig(W, BULK, 'detail.s')} s here ({fig(W, BULK):,.0f} keys/s"),
        (
            ops,
            f"from p99 {fig(W, LIVE, 'floor'):.0f} ms to {fig(W, LIVE):.0f} ms ({fig(W, LIVE, 'detail.ratio'):.2f}×)",
        ),
        (ops, f"a factor of ~{fig(W, ONE, 'detail.cpu_us_per_event') / 200:.1f} in CPU per event"),
        (ops, f"({batched:,.0f} vs {one:,.0f} events/s, {fig(W, BATCHED, 'detail.cpu_us_per_event')} µs per event)"),
        (
            ops,
            f"One worker warmed {fig('peak', capacity_name()):,.0f} events/s ({capacity['worker_cpu_us_per_event']} µs",
        ),
        (ops, f"the burst was {capacity['burst_rate_events_s'] / fig('peak', capacity_name()):.0f}× that"),
        (ops, f"{capacity['burst_rate_events_s']:,} call-started a second for {capacity['burst_s']:.0f} s"),
        (ops, f"({warm[1]['burst_events']:,} callers)"),
        (ops, f"the Kafka median fell {peak_kafka[0]['p50_ms'] / peak_kafka[1]['p50_ms']:.0f}×"),
        (ops, f"the p99 {peak_kafka[0]['p99_ms'] / peak_kafka[1]['p99_ms']:.1f}×"),
        (
            ops,
            f"({warm[1]['all_handled_s_after_burst']:.0f} s instead of {warm[0]['all_handled_s_after_burst']:.0f} s)",
        ),
        (ops, f"(here {warm[1]['p99_ms'] / 1000:.0f} s at p99"),
        (ops, f"rarely warm when answered ({fig('peak', PEAK_AT_ANSWER.format('on')):.0f} %)"),
        (ops, f"~{(rss - empty) * 1024 / 100_000:.1f} KB × (keys it owns"),
        (ops, _idle_phrase()),
        (llm, f"(load average {_doc_loadavg('llm'):.1f} at its end)"),
        (
            "docs/warming.md",
            f"p99 {fig(W, LIVE, 'floor'):.0f} ms alone and {fig(W, LIVE):.0f} ms during a 10,000-key bulk warm",
        ),
        ("README.md", f"(the consumers nearly idle) gave {fig(S, idle, 'detail.ratio_to_bare')}×"),
        (llm, f"brief ready at answer 100 % ({brief['briefs_ready']} of {brief['briefs_asked']} found callers"),
    ]


def _writer_time_to_warm() -> str:
    """docs/operations.md "The L1 changelog writer": the A/B's time to warm p99 under the burst, each round."""
    ttw = "{}, round {}: time to warm p99 under the burst (publish → caller in L1)"
    on, off = (
        ", ".join(f"{fig('l1-changelog-writer', ttw.format(label, n)) / 1000:.1f}" for n in (1, 2, 3))
        for label in ("changelog writer", "Faust's changelog buffer")
    )
    on, off = (" and ".join(x.rsplit(", ", 1)) for x in (on, off))
    return f"time to warm p99 was {on} s against {off} s"


def _writer_peak_phrases() -> list[str]:
    """docs/operations.md "With the changelog writer and no standby copies": the evening's peak run."""
    run = "peak-2026-12-07-writer"
    capacity = fig(run, capacity_name(), "detail")
    kafka, http = (fig(run, PEAK.format("on", t)) for t in ("kafka", "http"))
    kafka_without, http_without = (fig(run, PEAK.format("on", t), "floor") for t in ("kafka", "http"))
    warm = fig(run, PEAK_WARM.format("on"), "detail")
    sched = warm["scheduler_during_burst"]
    big = "l1-changelog-writer-burst-8000"
    big_ttw = [
        fig(big, f"{label}, round 1: time to warm p99 under the burst (publish → caller in L1)") / 1000
        for label in ("changelog writer", "Faust's changelog buffer")
    ]
    return [
        f"measured {fig(run, capacity_name()):,.0f} events/s at {capacity['worker_cpu_us_per_event']} µs",
        f"the burst was {capacity['burst_rate_events_s']:,} call-started a second",
        f"p99 of {kafka:.0f} ms during the burst against {kafka_without:.1f} ms without it "
        f"({kafka / kafka_without:.1f}×)",
        f"HTTP lookups {http:.1f} ms against {http_without:.2f} ms ({http / http_without:.1f}×)",
        f"time to warm p99 was {warm['p99_ms'] / 1000:.0f} s",
        f"on a core {sched['worker']['on_core_pct']} % of the burst and waited for one "
        f"{sched['worker']['waiting_for_a_core_pct']} % of it, the broker {sched['broker']['on_core_pct']} % and "
        f"{sched['broker']['waiting_for_a_core_pct']} %",
        f"time to warm p99 was {big_ttw[0]:.1f} s with the writer against {big_ttw[1]:.1f} s",
    ]


def _writer_peak_readme() -> str:
    """README: the evening's peak run in one sentence."""
    run = "peak-2026-12-07-writer"
    rate = fig(run, capacity_name(), "detail.burst_rate_events_s")
    kafka, http = (fig(run, PEAK.format("on", t)) for t in ("kafka", "http"))
    ratios = [fig(run, PEAK.format("on", t)) / fig(run, PEAK.format("on", t), "floor") for t in ("kafka", "http")]
    return (
        f"a burst of {rate:,} a second: a Kafka lookup's p99 {kafka:.0f} ms ({ratios[0]:.1f}× its p99 "
        f"without the burst) and an HTTP lookup's {http:.1f} ms ({ratios[1]:.1f}×)"
    )


def _one_and_two(run: str) -> str:
    """How docs/operations.md quotes another warming run: one worker's rate and CPU, then two workers'."""
    one = f"{fig(run, ONE):,.0f} events/s at {fig(run, ONE, 'detail.cpu_us_per_event')} µs"
    return f"gave one worker {one} and two {fig(run, TWO):,.0f}/s"


def _idle_phrase() -> str:
    """docs/operations.md "An idle worker on the embedded broker" (idle.json)."""
    lane = "idle worker CPU, lookup lane on, group consumer {}"
    names = [
        lane.format("50 ms (the embedded profile's)"),
        lane.format("5 ms"),
        "idle worker CPU, lookup lane off, one consumer 5 ms",
    ]
    cores = [fig("idle", n) for n in names]
    broker = [fig("idle", n, "detail.broker_cores") for n in names]
    return (
        f"the worker used {cores[0]} of a core with the group consumer at 50 ms, {cores[1]} at 5 ms, and {cores[2]} "
        f"with one consumer for every lane at 5 ms; the broker {broker[0]}, {broker[1]} and {broker[2]} beside it"
    )


def capacity_name() -> str:
    return "warm capacity, one worker (lookups first off; 50 ms source, concurrency 1000)"


def _doc_loadavg(file: str) -> float:
    doc = json.loads((ROOT / "benchmarks" / "results" / f"{file}.json").read_text())
    return float(doc["loadavg"][0])


@pytest.mark.parametrize(("doc", "phrase"), _prose(), ids=[f"{d}:{p[:40]}" for d, p in _prose()])
def test_a_figure_in_running_text_is_the_committed_one(doc: str, phrase: str) -> None:
    assert phrase in " ".join((ROOT / doc).read_text().split()), f"{doc} should say {phrase!r}"


def test_what_was_not_committed_quotes_no_figure() -> None:
    """A sentence about runs that are not in benchmarks/results/ gives no measured number."""
    figure = re.compile(r"\d[\d,.]*\s?(?:µs|ms|s\b|×|%|/s|MB|KB)")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for paragraph in path.read_text().split("\n\n"):
            prose = " ".join(line for line in paragraph.splitlines() if not line.startswith(("|", "#")))
            for sentence in re.split(r"(?<=\.)\s", " ".join(prose.split())):
                if "not committed" in sentence:
                    assert not figure.search(sentence), f"{path.name}: {sentence!r}"


def _table_rows(doc: str) -> dict[str, list[str]]:
    """Every table row of *doc* by its full text → its cells."""
    return {
        line: [c.strip() for c in line.strip().strip("|").split("|")]
        for line in doc.splitlines()
        if line.startswith("| ") and not line.startswith("|---")
    }


def _row(doc: str, start: str) -> list[str]:
    found = [cells for line, cells in _table_rows(doc).items() if line[2:].startswith(start)]
    assert len(found) == 1, f"{len(found)} rows start with {start!r}"
    return found[0]


CASES = (
    [("README.md", start, quoted) for start, quoted in _readme_rows().items()]
    + [("docs/operations.md", start, quoted) for start, quoted in _operations_rows().items()]
    + [("docs/operations.md", start, quoted) for start, quoted in _peak_rows().items()]
    + [("docs/operations.md", start, quoted) for start, quoted in _quiet_peak_rows(QUIET_PEAK, "6 Dec").items()]
    + [
        ("docs/operations.md", start, quoted)
        for start, quoted in _quiet_peak_rows(OWN_STACKS_PEAK, "6 Dec, own stacks").items()
    ]
    + [
        ("docs/operations.md", start, quoted)
        for start, quoted in _quiet_peak_rows(INTAKE_PEAK, "6 Dec, with the intake").items()
    ]
    + [
        ("docs/operations.md", start, quoted)
        for start, quoted in _split_peak_rows(BOUNDED_PEAK, BOUNDED_MODES, _bounded_seconds).items()
    ]
    + [
        ("docs/operations.md", start, quoted)
        for start, quoted in _split_peak_rows(PUMP_PEAK, PUMP_MODES, lambda mode: _as_they_fall).items()
    ]
    + [
        ("docs/operations.md", start, quoted)
        for start, quoted in _split_peak_rows(TURNS_PEAK, TURNS_MODES, lambda mode: _as_they_fall).items()
    ]
    + [
        ("docs/operations.md", start, quoted)
        for start, quoted in _split_peak_rows(GEN0_PEAK, _peak_modes("gen0"), lambda mode: _as_they_fall).items()
    ]
    + [("docs/operations.md", start, quoted) for start, quoted in _setting_ab_rows("gc-freeze", GC_RUNS).items()]
    + [("docs/operations.md", start, quoted) for start, quoted in _setting_ab_rows("warming-turns", TURN_RUNS).items()]
    + [("docs/operations.md", start, quoted) for start, quoted in _setting_ab_rows("gc-gen0", GEN0_RUNS).items()]
    + [
        ("docs/operations.md", start, quoted)
        for start, quoted in _setting_ab_rows("l1-changelog-writer", WRITER_RUNS).items()
    ]
    + [
        ("docs/operations.md", start, quoted)
        for start, quoted in _setting_ab_rows("l1-changelog-writer-burst-8000", WRITER_BIG_RUNS).items()
    ]
    + [("docs/operations.md", start, quoted) for start, quoted in _setting_ab_rows(PRODUCER_AB, PRODUCER_RUNS).items()]
    + [
        ("docs/operations.md", start, quoted)
        for file, runs in NOT_KEPT_RUNS.items()
        for start, quoted in _setting_ab_rows(file, runs).items()
    ]
    + [("docs/llm.md", start, quoted) for start, quoted in _llm_rows().items()]
    + [("docs/platforms.md", start, quoted) for start, quoted in _platforms_rows().items()]
)


@pytest.mark.parametrize(("doc", "start", "quoted"), CASES, ids=[f"{d}:{s[:40]}" for d, s, _ in CASES])
def test_a_quoted_figure_is_the_committed_one_and_the_only_one(doc: str, start: str, quoted: list[str]) -> None:
    cells = _row((ROOT / doc).read_text(), start)
    # The first cell names the figure; in README, llm.md and platforms.md the last is the target (a bound).
    shown = " | ".join(cells[1:-1] if doc in ("README.md", "docs/llm.md", "docs/platforms.md") else cells[1:])
    for text in quoted:
        assert text in shown, f"{doc}: {start!r} should show {text!r} (committed), shows {shown!r}"
    unaccounted = set(NUMBER.findall(shown)) - {n for text in quoted for n in NUMBER.findall(text)}
    assert not unaccounted, f"{doc}: {start!r} quotes {sorted(unaccounted)}, not in the committed results"


def test_every_row_of_the_readme_speed_table_is_checked() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Measured speed", 1)[1].split("\n\n", 3)[2]  # the paragraph, then the table
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    unchecked = [row for row in rows if not any(row[2:].startswith(start) for start in _readme_rows())]
    assert rows and not unchecked, unchecked


def test_the_later_warming_run_is_quoted_as_committed() -> None:
    later = "warming-2026-12-05"
    doc = (ROOT / "docs" / "operations.md").read_text()
    one = f"{fig(later, ONE):,.0f} events/s at {fig(later, ONE, 'detail.cpu_us_per_event')} µs"
    assert one in " ".join(doc.split())
    assert f"{fig(later, TWO):,.0f}/s for two" in " ".join(doc.split())


#: The table's columns (benchmarks/profile_warming.py).
PROFILE_MODES = ("intake-off", "changelog-buffer", "changelog-faust-producer", "defaults")


def _profile(mode: str) -> tuple[str, dict[str, str]]:
    """benchmarks/results/profiles/warming-{mode}.txt: its title, and µs/event per thread or group name."""
    text = (ROOT / "benchmarks/results/profiles" / f"warming-{mode}.txt").read_text()
    shares = dict(
        (line.split("µs/event", 1)[1].strip(), line.split("%", 1)[1].split("µs/event")[0].strip())
        for line in text.splitlines()
        if "µs/event" in line
    )
    return text.splitlines()[0], shares


def _changelog_group(mode: str) -> str:
    return {
        "defaults": "L1 changelog: librdkafka's produce calls and reports, Python side",
        "changelog-faust-producer": "L1 changelog: warmline's writer through Faust's producer",
    }.get(mode, "L1 changelog: Faust's producer buffer")


def test_the_profile_table_is_the_committed_profiles() -> None:
    lines = (ROOT / "docs" / "operations.md").read_text().splitlines()
    row = next(line for line in lines if line.startswith("| throughput under py-spy; worker CPU per event |"))
    for mode in PROFILE_MODES:
        title, _ = _profile(mode)
        found = re.search(r"under py-spy: ([\d,]+) events/s, (\d+) µs of worker CPU", title)
        assert found is not None, title
        assert f"{found[1]} events/s; {found[2]} µs" in row
    groups: dict[str, Callable[[str], list[str]]] = {
        "| main thread |": lambda mode: ["main thread"],
        "| Faust's consumer thread (": lambda mode: ["Faust's consumer thread"],
        "| Faust's per-record delivery (": lambda mode: [
            "Faust per-record delivery (drain loop's task pair, conductor, stream iteration)"
        ],
        "| aiokafka fetch requests built": lambda mode: ["aiokafka fetch (request build, response decode)"],
        "| L1 changelog:": lambda mode: [_changelog_group(mode), "aiokafka producer sender"],
        "| the warm batch (": lambda mode: [
            "warm batch (TieredCache.warm_many, source, L2)",
            "source calls (gate and demo source)",
        ],
        "| Redis client |": lambda mode: ["Redis client"],
    }
    for start, names in groups.items():
        row = next(line for line in lines if line.startswith(start))
        cells = [cell.strip() for cell in row.split("|") if cell.strip()][-len(PROFILE_MODES) :]
        for mode, cell in zip(PROFILE_MODES, cells, strict=True):
            figures = [f"{int(_profile(mode)[1][name]):,}" for name in names(mode)]
            assert re.findall(r"[\d,]+(?= µs)|[\d,]+(?= /)|[\d,]+(?= \+)", cell) == figures, (start, mode, cell)


def test_the_intake_peak_run_s_prose_is_the_committed_one() -> None:
    capacity = fig(INTAKE_PEAK, capacity_name(), "detail")
    off, shared, lane = (fig(INTAKE_PEAK, PEAK.format(m, "kafka"), "detail.with_burst") for m in QUIET_MODES.values())
    cpu = [fig(INTAKE_PEAK, PEAK_WARM.format(m), "detail.cpu_pct_of_one_core.burst") for m in QUIET_MODES.values()]
    _operations_says(
        f"measured {fig(INTAKE_PEAK, capacity_name()):,.0f} events/s at {capacity['worker_cpu_us_per_event']} µs "
        f"of worker CPU per event ({capacity['events']:,} events)",
        f"the burst was {capacity['burst_rate_events_s']:,} call-started a second for {capacity['burst_s']:.0f} s",
        f"({fig(INTAKE_PEAK, PEAK_WARM.format('on'), 'detail.burst_events'):,} callers)",
        f"the worker ran at {min(c['worker'] for c in cpu):.0f}–{max(c['worker'] for c in cpu):.0f} % of a core "
        f"and the broker at {min(c['broker'] for c in cpu):.0f}–{max(c['broker'] for c in cpu):.0f} %",
        f"Kafka median from {off['p50_ms'] / 1000:.1f} s to {shared['p50_ms'] / 1000:.1f} s with one fetch",
        f"({lane['p50_ms'] / 1000:.1f} s median, {lane['p99_ms'] / 1000:.1f} s p99",
    )


CLIENTS_PEAK = "peak-2026-12-07-clients"
#: The scheduler's table of the run with the machine's figures: row label → process.
SCHEDULER_ROWS = {
    "the worker process": "worker",
    "Tansu (the broker)": "broker",
    "the burst's publisher (librdkafka)": "publisher",
    "the lookup clients (the benchmark's own process)": "lookup clients",
}


def _scheduler(file: str, mode: str) -> dict[str, Any]:
    return dict(fig(file, PEAK_WARM.format(mode), "detail.scheduler_during_burst"))


def _scheduler_rows() -> dict[str, list[str]]:
    shares = _scheduler(CLIENTS_PEAK, "on")
    return {
        start: [f"{shares[proc]['on_core_pct']:.1f}", f"{shares[proc]['waiting_for_a_core_pct']:.1f}"]
        for start, proc in SCHEDULER_ROWS.items()
    }


def test_the_machine_s_figures_in_the_prose_are_the_committed_ones() -> None:
    capacity, lane, http = _default_mode(CLIENTS_PEAK)
    warm = fig(CLIENTS_PEAK, PEAK_WARM.format("on"), "detail")
    late = warm["lookup_clients_loop_lateness"]
    shares = _scheduler(CLIENTS_PEAK, "on")
    others = [_scheduler(CLIENTS_PEAK, m)["worker"] for m in ("off", "on, one fetch for all lanes")]
    first_capacity, first_lane, first_http = _default_mode("peak-2026-12-07-machine")
    first_wait = _scheduler("peak-2026-12-07-machine", "on")["worker"]["waiting_for_a_core_pct"]
    _operations_says(
        _measured(CLIENTS_PEAK, capacity),
        f"the burst was {capacity['burst_rate_events_s']:,} call-started a second for 30 s, the largest yet",
        f"it used {shares['publisher']['on_core_pct']:.1f} % of a core in the run below",
        f"the worker ran {others[0]['on_core_pct']:.1f} and {others[1]['on_core_pct']:.1f} % of a core and waited "
        f"{others[0]['waiting_for_a_core_pct']:.1f} and {others[1]['waiting_for_a_core_pct']:.1f} % of the time",
        f"The two cores were {shares['machine_busy_pct_of_all_cores']:.1f} % busy on average",
        f"the Kafka p99 during the burst was {_peak_ms(lane['with_burst']['p99_ms'])} ms "
        f"({lane['ratio_p99']:.1f}× the p99 without the burst) and the HTTP p99 "
        f"{_peak_ms(http['with_burst']['p99_ms'])} ms ({http['ratio_p99']:.1f}×)",
        f"the {warm['all_handled_s_after_burst']:.0f} s the worker then took to handle it",
        f"its 5 ms timer {late['with_burst']['p99_ms']:.1f} ms late at p99, against "
        f"{late['without_burst']['p99_ms']:.1f} ms late without the burst",
        f"with a burst of {first_capacity['burst_rate_events_s']:,} a second, gave "
        f"{_peak_ms(first_lane['with_burst']['p99_ms'])} and {_peak_ms(first_http['with_burst']['p99_ms'])} ms, "
        f"the worker waiting for a core {first_wait:.1f} % of the burst",
        f"({lane['ratio_p99']:.1f}× and {http['ratio_p99']:.1f}× in the run above)",
    )
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert (
        f"a burst of {capacity['burst_rate_events_s']:,} call-started a second its two cores were "
        f"{shares['machine_busy_pct_of_all_cores']:.1f} % busy, the worker waited for a free core "
        f"{shares['worker']['waiting_for_a_core_pct']:.1f} % of the time and the broker "
        f"{shares['broker']['waiting_for_a_core_pct']:.1f} %, and a Kafka lookup's p99 was "
        f"{_peak_ms(lane['with_burst']['p99_ms'])} ms and an HTTP lookup's {_peak_ms(http['with_burst']['p99_ms'])} ms"
    ) in readme


def _probe(label: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "benchmarks" / "results" / "profiles" / f"loop-probe-{label}.json").read_text()))


def _probe_rows() -> dict[str, list[str]]:
    """docs/operations.md's loop-probe table: shared cores, then the worker pinned."""
    rows: dict[str, list[str]] = {}
    runs = [_probe("shared"), _probe("pinned")]

    def each(cell: Callable[[dict[str, Any]], str]) -> list[str]:
        return [cell(run) for run in runs]

    lookups = "lookup p99, callers warmed earlier, during the burst"
    rows["the worker waiting for a free core"] = each(
        lambda r: f"{r['scheduler_during_burst']['worker']['waiting_for_a_core_pct']:.1f}"
    )
    rows["lookups during the burst, Kafka / HTTP p99"] = each(
        lambda r: f"{_peak_ms(r['lookups'][f'kafka {lookups}'])} / {_peak_ms(r['lookups'][f'http {lookups}'])} ms"
    )
    rows["the lookup clients' loop lateness"] = each(
        lambda r: f"{r['lookup_clients_loop_lateness']['with_burst']['p99_ms']:.1f} ms"
    )
    rows["the worker's loop turns, p99 / p99.9"] = each(
        lambda r: f"{r['probe']['turn_ms']['p99']:.1f} / {r['probe']['turn_ms']['p99.9']:.1f} ms"
    )
    rows["slow turns: how many"] = each(
        lambda r: (
            f"{r['probe']['slow_turns']['turns']:.0f}, {r['probe']['slow_turns']['wall_ms']:,.0f} / "
            f"{r['probe']['slow_turns']['cpu_ms']:,.0f} ms"
        )
    )
    rows["of the slow turns' time, garbage collection"] = each(lambda r: f"{r['probe']['slow_turns']['gc_ms']:.0f} ms")
    rows["full collections: how many, the longest"] = each(
        lambda r: f"{r['probe']['collections']['2']['count']}, {r['probe']['collections']['2']['max_ms']:.1f} ms"
    )
    return rows


def test_the_pinned_probe_s_named_parts_are_the_committed_ones() -> None:
    pinned = _probe("pinned")["probe"]
    steps = {c["name"]: c for c in pinned["slow_turn_callbacks"]}
    ends = steps["task HandlerPool.spawn_batch.<locals>.run@294"]
    stores = [c for name, c in steps.items() if name.startswith("task TieredCache._fetch_into_l1@")]
    _operations_says(
        f"{ends['count']} steps and {ends['cpu_ms']:.0f} ms of CPU, about {ends['cpu_ms'] / ends['count']:.1f} ms each",
        f"{sum(c['count'] for c in stores):,} steps and {sum(c['cpu_ms'] for c in stores):.0f} ms of CPU",
        f"the garbage collector ({pinned['slow_turns']['gc_ms']:.0f} ms, its full collections up to "
        f"{pinned['collections']['2']['max_ms']:.1f} ms each",
    )


MACHINE_CASES = (
    [("docs/operations.md", start, quoted) for start, quoted in _scheduler_rows().items()]
    + [("docs/operations.md", start, quoted) for start, quoted in _probe_rows().items()]
    + [
        ("docs/operations.md", start, quoted)
        for start, quoted in _split_peak_rows(CLIENTS_PEAK, _peak_modes("clients"), lambda mode: _as_they_fall).items()
    ]
)


@pytest.mark.parametrize(("doc", "start", "quoted"), MACHINE_CASES, ids=[s[:40] for _, s, _ in MACHINE_CASES])
def test_a_figure_of_the_machine_s_tables_is_the_committed_one(doc: str, start: str, quoted: list[str]) -> None:
    test_a_quoted_figure_is_the_committed_one_and_the_only_one(doc, start, quoted)


def test_the_turn_budget_a_b_s_prose_is_the_committed_one() -> None:
    def per_round(ms: str, what: str, path: str) -> list[Any]:
        return [fig("warming-turn-budget", f"warming turns of {ms} ms, round {n}: {what}", path) for n in (1, 2, 3)]

    kafka = "kafka lookup p99, callers warmed earlier, during the burst"
    small, default = (per_round(ms, kafka, "detail.with_burst") for ms in ("0.5", "2"))
    assert all(a["p99_ms"] < b["p99_ms"] and a["p50_ms"] > b["p50_ms"] for a, b in zip(small, default, strict=True))
    cpu = [per_round(ms, "warm capacity", "detail.worker_cpu_us_per_event") for ms in ("0.5", "2")]
    assert all(a < b for a, b in zip(*cpu, strict=True)), "less CPU per event in every round"
    warm = "time to warm p99 under the burst (publish → caller in L1)"
    small_ttw, default_ttw = ([v / 1000 for v in per_round(ms, warm, "detail.p99_ms")] for ms in ("0.5", "2"))
    phrase = "the time to warm p99 under the burst was {:.1f}, {:.1f} and {:.1f} s against {:.1f}, {:.1f} and {:.1f} s"
    _operations_says(phrase.format(*small_ttw, *default_ttw))


def test_what_the_prose_says_of_the_settings_not_kept_holds_in_their_results() -> None:
    def p99s(file: str, label: str, transport: str) -> list[float]:
        return [fig(file, AB_ROW.format(f"{label}, round {n}", transport), "detail.with_burst.p99_ms") for n in (1, 2)]

    for transport in ("kafka", "http"):  # "did no better in either round"
        shorter, default = (
            p99s("gil-switch", "switch interval 0.5 ms", transport),
            p99s("gil-switch", "switch interval 5 ms", transport),
        )
        assert all(a >= b for a, b in zip(shorter, default, strict=True)), transport
        sweeps, auto = (
            p99s("gc-auto-full", "full collections at sweeps only", transport),
            p99s("gc-auto-full", "full collections automatic", transport),
        )
        assert (sweeps[0] < auto[0]) != (sweeps[1] < auto[1]), transport  # better in one round, worse in the other


def test_the_probe_pair_s_reading_holds_in_its_results() -> None:
    shared, pinned = _probe("shared"), _probe("pinned")
    wait = [r["scheduler_during_burst"]["worker"]["waiting_for_a_core_pct"] for r in (shared, pinned)]
    assert wait[1] < wait[0] / 2, "less than half as long"
    lookups = "{} lookup p99, callers warmed earlier, during the burst"
    for transport in ("kafka", "http"):
        assert pinned["lookups"][lookups.format(transport)] > shared["lookups"][lookups.format(transport)]


def _both_rounds(label: str, figure: str, shown: Callable[[float], str]) -> str:
    """ "A and B": one figure of *label*'s two rounds in the changelog producer's A/B."""
    return " and ".join(shown(fig(PRODUCER_AB, f"{label}, round {n}: {figure}")) for n in (1, 2))


def test_the_changelog_producer_s_a_b_prose_is_the_committed_one() -> None:
    rdkafka, faust = "changelog through librdkafka", "changelog through Faust's producer"
    ttw = "time to warm p99 under the burst (publish → caller in L1)"
    at_answer = "warm at answer, burst callers who waited ≥ 5 s"
    burst_http = "http lookup p99, callers of the burst (after a 1–10 s wait)"
    http_p50 = "http lookup p99, callers warmed earlier, during the burst"

    def seconds(ms_value: float) -> str:
        return f"{ms_value / 1000:.1f}"

    def median(label: str) -> str:
        return " and ".join(
            f"{fig(PRODUCER_AB, f'{label}, round {n}: {http_p50}', 'detail.with_burst.p50_ms'):.1f}" for n in (1, 2)
        )

    _operations_says(
        f"time to warm p99 was {_both_rounds(rdkafka, ttw, seconds)} s against {_both_rounds(faust, ttw, seconds)} s",
        f"(100 % in both rounds, against {_both_rounds(faust, at_answer, lambda v: f'{v:.0f}')} %)",
        f"p99 {_both_rounds(rdkafka, burst_http, _peak_ms)} ms against {_both_rounds(faust, burst_http, _peak_ms)} ms",
        "from L1 ("
        + ", against ".join(
            " and ".join(
                f"{tiers.get('l1', 0)} of {sum(tiers.values())}"
                for tiers in (fig(PRODUCER_AB, f"{label}, round {n}: {burst_http}", "detail.tiers") for n in (1, 2))
            )
            for label in (rdkafka, faust)
        )
        + ")",
        f"HTTP {median(rdkafka)} ms against {median(faust)} ms",
    )
    assert all(fig(PRODUCER_AB, f"{rdkafka}, round {n}: {at_answer}") == 100 for n in (1, 2))
    probe = json.loads((ROOT / "benchmarks/results/profiles/loop-probe-rdkafka-pinned.json").read_text())["probe"]
    before = json.loads((ROOT / "benchmarks/results/profiles/loop-probe-pinned.json").read_text())["probe"]
    slow = {c["name"]: c for c in probe["slow_turn_callbacks"]}
    batch_end, stores = (
        slow["task HandlerPool.spawn_batch.<locals>.run@294"],
        slow["task TieredCache._fetch_into_l1@294"],
    )
    _operations_says(
        f"turns at p99 {probe['turn_ms']['p99']:.1f} ms, against {before['turn_ms']['p99']:.1f} ms",
        f"{batch_end['count']:,} slow steps, {batch_end['wall_ms']:.0f} ms",
        f"{stores['count']:,} steps in slow turns, {stores['wall_ms']:.0f} ms",
    )


def test_the_librdkafka_peak_run_s_prose_is_the_committed_one() -> None:
    capacity = fig(PRODUCER_PEAK, capacity_name(), "detail")
    kafka, http = (fig(PRODUCER_PEAK, PEAK.format("on", t)) for t in ("kafka", "http"))
    kafka_without, http_without = (fig(PRODUCER_PEAK, PEAK.format("on", t), "floor") for t in ("kafka", "http"))
    warm = fig(PRODUCER_PEAK, PEAK_WARM.format("on"), "detail")
    sched = warm["scheduler_during_burst"]
    _operations_says(
        f"measured {fig(PRODUCER_PEAK, capacity_name()):,.0f} events/s at {capacity['worker_cpu_us_per_event']} µs",
        f"the burst was {capacity['burst_rate_events_s']:,} call-started a second for {capacity['burst_s']:.0f} s "
        f"({warm['burst_events']:,} callers)",
        f"p99 of {_peak_ms(kafka)} ms during the burst against {kafka_without:.1f} ms without it "
        f"({kafka / kafka_without:.1f}×)",
        f"lookups {http:.1f} ms against {http_without:.2f} ms ({http / http_without:.1f}×)",
        f"time to warm p99 was {warm['p99_ms'] / 1000:.0f} s, and all of it was handled "
        f"{warm['all_handled_s_after_burst']:.0f} s after the burst ended",
        f"on a core {sched['worker']['on_core_pct']} % of the burst and waited for one "
        f"{sched['worker']['waiting_for_a_core_pct']} % of it",
        f"the broker {sched['broker']['on_core_pct']} % and {sched['broker']['waiting_for_a_core_pct']} %",
    )
