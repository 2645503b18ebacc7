"""A plot's legend quotes the same p99 as the JSON beside it."""

from __future__ import annotations

from benchmarks.report import legend
from benchmarks.stats import Result, summary_ms


def test_the_legend_s_p99_is_the_json_s_even_with_a_sparse_tail() -> None:
    # 200 samples, the slowest three far apart: a nearest-rank p99 and an interpolated one differ here.
    samples_s = [0.001 * (1 + i % 7) for i in range(197)] + [0.020, 0.060, 0.140]
    p99_ms = summary_ms(samples_s)["p99_ms"]
    row = Result("lookups", p99_ms, "ms p99", "reported", None, samples_ms=[s * 1000 for s in samples_s])
    assert f"(p99 {p99_ms:.3f} ms)" in legend(row)
