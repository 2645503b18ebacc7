"""The `warmline simulate` front end: wiring from Settings and a live rich table."""

from __future__ import annotations

import argparse

import aiohttp
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..settings import Settings, parse_latency_ms
from ..sources.demo.generate import is_current, sample_contacts
from .remote import HttpLookups, KafkaLookups, Lookups, kafka_client
from .simulator import Callers, SimConfig, SimReport, simulate


def _table(report: SimReport) -> Table:
    data = report.as_dict()
    table = Table(title="warmline simulate", show_header=False)
    for name, value in (
        ("calls started", data["calls_started"]),
        ("answered", data["answered"]),
        ("warm at answer (L1)", data["warm_at_answer_ratio"]),
        ("warm at answer, queued calls", data["queued_warm_ratio"]),
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
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker_servers, linger_ms=2)
    await producer.start()
    try:
        with Live(_table(SimReport()), console=console, refresh_per_second=2) as live:

            def update(report: SimReport) -> None:
                live.update(_table(report))

            if args.http:
                async with aiohttp.ClientSession() as session:
                    lookups: Lookups = HttpLookups(session, args.http)
                    report = await simulate(config, producer, settings.topic_call_started, lookups, callers, update)
            else:
                async with kafka_client(settings) as client:
                    report = await simulate(
                        config, producer, settings.topic_call_started, KafkaLookups(client), callers, update
                    )
            live.update(_table(report))
    finally:
        await producer.stop()
    console.print()
    console.print(report.as_dict())
    return 0
