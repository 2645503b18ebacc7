"""`warmline warm FILE`: warm a key list or VIP file through HTTP (POST /v1/prewarm) or Kafka lookups."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..errors import InvalidMessage, VipFileError
from ..models import LookupKey, LookupReply
from ..prewarm.bulk import WarmOutcome, parse_keys
from ..prewarm.vip_lists import load_vip
from ..settings import Settings
from .remote import KafkaLookups, kafka_client, lookups_bounded, prewarm_http


def read_keys(path: Path, region: str) -> tuple[list[LookupKey], list[str]]:
    """Keys from a VIP file (.yaml/.yml/.json) or a list with one ``kind:value`` per line; and the bad lines."""
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        return load_vip(path, region).all_keys(), []
    keys: list[LookupKey] = []
    bad: list[str] = []
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for line, parsed in zip(lines, parse_keys(lines, region), strict=True):
        if isinstance(parsed, InvalidMessage):
            bad.append(f"{line}: {parsed.reason}")
        else:
            keys.append(parsed)
    return list(dict.fromkeys(keys)), bad


def progress_bar(console: Console) -> Progress:
    """The progress bar every bulk command shows."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    )


def _outcome(reply: LookupReply) -> str:
    if reply.status == "ok":
        return (WarmOutcome.FRESH if reply.source == "l1" else WarmOutcome.WARMED).value
    return reply.status.value


async def run_warm(
    settings: Settings, path: Path, *, http: str | None, concurrency: int, console: Console
) -> dict[str, Any]:
    """Warm every key of *path*; returns the totals (also printed)."""
    try:
        keys, bad = read_keys(path, settings.default_region)
    except (OSError, VipFileError) as e:
        raise SystemExit(f"cannot read {path}: {e}") from None
    for line in bad[:10]:
        console.print(f"[yellow]skipped[/] {line}")
    totals: Counter[str] = Counter(invalid=len(bad))
    started = time.perf_counter()
    with progress_bar(console) as progress:
        task = progress.add_task("warming", total=len(keys))
        if http:

            def on_chunk(stats: dict[str, Any], size: int) -> None:
                for name in (o.value for o in WarmOutcome):
                    totals[name] += int(stats.get(name, 0))
                progress.advance(task, size)

            async with aiohttp.ClientSession() as session:
                await prewarm_http(session, http, keys, settings.admin_token, on_chunk)
        else:

            def on_reply(reply: LookupReply) -> None:
                totals[_outcome(reply)] += 1
                progress.advance(task)

            async with kafka_client(settings) as client:
                await lookups_bounded(KafkaLookups(client), keys, concurrency, on_reply)
    result = {"total": len(keys) + len(bad), **totals, "duration_s": round(time.perf_counter() - started, 2)}
    console.print(result)
    return result
