"""The composition root: builds everything a worker holds from Settings, wires agents and routes, closes it all."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import mode
import redis.asyncio as redis

from . import agents, http
from .agents.dlq import DeadLetterProducer
from .agents.kafka_io import HandlerPool
from .cache import CachePolicy, CacheStats, RedisL2, TableL1, TieredCache
from .cache.redis_client import RedisConfig, close_redis, parse_sentinels, redacted
from .http.context import WebContext
from .http.events import TwilioSignature
from .llm.briefs import BriefService
from .llm.chat import CallerChat
from .llm.chat_model import load_chat_model
from .llm.tracing import Tracer, build_tracer
from .logs import quiet_malformed_requests
from .lookups import LookupService
from .metrics import Metrics
from .models import CacheEntry, Customer, LookupKey
from .platforms import load_mappings
from .platforms.ingress import PlatformIngress
from .platforms.registry import call_registry
from .prewarm.scheduler import VipRunner
from .prewarm.vip_lists import VipWatcher
from .prewarm.warm_at_answer import WarmthTracker
from .resilience import BreakerState, redis_breaker, source_breaker
from .settings import Settings
from .sources import Priority, Source, SourceResult, build_source
from .sources.gate import SourceGate
from .stream.app import L1_TABLE, StreamApp, build_app
from .stream.backlog import MAX_PRODUCE_BACKLOG, ProduceBacklog, producer_buffered
from .stream.internals import require as require_internals
from .stream.lanes import INVALIDATION, LOOKUPS, WARMING, Lanes, LanesWatch
from .stream.lookup_lane import lookup_lane_for
from .stream.ownership import Ownership
from .stream.security import kafka_connection
from .stream.topics import TopicPlan
from .stream.transport import consumer_lag_of, oldest_unacked_of
from .stream.unacked import UnackedWatch

logger = logging.getLogger(__name__)

#: How often expired L1 entries are dropped (reads already skip them).
L1_SWEEP_INTERVAL_S = 30.0
#: How often records unacked for long are looked for (stream/unacked.py).
UNACKED_CHECK_INTERVAL_S = 15.0


class LazySession:
    """The worker's one pooled aiohttp session, created on first use (inside the running loop)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def __call__(self) -> aiohttp.ClientSession:
        """The session (opened now if needed)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=256, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def aclose(self) -> None:
        """Close the session if one was opened."""
        if self._session is not None:
            await self._session.close()


@dataclass
class Runtime:
    """The long-lived objects of one worker."""

    settings: Settings
    metrics: Metrics
    source: Source
    gate: SourceGate
    l1: TableL1
    l2: RedisL2 | None
    cache: TieredCache
    lookups: LookupService
    warmth: WarmthTracker
    vip: VipWatcher
    redis_client: redis.Redis | None = None
    sessions: LazySession = field(default_factory=LazySession, repr=False)
    tracer: Tracer = field(default_factory=Tracer, repr=False)
    briefs: BriefService | None = field(default=None, repr=False)
    chat: CallerChat | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls, settings: Settings, l1_mapping: MutableMapping[str, CacheEntry | None], source: Source | None = None
    ) -> Runtime:
        """Wire everything for *settings*; nothing connects until first use."""
        metrics = Metrics()

        def on_breaker(name: str, state: BreakerState) -> None:
            metrics.breaker_state.labels(name).set(1 if state is BreakerState.OPEN else 0)
            logger.warning("circuit %s is now %s", name, state.value)

        sessions = LazySession()
        source = source or build_source(settings, sessions)
        gate = SourceGate(
            source,
            concurrency=settings.source_concurrency,
            timeout_s=settings.source_timeout_ms / 1000,
            breaker=source_breaker(source.name, on_breaker),
            metrics=metrics,
        )
        redis_client = None
        l2 = None
        if settings.redis_url:
            redis_client = redis_config(settings).client()
            l2 = RedisL2(
                redis_client,
                prefix=settings.redis_prefix,
                op_timeout_s=settings.redis_timeout_ms / 1000,
                breaker=redis_breaker(on_breaker),
            )
        else:
            logger.warning("WARMLINE_REDIS_URL is empty: running WITHOUT the L2 (Redis) tier")
        policy = CachePolicy(
            l1_ttl_s=settings.l1_ttl_s,
            l2_ttl_s=settings.l2_ttl_s,
            negative_ttl_s=settings.negative_ttl_s,
            max_stale_s=settings.max_stale_s,
            jitter=settings.ttl_jitter,
        )
        l1 = TableL1(l1_mapping, settings.l1_max_entries, getattr(l1_mapping, "data", None))

        async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
            return await gate.lookup(key, priority)

        stats = CacheStats()
        metrics.export_cache_events(stats.counts)
        cache = TieredCache(l1, l2, fetch, policy, stats=stats)
        warmth = WarmthTracker(metrics=metrics)
        tracer = build_tracer(settings, worker=f"{settings.web_host}:{settings.web_port}")
        lookups = LookupService(
            cache,
            region=settings.default_region,
            default_timeout_ms=settings.source_timeout_ms + 1000,
            metrics=metrics,
            warmth=warmth,
            source_stats=gate.stats,
            tracer=tracer if tracer.enabled else None,
        )
        vip = VipWatcher(settings.vip_file, settings.default_region, ZoneInfo(settings.vip_timezone))
        model = load_chat_model(settings.chat_model)  # raises SettingsError naming a missing package
        briefs = BriefService(
            cache,
            max_per_s=settings.brief_max_per_s,
            max_in_flight=settings.brief_concurrency,
            model=model,
            redis=redis_client,
            prefix=settings.redis_prefix,
            ttl_s=settings.l2_ttl_s,
            tracer=tracer,
        )
        chat = CallerChat(lookups, model=model, model_name=settings.chat_model, briefs=briefs, tracer=tracer)
        return cls(
            settings,
            metrics,
            source,
            gate,
            l1,
            l2,
            cache,
            lookups,
            warmth,
            vip,
            redis_client,
            sessions,
            tracer,
            briefs,
            chat,
        )

    def web_context(self, vip: VipRunner) -> WebContext:
        """What the HTTP views get: the use case and a few settings, never the cache tiers."""
        s = self.settings
        return WebContext(
            lookups=self.lookups,
            metrics=self.metrics,
            vip=vip,
            sessions=self.sessions,
            region=s.default_region,
            admin_token=s.admin_token,
            api_tokens=s.api_token_list,
            source_name=s.source,
            web_port=s.web_port,
            chat=self.chat,
            briefs=self.briefs,
        )

    async def check_redis(self) -> bool:
        """Say plainly at start-up whether L2 is usable; warmline runs either way."""
        if self.l2 is None:
            return False
        try:
            await self.l2.ping()
        except Exception as e:  # noqa: BLE001  # any failure means "no L2 now"; the breaker retries later
            logger.warning(
                "Redis at %s is unreachable (%s): serving without L2 until it answers",
                redacted(self.settings.redis_url),
                redis_config(self.settings).scrub(str(e)),
            )
            return False
        return True

    async def aclose(self) -> None:
        """Close in reverse order of building."""
        if self.briefs is not None:
            await self.briefs.aclose()
        await self.cache.aclose()
        await self.sessions.aclose()
        if self.redis_client is not None:
            await close_redis(self.redis_client)
        await self.source.aclose()
        await self.tracer.aclose(self.settings.trace_flush_s)  # bounded: a hung endpoint never holds up exit


def redis_config(settings: Settings) -> RedisConfig:
    """L2's Redis as WARMLINE_REDIS_* describe it."""
    return RedisConfig(
        url=settings.redis_url,
        mode=settings.redis_mode,
        sentinels=parse_sentinels(settings.redis_sentinels),
        sentinel_master=settings.redis_sentinel_master,
        ssl_ca_file=str(settings.redis_ssl_ca_file) if settings.redis_ssl_ca_file else None,
        ssl_cert_file=str(settings.redis_ssl_cert_file) if settings.redis_ssl_cert_file else None,
        ssl_key_file=str(settings.redis_ssl_key_file) if settings.redis_ssl_key_file else None,
        password=settings.redis_password.get_secret_value() if settings.redis_password else None,
    )


async def preflight(settings: Settings) -> None:
    """Check the source before a worker starts: the demo directory exists; Tilores knows our names.

    Raises SourceError (TiloresConfigError for names the schema lacks); network trouble is
    SourceUnavailable, which a caller may choose to tolerate.
    """
    sessions = LazySession()
    source = build_source(settings, sessions)
    try:
        await source.ping()
    finally:
        await source.aclose()
        await sessions.aclose()


class RuntimeLifecycle(mode.Service):
    """Opens what must be checked at start and closes the runtime when the worker stops."""

    def __init__(self, runtime: Runtime, pool: HandlerPool, vip: VipRunner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        self.pool = pool
        self.vip = vip

    async def on_start(self) -> None:
        """Report whether Redis answers (warmline runs without it)."""
        await self.runtime.check_redis()

    async def on_stop(self) -> None:
        """Close the runtime (the handlers were drained before the consumer stopped)."""
        await self.vip.aclose()
        await self.runtime.aclose()


@dataclass(frozen=True)
class Worker:
    """A fully wired worker app."""

    stream: StreamApp
    runtime: Runtime

    @property
    def app(self) -> Any:
        """The faust.App to run."""
        return self.stream.app


def build_lanes(stream: StreamApp, produce_backlog: Callable[[], int]) -> Lanes:
    """The input topics by lane; warming yields to the lookups lane (``stream/lanes.py``)."""
    topics = stream.topics

    def names(routed: Any) -> tuple[str, str]:
        return routed.source.get_topic_name(), routed.repartition.get_topic_name()

    lanes = {
        LOOKUPS: names(topics.lookup_request),
        WARMING: names(topics.call_started),
        INVALIDATION: names(topics.customer_changed),
    }
    return Lanes(lanes, lambda wanted: consumer_lag_of(stream.app, wanted), produce_backlog=produce_backlog)


def build_worker(settings: Settings, source: Source | None = None) -> Worker:
    """Wire App + Runtime + agents + routes for *settings*."""
    require_internals()  # an upgraded Faust/aiokafka without what delivery relies on: refuse to start
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    quiet_malformed_requests()  # aiohttp would log the raw bytes of a refused request, tokens included
    stream = build_app(settings)
    runtime = Runtime.build(settings, stream.l1_table, source)
    # One bound for every producer of records (agents' replies and re-keying, L1 writes from views).
    backlog = ProduceBacklog(MAX_PRODUCE_BACKLOG, lambda: producer_buffered(stream.app))
    lanes = build_lanes(stream, lambda: len(backlog))  # its lag is exported either way
    if settings.lookups_first:
        stream.app.lanes = lanes  # read by the consumer and by the call-started agents registered below
    stream.app.lookup_lane = lookup_lane_for(settings, kafka_connection(settings), lanes.lookup_topics)
    ownership = Ownership(stream.app)
    vip = VipRunner(runtime.cache, runtime.vip, ownership, concurrency=settings.prewarm_concurrency)
    dlq_producer = DeadLetterProducer(kafka_connection(settings))
    briefs = runtime.briefs

    async def brief_ready(customer: Customer) -> bool:
        return briefs is not None and await briefs.cached(customer) is not None

    platforms = PlatformIngress(
        load_mappings(settings.event_mapping_files),  # a bad file: MappingError, one line, exit 2
        call_registry(runtime.redis_client, settings.redis_prefix),
        settings.default_region,
        brief_ready if briefs is not None else None,
    )
    pool = agents.register_all(
        stream,
        runtime.lookups,
        runtime.metrics,
        ownership,
        TopicPlan.of(settings, L1_TABLE),
        call_max_age_s=settings.call_max_age_s,
        vip=vip if settings.vip_file is not None else None,
        on_warm=runtime.briefs.schedule if runtime.briefs is not None else None,
        backlog=backlog,
        dlq_producer=dlq_producer,
        platforms=platforms,
    )
    twilio_token = settings.twilio.auth_token
    twilio = TwilioSignature(twilio_token, settings.public_url) if twilio_token is not None else None
    http.register(stream.app, replace(runtime.web_context(vip), backlog=backlog, platforms=platforms, twilio=twilio))
    stream.app.add_dependency(RuntimeLifecycle(runtime, pool, vip))
    if settings.lookups_first:
        stream.app.add_dependency(LanesWatch(lanes))
    runtime.metrics.export_lanes(lanes.lag)
    runtime.metrics.export_counts(
        "warmline_warming_yields",
        "Times warming began to yield, by why (late_loop, lookups_waiting, produce_backlog), "
        "and slices it was given while the reason lasted (sliced).",
        "event",
        lambda: lanes.counts,
    )

    async def drain_handlers() -> None:
        # SIGTERM: stop taking events; what is not done within the grace stays unacked for the next owner.
        await pool.drain(settings.shutdown_grace_s)
        await dlq_producer.stop()  # delivers the queued dead letters, so their events are acked before the commit

    stream.app.before_stop.append(drain_handlers)

    @stream.app.timer(L1_SWEEP_INTERVAL_S, name="warmline.l1_sweep")  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def l1_sweep() -> None:
        removed = runtime.l1.sweep(time.time(), runtime.cache.policy.max_stale_s)
        runtime.metrics.l1_entries.set(len(runtime.l1))
        if removed:
            logger.info("L1 sweep removed %d expired entries", removed)

    unacked = UnackedWatch(lambda: oldest_unacked_of(stream.app))
    runtime.metrics.export_gauges(
        "warmline_oldest_unacked_seconds",
        "Seconds the oldest record handed to a stream and not acked has waited, by input topic (it holds the commit).",
        "topic",
        unacked.ages_by_topic,
    )

    @stream.app.timer(UNACKED_CHECK_INTERVAL_S, name="warmline.unacked")  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def report_unacked() -> None:
        unacked.report_stuck()

    @stream.app.on_rebalance_complete.connect  # type: ignore[arg-type]  # mode's signature wants a keyword-only `signal`
    async def adopt_recovered(sender: Any, **kwargs: Any) -> None:
        mine = ownership.owned()
        dropped = runtime.l1.retain_owned(lambda key: ownership.partition_of(key) in mine)
        adopted = runtime.l1.adopt_recovered()
        if adopted or dropped:
            logger.info("L1 after rebalance: adopted %d recovered entries, dropped %d moved away", adopted, dropped)
        vip.on_rebalanced()

    return Worker(stream, runtime)
