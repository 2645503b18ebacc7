"""Per-fault figures from the Ledger, and the timeline plot (latency and errors over time, faults shaded)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..stats import pct
from .load import LOST_AFTER_S, Ledger, Sent
from .scenario import Window

ANSWERS = ("ok", "not_found")  # the statuses that answer the question; the rest are error replies


def _latency_ms(s: Sent) -> float | None:
    if s.t_reply is None or s.t_reply - s.t > LOST_AFTER_S:
        return None
    return (s.t_reply - s.t) * 1000


def _p(values: list[float], q: float) -> float | None:
    return round(pct(values, q), 2) if values else None


def figures(entries: Iterable[Sent]) -> dict[str, Any]:
    """sent / replied / lost / duplicated / error replies by status / p50 / p99 of *entries*."""
    rows = list(entries)
    lat = [x for x in (_latency_ms(s) for s in rows) if x is not None]
    errors = Counter(s.status for s in rows if s.status is not None and s.status not in ANSWERS)
    return {
        "sent": len(rows),
        "replied": len(lat),
        "lost": sum(1 for s in rows if _latency_ms(s) is None and not s.not_sent),
        "not_sent": sum(1 for s in rows if s.not_sent),
        "duplicated": sum(max(0, s.replies - 1) for s in rows),
        "errors": dict(sorted(errors.items(), key=lambda kv: str(kv[0]))),
        "hot_not_answered": sum(1 for s in rows if s.hot and s.status not in ANSWERS),
        "p50_ms": _p(lat, 0.5),
        "p99_ms": _p(lat, 0.99),
    }


def _between(ledger: Ledger, start: float, end: float) -> list[Sent]:
    return [s for s in ledger.sent.values() if start <= s.t < end]


def recovery_s(ledger: Ledger, window: Window, normal_p99_ms: float, factor: float = 3.0) -> float | None:
    """Seconds after the window until the p99 of every later 3-s span is within *factor* × normal (None: never)."""
    buckets = []
    t = window.end
    while t < window.after_end:
        span = _between(ledger, t, min(t + 3, window.after_end))
        lat = [x for x in (_latency_ms(s) for s in span) if x is not None]
        lost = any(_latency_ms(s) is None and not s.not_sent for s in span)
        buckets.append(math.inf if lost else (pct(lat, 0.99) if lat else 0.0))
        t += 1
    for i in range(len(buckets)):
        if all(b <= factor * normal_p99_ms for b in buckets[i:]):
            return float(i)
    return None


def goal(row: dict[str, Any], normal: dict[str, Any]) -> dict[str, Any]:
    """The issue's goals for one fault row: nothing lost, hot keys answered, worker-0's HTTP p99 ≤ 3× normal."""
    normal_http = normal.get("http_p99_ms") or normal["p99_ms"] or 1.0
    survivor = row.get("http_to_worker_0_p99_ms")
    return {
        "nothing_lost": row["during"]["lost"] + row["after"]["lost"] == 0,
        "hot_keys_answered": row["during"]["hot_not_answered"] == 0,
        "worker_0_http_p99_within_3x": survivor is not None and survivor <= 3 * normal_http,
        "normal_http_p99_ms": normal_http,
    }


def fault_report(ledger: Ledger, window: Window, normal_p99_ms: float) -> dict[str, Any]:
    """One row: the window's figures during and after, per channel, and the time to normal p99."""
    during, after = _between(ledger, window.start, window.end), _between(ledger, window.end, window.after_end)
    by_worker = {}
    for w in (0, 1):
        rows = [s for s in during if s.channel == "http" and s.worker == w]
        by_worker[f"http_to_worker_{w}_p99_ms"] = figures(rows)["p99_ms"]
    return {
        "fault": window.name,
        "what": window.note,
        "window_s": [round(window.start, 1), round(window.end, 1), round(window.after_end, 1)],
        "during": figures(during),
        "after": figures(after),
        "during_kafka": figures(s for s in during if s.channel == "kafka"),
        "during_http": figures(s for s in during if s.channel == "http"),
        **by_worker,
        "p99_back_to_normal_s": recovery_s(ledger, window, normal_p99_ms),
        "lost_examples": _lost(during + after),
    }


def _lost(rows: list[Sent], limit: int = 20) -> list[dict[str, Any]]:
    """The first lost requests: when they were sent, and where (request partition, offset) for Kafka."""
    lost = sorted((s for s in rows if _latency_ms(s) is None and not s.not_sent), key=lambda s: s.t)
    return [
        {"rid": s.rid, "channel": s.channel, "t": round(s.t, 2), "where": s.where, "hot": s.hot} for s in lost[:limit]
    ]


def plot(path: Path, panels: list[tuple[str, Ledger, list[Window]]]) -> None:
    """Per panel: p50/p99 per second by channel (log), error-or-lost share; fault windows shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(14, 4.5 * len(panels)), squeeze=False)
    for ax, (title, ledger, windows) in zip(axes[:, 0], panels, strict=True):
        by_second: dict[int, list[Sent]] = {}
        for s in ledger.sent.values():
            by_second.setdefault(int(s.t), []).append(s)
        seconds = range(max(by_second, default=0) + 1)
        for channel, color in (("kafka", "tab:blue"), ("http", "tab:green")):
            lat = [
                [x for s in by_second.get(t, []) if s.channel == channel and (x := _latency_ms(s)) is not None]
                for t in seconds
            ]
            for q, style in ((0.99, {"lw": 1}), (0.5, {"lw": 0.6, "ls": ":"})):
                line = [pct(v, q) if v else math.nan for v in lat]
                ax.plot(seconds, line, color=color, label=f"{channel} p{round(q * 100)}", **style)
        ax.set_yscale("log")
        ax.set_ylabel("latency per second (ms, log)")
        err = ax.twinx()
        share = [
            100 * sum(s.status not in ANSWERS for s in rows) / len(rows) if (rows := by_second.get(t)) else math.nan
            for t in seconds
        ]
        err.plot(seconds, share, color="tab:red", lw=0.8, label="error or lost (%)")
        err.set_ylabel("error replies + lost (% of sent)")
        err.set_ylim(0, 100)
        for i, w in enumerate(windows[1:], start=1):
            ax.axvspan(w.start, w.end, color="orange" if i % 2 else "gold", alpha=0.25)
            ax.text((w.start + w.end) / 2, 1.01, w.name, transform=ax.get_xaxis_transform(), ha="center", fontsize=7)
        ax.set_xlabel("seconds since the load started (by send time)")
        ax.set_title(title, pad=14)
        (lines, labels), (lines2, labels2) = ax.get_legend_handles_labels(), err.get_legend_handles_labels()
        ax.legend(lines + lines2, labels + labels2, fontsize=7, loc="upper left")
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
