"""Print the results table and write JSON + a PNG latency plot."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .stats import Result, pct

RESULTS_DIR = Path(__file__).parent / "results"


def print_table(title: str, results: list[Result], console: Console) -> None:
    """The figures with their floors and targets; a missed target shows, it is never hidden."""
    table = Table(title=title)
    for column in ("figure", "value", "floor", "target", "met"):
        table.add_column(column)
    for r in results:
        met = "—" if r.met is None else ("[green]yes[/]" if r.met else "[red]NO[/]")
        floor = "" if r.floor is None else f"{r.floor:g}"
        table.add_row(r.name, f"{r.value:g} {r.unit}", floor, r.target, met)
    console.print(table)


def write(name: str, results: list[Result], meta: dict[str, object]) -> Path:
    """benchmarks/results/{name}.json (+ .png when there are latency samples)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        # The machine is shared: the 1/5/15-minute load averages when the run ended.
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        **meta,
        "results": [{k: v for k, v in asdict(r).items() if k != "samples_ms"} for r in results],
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    with_samples = [r for r in results if r.samples_ms]
    if with_samples:
        _plot(RESULTS_DIR / f"{name}.png", name, with_samples)
    return path


def write_run(benchmark: str, name: str, started: float, body: dict[str, object]) -> Path:
    """benchmarks/results/{name}.json of a run begun at monotonic *started*: what, when, where, how long, *body*."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": benchmark,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "duration_s": round(time.monotonic() - started, 1),
        **body,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return path


@contextlib.contextmanager
def run_dir(prefix: str, keep: bool) -> Iterator[Path]:
    """A work directory for a run's logs: removed afterwards, or kept (and said where) with *keep*."""
    if not keep:
        with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
            yield Path(scratch)
        return
    kept = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield kept
    finally:
        print(f"logs kept under {kept}")


def legend(r: Result) -> str:
    """A curve's name in the plot, with the p99 the JSON gives (``stats.pct``: the same method)."""
    return f"{r.name} (p99 {pct(r.samples_ms, 0.99):.3f} ms)"


def _plot(path: Path, title: str, results: list[Result]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    for r in results:
        xs = sorted(r.samples_ms)
        ys = [i / len(xs) for i in range(1, len(xs) + 1)]
        ax.plot(xs, ys, label=legend(r))
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("share of requests ≤ latency")
    ax.set_title(f"warmline {title}: latency CDF (one run, this machine)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
