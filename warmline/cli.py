"""The `warmline` command: argument parsing and progress display; the work lives in other modules."""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from .errors import SettingsError
from .settings import Settings, load_settings

console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as e:
        console.print(f"[red]{e}[/red]")
        raise SystemExit(2) from None


def _kafka_settings(settings: Settings | None = None) -> Settings:
    """Settings for a command that talks to Kafka: the broker must answer, and the embedded one gets its profile."""
    from .stream.broker import settings_for_broker

    tuned, _, _ = asyncio.run(settings_for_broker(settings or _settings()))
    return tuned


def _fail(message: str) -> int:
    """One red line and exit status 2: what failed and what to do, never a traceback."""
    console.print(f"[red]{message}[/red]", soft_wrap=True)  # one line, however wide the terminal
    return 2


def cmd_worker(args: argparse.Namespace) -> int:
    """Run one Faust worker configured from the environment."""
    from .bootstrap import bootstrap
    from .logs import logging_config

    settings = _settings()
    config = logging_config(settings.log_format, settings.log_level)  # None: Faust's console format
    if config is not None:  # JSON from the first line on: the start-up notes below are log records too
        logging.config.dictConfig(config)
    refusal = _check_source(settings)  # configuration first: it needs no broker
    if refusal is not None:
        return refusal
    settings = asyncio.run(_prepare_broker(settings))
    worker = bootstrap(settings)
    faust_worker(worker.app, settings.log_level, config).execute_from_commandline()
    return 0


def faust_worker(app: Any, log_level: str, config: dict[str, Any] | None) -> Any:
    """Faust's Worker for *app*, without its start-up spinner.

    At levels ≥ warning the spinner sets the root logger to DEBUG (so it can spin on every record):
    every library's debug call then builds a LogRecord the handler drops — measured at ~0.3 ms of
    CPU per warmed event. Without it the root logger keeps WARMLINE_LOG_LEVEL.
    """
    import faust

    runner = faust.Worker(app, loglevel=log_level, logging_config=config, quiet=config is not None)
    runner.spinner = None
    return runner


def _check_source(settings: Settings) -> int | None:
    """None when the source is usable (or Tilores is merely unreachable now), else the exit status."""
    from .bootstrap import preflight
    from .errors import SourceError, SourceUnavailable

    try:
        asyncio.run(preflight(settings))
    except SettingsError as e:
        return _fail(str(e))
    except SourceUnavailable as e:
        if settings.source == "demo":
            return _fail(str(e))
        _say(settings, f"{settings.source} is not reachable now ({e}); starting anyway")
    except SourceError as e:
        return _fail(f"{settings.source} source: {e}")
    return None


async def _prepare_broker(settings: Settings) -> Settings:
    """The broker's profile applied, and every topic the worker needs in place (missing ones created)."""
    from .stream.app import L1_TABLE
    from .stream.broker import settings_for_broker
    from .stream.security import kafka_connection
    from .stream.topics import TopicPlan, ensure_topics

    settings, facts, note = await settings_for_broker(settings)
    if note:
        _say(settings, note)
    plan = TopicPlan.of(settings, L1_TABLE)
    created = await ensure_topics(kafka_connection(settings), plan, facts)
    for topic in (t for t in plan.foreign if t in created):
        _say(settings, f"topic {topic} did not exist: created it with {settings.topic_partitions} partitions")
    return settings


def _say(settings: Settings, line: str) -> None:
    """A start-up note: a log record under JSON logs, else a console line."""
    if settings.log_format == "json":
        logging.getLogger("warmline.worker").info(line)
    else:
        console.print(line)


def cmd_demo_data(args: argparse.Namespace) -> int:
    """Write the deterministic demo directory."""
    from rich.progress import Progress

    from .sources.demo import generate, is_current

    path = Path(args.path) if args.path else _settings().demo_db_path
    if is_current(path) and not args.force:
        console.print(f"{path} exists (use --force to rewrite it)")
        return 0
    if args.count < 1:
        console.print("[red]--count must be at least 1[/red]")
        return 2
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("writing customers", total=args.count)
        generate(path, count=args.count, seed=args.seed, progress=lambda n: progress.advance(task, n))
    console.print(f"wrote {args.count:,} customers to {path}")
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    """Run the embedded stack: Tansu, demo data, one worker."""
    from .commands.dev import run_dev

    return run_dev(_settings(), broker_port=args.broker_port, console=console, verbose=args.verbose)


def cmd_lookup(args: argparse.Namespace) -> int:
    """One lookup over HTTP or Kafka; prints the LookupReply JSON."""
    from .commands.lookup import run_lookup

    by, value = next(
        (k, v) for k, v in (("phone", args.phone), ("email", args.email), ("customer_id", args.customer_id)) if v
    )
    settings = _settings() if args.http else _kafka_settings()
    return asyncio.run(run_lookup(settings, by, value, http=args.http, timeout_ms=args.timeout_ms))


def cmd_warm(args: argparse.Namespace) -> int:
    """Warm a key list or VIP file."""
    from .commands.warm import run_warm

    result = asyncio.run(
        run_warm(
            _settings() if args.http else _kafka_settings(),
            Path(args.file),
            http=args.http,
            concurrency=args.concurrency,
            console=console,
        )
    )
    return 0 if not result.get("failed") else 1


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay call-started events from a JSONL file, or re-warm from a topic since a time."""
    from .commands import replay

    settings = _settings() if args.http else _kafka_settings()
    if args.file:
        report = asyncio.run(replay.replay_file(settings, Path(args.file), speed=args.speed, console=console))
    else:
        since = _parse_since(args.since)
        report = asyncio.run(
            replay.replay_topic(
                settings, args.topic, since, http=args.http, concurrency=args.concurrency, console=console
            )
        )
    for line in report.skipped[:10]:
        console.print(f"[yellow]skipped[/] {line}")
    console.print(report.as_dict())
    return 0


def _parse_since(text: str | None) -> datetime:
    if not text:
        raise SystemExit("--topic needs --since (e.g. 2026-11-25T07:00)")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"--since {text!r} is not an ISO time such as 2026-11-25T07:00") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Drive call-center traffic and report the warm-at-answer ratio."""
    from .commands.simulate import run_simulation

    return asyncio.run(run_simulation(_kafka_settings(), args, console))


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmarks of a source checkout (they are not part of the installed package)."""
    import subprocess

    if not Path("benchmarks/__main__.py").exists():  # `python -m` finds it from the working directory
        console.print("[red]no benchmarks/ here: run `warmline bench` (or `make bench`) from a warmline checkout[/red]")
        return 2
    extra = (["--quick"] if args.quick else []) + (["--only", args.only] if args.only else [])
    return subprocess.call([sys.executable, "-m", "benchmarks", *extra])  # noqa: S603  # our own module


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `warmline`: one subcommand per ``cmd_*`` function, its arguments added below."""
    parser = argparse.ArgumentParser(prog="warmline", description="Pre-warmed caller lookups for call centers.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, fn: Callable[[argparse.Namespace], int], summary: str) -> argparse.ArgumentParser:
        subcommand = sub.add_parser(name, help=summary)
        subcommand.set_defaults(fn=fn)
        return subcommand

    command("worker", cmd_worker, "run a worker (configured by WARMLINE_* variables)")
    _dev_arguments(command("dev", cmd_dev, "run the embedded stack: Tansu broker, demo data, one worker"))
    _demo_data_arguments(command("demo-data", cmd_demo_data, "write the deterministic demo customer directory"))
    _lookup_arguments(command("lookup", cmd_lookup, "one lookup over Kafka (default) or HTTP"))
    _warm_arguments(
        command("warm", cmd_warm, "warm a key list (one kind:value per line) or a VIP file, with a progress bar")
    )
    _replay_arguments(
        command("replay", cmd_replay, "replay call-started events from a JSONL file, or re-warm from a topic")
    )
    _simulate_arguments(
        command("simulate", cmd_simulate, "call-center traffic: calls queue, then an agent looks the caller up")
    )
    _bench_arguments(command("bench", cmd_bench, "run the benchmarks (from a checkout; same as `make bench`)"))
    return parser


def _dev_arguments(dev: argparse.ArgumentParser) -> None:
    dev.add_argument(
        "--broker-port",
        type=int,
        default=9092,
        help="Tansu port (default 9092, where every command looks; 0: any free one)",
    )
    dev.add_argument(
        "--verbose",
        action="store_true",
        help="show the worker's whole output (Faust's start-up records too), not only <data dir>/worker.log",
    )


def _demo_data_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--count", type=int, default=100_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--path", help="output file (default: $WARMLINE_DATA_DIR/demo.sqlite3)")
    demo.add_argument("--force", action="store_true", help="rewrite an existing file")


def _lookup_arguments(lookup: argparse.ArgumentParser) -> None:
    which = lookup.add_mutually_exclusive_group(required=True)
    which.add_argument("--phone")
    which.add_argument("--email")
    which.add_argument("--customer-id")
    lookup.add_argument("--http", metavar="URL", help="use HTTP at URL (e.g. http://127.0.0.1:6066)")
    lookup.add_argument("--timeout-ms", type=int, default=5000)


def _warm_arguments(warm: argparse.ArgumentParser) -> None:
    warm.add_argument("file")
    warm.add_argument("--http", metavar="URL", help="use POST /v1/prewarm at URL (needs WARMLINE_ADMIN_TOKEN)")
    warm.add_argument("--concurrency", type=int, default=50, help="lookups in flight over Kafka")


def _replay_arguments(replay: argparse.ArgumentParser) -> None:
    source = replay.add_mutually_exclusive_group(required=True)
    source.add_argument("file", nargs="?", help="JSONL file of CallStarted events")
    source.add_argument("--topic", help="re-warm the callers of this topic's events (with --since)")
    replay.add_argument("--since", help="ISO time, e.g. 2026-11-25T07:00 (UTC unless it names a zone)")
    replay.add_argument(
        "--speed", type=float, help="keep the recorded gaps, N times faster (default: as fast as possible)"
    )
    replay.add_argument(
        "--http", metavar="URL", help="re-warm through POST /v1/prewarm at URL instead of Kafka lookups"
    )
    replay.add_argument("--concurrency", type=int, default=50)


def _simulate_arguments(sim: argparse.ArgumentParser) -> None:
    sim.add_argument("--rate", type=float, default=5.0, help="call arrivals per second (Poisson)")
    sim.add_argument("--duration", type=float, default=60.0, help="seconds of arrivals")
    sim.add_argument("--wait", default="5-120", help="queue wait range in seconds, e.g. 5-120")
    sim.add_argument("--immediate", type=float, default=0.1, help="share of calls answered at once")
    sim.add_argument("--unknown", type=float, default=0.05, help="share of callers not in the directory")
    sim.add_argument("--callers", type=int, default=5000, help="distinct known callers (Zipf repeat callers)")
    sim.add_argument("--http", metavar="URL", help="agents look up over HTTP at URL (default: Kafka)")
    sim.add_argument(
        "--platform",
        choices=["connect", "genesys", "twilio"],
        help="send that platform's own events (queued, answered, ended) instead; with --http, to its webhook",
    )
    sim.add_argument(
        "--stats",
        metavar="URL[,URL]",
        help="--platform: the workers whose /v1/stats count the answers (default: --http)",
    )
    sim.add_argument("--json", action="store_true", help="print the report as JSON only (for machines)")


def _bench_arguments(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("--quick", action="store_true", help="small samples: a smoke run, not figures to quote")
    bench.add_argument(
        "--only",
        choices=["serving", "interop", "warming", "batch", "tilores", "llm", "connectivity", "platforms", "peak"],
        help="run one suite",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `warmline` command."""
    import aiohttp
    from aiokafka.errors import KafkaConnectionError

    from .errors import WarmlineError

    args = build_parser().parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # Until a worker configures logging, aiokafka's connection warnings would reach stderr through
    # logging's last-resort handler; commands say what failed in one line of their own instead.
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    try:
        return int(args.fn(args))
    except KeyboardInterrupt:
        return 130
    except WarmlineError as e:  # BrokerUnreachable, TopicLayoutError, …: the message says what to do
        return _fail(str(e))
    except KafkaConnectionError as e:
        return _fail(f"lost the Kafka broker ({e}); is it still running? (`make run` starts one)")
    except aiohttp.ClientConnectorError as e:
        return _fail(f"no warmline worker answered at {e.host}:{e.port}; start one (`make run`) or pass --http URL")


if __name__ == "__main__":
    sys.exit(main())
