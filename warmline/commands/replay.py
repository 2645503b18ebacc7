"""`warmline replay`: re-publish recorded call-started events, or re-warm from the topic's own history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console

from ..errors import InvalidMessage
from ..models import CallStarted, LookupKey, LookupReply, parse
from ..settings import Settings
from ..stream.security import kafka_connection
from .remote import KafkaLookups, kafka_client, lookups_bounded, prewarm_http
from .warm import progress_bar


@dataclass
class ReplayReport:
    """What a replay did."""

    published: int = 0
    skipped: list[str] = field(default_factory=list)
    keys: int = 0
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "published": self.published,
            "skipped": len(self.skipped),
            "keys": self.keys,
            "duration_s": self.duration_s,
        }


def read_events(path: Path, region: str, report: ReplayReport) -> Iterator[tuple[CallStarted, LookupKey]]:
    """Valid events of a JSONL file with their keys; bad lines are noted in *report*."""
    with path.open("rb") as lines:
        for n, line in enumerate(lines, start=1):
            raw = line.strip()
            if not raw:
                continue
            try:
                event = parse(CallStarted, raw)
                yield event, event.lookup_key(region)
            except InvalidMessage as e:
                report.skipped.append(f"line {n}: {e.reason}")


async def replay_file(settings: Settings, path: Path, *, speed: float | None, console: Console) -> ReplayReport:
    """Publish every valid event of *path* to call-started, keyed by its lookup key.

    With *speed*, gaps between events' ``started_at`` are kept, divided by *speed*; without, as fast as possible.
    """
    report = ReplayReport()
    events = list(read_events(path, settings.default_region, report))
    producer = AIOKafkaProducer(**kafka_connection(settings).kwargs(), linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        with progress_bar(console) as progress:
            task = progress.add_task("replaying", total=len(events))
            first_at: datetime | None = None
            for event, key in events:
                if speed and event.started_at is not None:
                    first_at = first_at or event.started_at
                    due = (event.started_at - first_at).total_seconds() / speed
                    delay = due - (time.perf_counter() - started)
                    if delay > 0:
                        await asyncio.sleep(delay)
                # The call "starts" now: workers skip calls older than WARMLINE_CALL_MAX_AGE_S.
                fresh = event.model_copy(update={"started_at": datetime.now(UTC)}).to_json()
                await producer.send(settings.topic_call_started, fresh, key=str(key).encode())
                report.published += 1
                progress.advance(task)
            await producer.flush()
    finally:
        await producer.stop()
    report.keys = len({k for _, k in events})
    report.duration_s = round(time.perf_counter() - started, 3)
    return report


async def keys_since(settings: Settings, topic: str, since: datetime, report: ReplayReport) -> list[LookupKey]:
    """Distinct lookup keys of *topic*'s events from *since* up to the end at the time of the call."""
    consumer = AIOKafkaConsumer(
        **kafka_connection(settings).kwargs(),
        enable_auto_commit=False,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        since_ms = int(since.timestamp() * 1000)
        starts = await consumer.offsets_for_times({tp: since_ms for tp in tps})
        ends = await consumer.end_offsets(tps)
        todo = {}
        for tp in tps:
            found = starts.get(tp)
            if found is not None and found.offset < ends[tp]:
                consumer.seek(tp, found.offset)
                todo[tp] = ends[tp]
        keys: dict[LookupKey, None] = {}
        while todo:
            for tp, records in (await consumer.getmany(*todo, timeout_ms=500)).items():
                for record in records:
                    if record.offset + 1 >= todo.get(tp, 0):
                        todo.pop(tp, None)
                    if record.timestamp < since_ms:
                        continue  # brokers may seek to an earlier batch (Tansu does): filter by time here too
                    try:
                        keys[parse(CallStarted, record.value).lookup_key(settings.default_region)] = None
                    except InvalidMessage as e:
                        report.skipped.append(f"{tp.topic}[{tp.partition}]@{record.offset}: {e.reason}")
        return list(keys)
    finally:
        await consumer.stop()


async def replay_topic(
    settings: Settings, topic: str, since: datetime, *, http: str | None, concurrency: int, console: Console
) -> ReplayReport:
    """Re-warm every caller seen on *topic* since *since* (prewarm over HTTP, or lookups over Kafka)."""
    report = ReplayReport()
    started = time.perf_counter()
    keys = await keys_since(settings, topic, since, report)
    report.keys = len(keys)
    with progress_bar(console) as progress:
        task = progress.add_task("re-warming", total=len(keys))
        if http:
            async with aiohttp.ClientSession() as session:
                await prewarm_http(
                    session,
                    http,
                    keys,
                    settings.admin_token,
                    lambda _stats, n: progress.advance(task, n),
                    origin="replay",  # counted apart from admin warms (warm_jobs.replay in /v1/stats)
                )
        else:

            def on_reply(reply: LookupReply) -> None:
                progress.advance(task)

            async with kafka_client(settings) as client:
                await lookups_bounded(KafkaLookups(client), keys, concurrency, on_reply)
    report.duration_s = round(time.perf_counter() - started, 3)
    return report
