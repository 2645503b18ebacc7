"""The `warmline simulate` front end: wiring from Settings and a live rich table."""

from __future__ import annotations

import argparse

import aiohttp
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..models import LookupReply
from ..settings import Settings, parse_latency_ms
from ..sources.demo.generate import is_current, sample_contacts
from ..stream.security import kafka_connection
from .remote import HttpLookups, KafkaLookups, Lookups, kafka_client
from .simulator import Callers, SimConfig, SimReport, simulate


class BriefingLookups:
    """HTTP lookups that also ask /chat for the caller's brief at answer, as an agent's desktop would.

    Each found caller's "brief me" is counted ready when the worker says it answered from its brief
    cache (``X-Brief: ready``); made at answer, waited for, or failed counts not ready. The figure is
    the simulator's own calls only, whatever else the worker serves.
    """

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._lookups = HttpLookups(session, base_url)
        self._session = session
        self._base = base_url.rstrip("/")
        self.briefs_asked = 0
        self.briefs_ready = 0

    async def lookup(self, by: str, value: str, timeout_ms: int = 5000) -> LookupReply:
        """GET /v1/lookup (timed by the simulator), then POST /chat/invoke "brief me" for a found caller."""
        reply = await self._lookups.lookup(by, value, timeout_ms)
        if reply.customer is not None:
            body = {"input": {"question": "brief me", "lookup": {"by": by, "value": value}}}
            async with self._session.post(f"{self._base}/chat/invoke", json=body) as resp:
                await resp.read()
                self.briefs_asked += 1
                self.briefs_ready += resp.status == 200 and resp.headers.get("X-Brief") == "ready"
        return reply

    def brief_ratio(self) -> float | None:
        """Share of briefs asked for that were ready at answer (None before any was asked for)."""
        return round(self.briefs_ready / self.briefs_asked, 4) if self.briefs_asked else None


def _table(report: SimReport, brief_ratio: float | None = None) -> Table:
    data = report.as_dict()
    table = Table(title="warmline simulate", show_header=False)
    for name, value in (
        ("calls started", data["calls_started"]),
        ("answered", data["answered"]),
        ("warm at answer (L1)", data["warm_at_answer_ratio"]),
        ("warm at answer, queued calls", data["queued_warm_ratio"]),
        ("brief ready at answer", brief_ratio if brief_ratio is not None else "n/a (HTTP only)"),
        ("tiers", data["tiers"]),
        ("lookup p50 / p99 ms", f"{data['lookup_ms']['p50']} / {data['lookup_ms']['p99']}"),
    ):
        table.add_row(name, str(value))
    return table


async def run_simulation(settings: Settings, args: argparse.Namespace, console: Console) -> int:
    """Run the simulator with the CLI's arguments; print the final report."""
    if not is_current(settings.demo_db_path):
        console.print(f"[red]no demo directory at {settings.demo_db_path}: run `warmline demo-data` first[/]")
        return 2
    try:
        low, high = parse_latency_ms(args.wait)
    except ValueError as e:
        console.print(f"[red]--wait: {e}[/]")
        return 2
    config = SimConfig(args.rate, args.duration, args.unknown, (low, high), args.immediate)
    callers = Callers(sample_contacts(settings.demo_db_path, "phone", args.callers), config)
    producer = AIOKafkaProducer(**kafka_connection(settings).kwargs(), linger_ms=2)
    await producer.start()
    try:
        with Live(_table(SimReport()), console=console, refresh_per_second=2) as live:

            def update(report: SimReport) -> None:
                live.update(_table(report))

            brief_ratio = None
            if args.http:
                async with aiohttp.ClientSession() as session:
                    briefing = BriefingLookups(session, args.http)
                    lookups: Lookups = briefing

                    def update_with_briefs(report: SimReport) -> None:
                        live.update(_table(report, briefing.brief_ratio()))

                    report = await simulate(
                        config, producer, settings.topic_call_started, lookups, callers, update_with_briefs
                    )
                    brief_ratio = briefing.brief_ratio()
            else:
                async with kafka_client(settings) as client:
                    report = await simulate(
                        config, producer, settings.topic_call_started, KafkaLookups(client), callers, update
                    )
            live.update(_table(report, brief_ratio))
    finally:
        await producer.stop()
    console.print()
    console.print({**report.as_dict(), "brief_ready_at_answer_ratio": brief_ratio})
    return 0
