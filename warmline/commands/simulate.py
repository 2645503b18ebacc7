"""The `warmline simulate` front end: wiring from Settings and a live rich table."""

from __future__ import annotations

import argparse
import sys

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..models import LookupReply
from ..settings import Settings, parse_latency_ms
from ..sources.demo.generate import is_current, sample_contacts
from ..stream.security import kafka_connection
from .remote import HttpLookups, KafkaLookups, Lookups, kafka_client
from .simulate_platforms import KafkaSender, PlatformReport, Sender, WebhookSender, simulate_platform
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


def _platform_table(report: PlatformReport) -> Table:
    data = report.as_dict()
    table = Table(title=f"warmline simulate --platform {report.platform}", show_header=False)
    sent = data["events_sent"]
    for name, value in (
        ("calls", data["calls"]),
        ("events sent (queued / answered / ended)", f"{sent['queued']} / {sent['answered']} / {sent['ended']}"),
        ("refused", data["refused"]),
        ("answers counted by the workers", data["answered_counted"]),
        ("warm at answer (L1 / L2 / cold)", f"{data['warm']['l1']} / {data['warm']['l2']} / {data['warm']['cold']}"),
        ("warm at answer, of answered", data["warm_at_answer_ratio"]),
        ("warm at answer, of queued calls", data["warm_at_answer_of_queued"]),
        ("send p50 / p99 ms", f"{data['send_ms']['p50']} / {data['send_ms']['p99']}"),
    ):
        table.add_row(name, str(value))
    return table


class _Display:
    """The live table for people, or nothing until the JSON report (``--json``) for machines."""

    def __init__(self, console: Console, as_json: bool, first: Table) -> None:
        self._live = None if as_json else Live(first, console=console, refresh_per_second=2)

    def __enter__(self) -> _Display:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(self, table: Table) -> None:
        if self._live is not None:
            self._live.update(table)


def _config(args: argparse.Namespace, console: Console) -> SimConfig | None:
    try:
        low, high = parse_latency_ms(args.wait)
    except ValueError as e:
        console.print(f"[red]--wait: {e}[/]")
        return None
    return SimConfig(args.rate, args.duration, args.unknown, (low, high), args.immediate)


async def run_simulation(settings: Settings, args: argparse.Namespace, console: Console) -> int:
    """Run the simulator with the CLI's arguments; print the final report (a table, or JSON with --json)."""
    if not is_current(settings.demo_db_path):
        console.print(f"[red]no demo directory at {settings.demo_db_path}: run `warmline demo-data` first[/]")
        return 2
    config = _config(args, console)
    if config is None:
        return 2
    callers = Callers(sample_contacts(settings.demo_db_path, "phone", args.callers), config)
    as_json = bool(getattr(args, "json", False))
    if getattr(args, "platform", None):
        return await _run_platform(settings, args, console, config, callers, as_json)
    producer = AIOKafkaProducer(**kafka_connection(settings).kwargs(), linger_ms=2)
    await producer.start()
    try:
        with _Display(console, as_json, _table(SimReport())) as display:

            def update(report: SimReport) -> None:
                display.update(_table(report))

            brief_ratio = None
            if args.http:
                async with aiohttp.ClientSession() as session:
                    briefing = BriefingLookups(session, args.http)
                    lookups: Lookups = briefing

                    def update_with_briefs(report: SimReport) -> None:
                        display.update(_table(report, briefing.brief_ratio()))

                    report = await simulate(
                        config, producer, settings.topic_call_started, lookups, callers, update_with_briefs
                    )
                    brief_ratio = briefing.brief_ratio()
            else:
                async with kafka_client(settings) as client:
                    report = await simulate(
                        config, producer, settings.topic_call_started, KafkaLookups(client), callers, update
                    )
            display.update(_table(report, brief_ratio))
    finally:
        await producer.stop()
    if as_json:
        _print_json({**report.as_dict(), "brief_ready_at_answer_ratio": brief_ratio})
    return 0


async def _run_platform(
    settings: Settings,
    args: argparse.Namespace,
    console: Console,
    config: SimConfig,
    callers: Callers,
    as_json: bool,
) -> int:
    """The platform's own events, to the webhook (--http) or the call-started topic; answers read from /v1/stats."""
    platform = args.platform
    own_address = f"http://{settings.web_host}:{settings.web_port}"
    stats_urls = [u.strip() for u in (args.stats or args.http or own_address).split(",") if u.strip()]
    producer = None
    async with aiohttp.ClientSession() as session:
        sender: Sender
        if args.http:
            tokens = settings.api_token_list
            twilio = settings.twilio.auth_token
            sender = WebhookSender(
                session,
                args.http,
                api_token=tokens[0] if tokens else None,
                twilio_auth_token=twilio.get_secret_value() if twilio is not None else None,
                public_url=settings.public_url,
            )
        else:
            producer = AIOKafkaProducer(**kafka_connection(settings).kwargs(), linger_ms=0)
            await producer.start()
            sender = KafkaSender(producer, settings.topic_call_started)
        try:
            with _Display(console, as_json, _platform_table(PlatformReport(platform))) as display:
                report = await simulate_platform(
                    platform,
                    config,
                    sender,
                    callers,
                    session,
                    stats_urls,
                    lambda r: display.update(_platform_table(r)),
                )
                display.update(_platform_table(report))
        finally:
            if producer is not None:
                await producer.stop()
    if as_json:
        _print_json(report.as_dict())
    return 0 if report.refused == 0 else 1


def _print_json(report: dict[str, object]) -> None:
    # stdout itself, not the rich console: machines read it, and rich would wrap or colour it.
    sys.stdout.write(orjson.dumps(report).decode() + "\n")
    sys.stdout.flush()
