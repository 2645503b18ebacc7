"""The fault table of a `make faults` results file, as Markdown (the table in docs/faults.md).

python -m benchmarks.faults.table [benchmarks/results/faults.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..report import RESULTS_DIR

HEADER = (
    "| fault | sent | replied | lost | dup | error replies (during) | p50 / p99 during (ms) "
    "| p99 during Kafka / HTTP | p99 after (ms) | back to normal (s) | worker-0 HTTP p99 | goal |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _goal(goal: dict[str, Any] | None) -> str:
    if not goal:
        return "—"
    return ", ".join(
        (
            "nothing lost" if goal["nothing_lost"] else "LOST",
            "hot ok" if goal["hot_keys_answered"] else "hot NOT ok",
            "w0 ≤3×" if goal["worker_0_http_p99_within_3x"] else "w0 >3×",
        )
    )


def row(fault: dict[str, Any]) -> str:
    """One fault's line: requests sent during the window and after it, figures of the window."""
    during, after = fault["during"], fault["after"]
    errors = ", ".join(f"{status} {n}" for status, n in sorted(during["errors"].items())) or "—"
    back = fault["p99_back_to_normal_s"]
    cells = (
        fault["fault"],
        during["sent"] + after["sent"],
        during["replied"] + after["replied"],
        during["lost"] + after["lost"],
        during["duplicated"] + after["duplicated"],
        errors,
        f"{_ms(during['p50_ms'])} / {_ms(during['p99_ms'])}",
        f"{_ms(fault['during_kafka']['p99_ms'])} / {_ms(fault['during_http']['p99_ms'])}",
        _ms(after["p99_ms"]),
        "—" if back is None else f"{back:g}",
        _ms(fault.get("http_to_worker_0_p99_ms")),
        _goal(fault.get("goal")),
    )
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def table(doc: dict[str, Any]) -> str:
    """The header and a line per fault, the S3 stage's last."""
    faults = list(doc["faults"]) + list((doc.get("durable") or {}).get("faults", []))
    return "\n".join([HEADER, *(row(fault) for fault in faults)])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults.table")
    parser.add_argument("path", nargs="?", type=Path, default=RESULTS_DIR / "faults.json")
    print(table(json.loads(parser.parse_args().path.read_text())))


if __name__ == "__main__":
    main()
