"""The one builder: bootstrap(settings) wires a whole worker; build_runtime() the part without Faust.

Keywords replace what tests and benchmarks fake (the source, L2, the tracer, the clock, the chat
model); everything else comes from Settings. Each builder below makes one part, and
``worker_steps`` is the one ordered list of what opens at start and closes at stop.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from . import agents, http
from .agents.dlq import DeadLetterProducer
from .agents.kafka_io import HandlerPool, HandlerPools, KafkaOutbox
from .cache import L2, CachePolicy, CacheStats, RedisL2, TableL1, TieredCache
from .cache.redis_client import RedisConfig, close_redis, parse_sentinels, redacted
from .gc_pauses import GcPauses
from .http.context import WebContext
from .http.events import TwilioSignature
from .http.routing import OwnerRouter
from .llm.briefs import BriefService
from .llm.chat import CallerChat
from .llm.chat_model import load_chat_model
from .llm.tracing import Tracer, build_tracer
from .logs import quiet_malformed_requests
from .lookups import LookupService
from .loop_turns import LoopTurns
from .metrics import Metrics
from .models import Customer, LookupKey
from .platforms import load_mappings
from .platforms.ingress import PlatformIngress
from .platforms.registry import call_registry
from .prewarm.bulk import WarmPolicy
from .prewarm.scheduler import VipRunner
from .prewarm.vip_lists import VipWatcher
from .prewarm.warm_at_answer import WarmthTracker
from .resilience import BreakerState, redis_breaker, source_breaker
from .settings import Settings
from .sources import Priority, Source, SourceResult, build_source
from .sources.gate import SourceGate
from .stream.app import L1_TABLE, StreamApp, build_app
from .stream.backlog import MAX_PRODUCE_BACKLOG, ProduceBacklog, producer_buffered
from .stream.changelog import ChangelogWriter, L1ChangelogWriter
from .stream.changelog_rdkafka import RdkafkaChangelogWriter, librdkafka_producer
from .stream.internals import require as require_internals
from .stream.lanes import INVALIDATION, LOOKUPS, WARMING, Lanes, LanesWatch
from .stream.lookup_lane import lookup_lane_for
from .stream.own_producer import OwnProducer
from .stream.ownership import Ownership, TableOwnership, owner_partition
from .stream.security import kafka_connection, rdkafka_producer_config
from .stream.topics import TopicPlan
from .stream.transport import consumer_lag_of, oldest_unacked_of
from .stream.unacked import UnackedWatch
from .worker import STREAM, L1Mapping, LazySession, Lifecycle, Runtime, Step, Worker

logger = logging.getLogger(__name__)

#: How often expired L1 entries are dropped (reads already skip them).
L1_SWEEP_INTERVAL_S = 30.0
#: How often records unacked for long are looked for (stream/unacked.py).
UNACKED_CHECK_INTERVAL_S = 15.0

OnBreaker = Callable[[str, BreakerState], None]


def bootstrap(
    settings: Settings,
    *,
    source: Source | None = None,
    l2: L2 | None = None,
    tracer: Tracer | None = None,
    clock: Callable[[], float] = time.time,
    chat_model: Any = None,
) -> Worker:
    """Build and wire a whole worker for *settings*: App, runtime, agents, routes, timers, start/stop steps."""
    require_internals()  # an upgraded Faust/aiokafka without what delivery relies on: refuse to start
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    quiet_malformed_requests()  # aiohttp would log the raw bytes of a refused request, tokens included
    stream = build_app(settings)
    runtime = build_runtime(
        settings, l1=stream.l1_table, source=source, l2=l2, tracer=tracer, clock=clock, chat_model=chat_model
    )
    writer = attach_changelog_writer(stream, settings, runtime) if settings.l1_changelog_writer else None
    # One bound for every producer of records (agents' replies and re-keying, L1 writes from views).
    backlog = ProduceBacklog(
        MAX_PRODUCE_BACKLOG, lambda: producer_buffered(stream.app) + (len(writer) if writer is not None else 0)
    )
    lanes = build_lanes(stream, lambda: len(backlog))  # its lag is exported either way
    if settings.lookups_first:
        stream.app.lanes = lanes  # read by the consumer and by the call-started agents registered below
    stream.app.loop_turns = runtime.turns  # the call-started agents take a turn per event too
    stream.app.lookup_lane = lookup_lane_for(settings, kafka_connection(settings), lanes.lookup_topics)
    ownership = TableOwnership(stream.app)
    vip = VipRunner(runtime.lookups, runtime.vip, ownership)
    platforms = build_platforms(settings, runtime)
    dlq = DeadLetterProducer(kafka_connection(settings))
    pools = HandlerPools(
        lookups=HandlerPool(agents.MAX_INFLIGHT_LOOKUPS), rest=HandlerPool(agents.MAX_INFLIGHT_HANDLERS)
    )
    outbox = KafkaOutbox(stream.app, TopicPlan.of(settings, L1_TABLE).dlq, runtime.metrics, backlog, dlq)
    wire_agents(stream, runtime, ownership, outbox, pools, vip, platforms)
    wire_http(stream, runtime, ownership, vip, backlog, platforms)
    wire_timers(stream, runtime, ownership, vip)
    export_lanes(runtime.metrics, lanes, runtime.turns)
    watch = LanesWatch(lanes) if settings.lookups_first else None
    pauses = (
        GcPauses(lambda: not lanes.lookups_waiting(), gen0_threshold=settings.gc_gen0_threshold)
        if settings.gc_freeze
        else None
    )
    steps = worker_steps(runtime, vip=vip, lanes=watch, gc_pauses=pauses, dlq=dlq, pools=pools)
    Lifecycle(steps).attach(stream.app)
    return Worker(stream, runtime, tuple(steps))


def worker_steps(
    runtime: Runtime,
    *,
    vip: VipRunner,
    lanes: LanesWatch | None,
    gc_pauses: GcPauses | None = None,
    dlq: DeadLetterProducer,
    pools: HandlerPools,
) -> list[Step]:
    """The worker's one ordered list: started in order, stopped in reverse.

    Stopping therefore goes: take no more events and give running handlers the grace
    (WARMLINE_SHUTDOWN_GRACE_S; the unfinished stay unacked for the next owner); deliver the
    queued dead letters, so their events are acked before the commit; Faust stops its consumer
    (committing what was acked) and flushes its producer; the collector is put back as it was;
    the lanes watch lets warming go; the VIP job is cancelled; then the runtime's own steps:
    briefs, cache, HTTP sessions, Redis, the source, and last the traces (bounded by
    WARMLINE_TRACE_FLUSH_S).
    """
    grace_s = runtime.settings.shutdown_grace_s
    return [
        *runtime.steps,
        Step("vip runner", stop=vip.aclose),
        *([Step("lanes watch", start=lanes.start, stop=lanes.stop)] if lanes is not None else []),
        *([Step("gc pauses", start=gc_pauses.start, stop=gc_pauses.stop)] if gc_pauses is not None else []),
        STREAM,
        Step("dead letters", stop=dlq.stop),
        Step("handlers", stop=functools.partial(pools.drain, grace_s)),
    ]


def build_runtime(
    settings: Settings,
    *,
    l1: L1Mapping | None = None,
    source: Source | None = None,
    l2: L2 | None = None,
    tracer: Tracer | None = None,
    clock: Callable[[], float] = time.time,
    chat_model: Any = None,
) -> Runtime:
    """Everything a worker holds but Faust (L1 over *l1*, else a dict); nothing connects until first use."""
    metrics, sessions = Metrics(), LazySession()
    on_breaker = breaker_reporter(metrics)
    source = source if source is not None else build_source(settings, sessions)
    gate = build_gate(settings, source, metrics, on_breaker)
    redis_client, redis_l2 = build_redis_l2(settings, on_breaker) if l2 is None else (None, None)
    table = build_l1(settings, l1 if l1 is not None else {})
    turns = LoopTurns(settings.warming_turn_ms / 1000) if settings.warming_turn_ms > 0 else None
    cache = build_cache(settings, table, l2 if l2 is not None else redis_l2, gate, metrics, clock, turns)
    tracer = tracer if tracer is not None else build_tracer(settings, worker=f"{settings.web_host}:{settings.web_port}")
    warmth = WarmthTracker(metrics=metrics)
    lookups = build_lookups(settings, cache, gate, metrics, warmth, tracer)
    briefs, chat = build_llm(settings, lookups, redis_client, tracer, chat_model)
    runtime = Runtime(
        settings=settings,
        metrics=metrics,
        source=source,
        gate=gate,
        l1=table,
        cache=cache,
        lookups=lookups,
        warmth=warmth,
        vip=VipWatcher(settings.vip_file, settings.default_region, ZoneInfo(settings.vip_timezone)),
        sessions=sessions,
        tracer=tracer,
        briefs=briefs,
        chat=chat,
        clock=clock,
        redis_client=redis_client,
        turns=turns,
    )
    runtime.steps = runtime_steps(runtime, redis_l2)
    return runtime


def runtime_steps(runtime: Runtime, redis_l2: RedisL2 | None) -> list[Step]:
    """The runtime's part of the list: closed in reverse, so the traces of everything else ship last."""
    settings, client = runtime.settings, runtime.redis_client
    steps = [
        Step("traces", stop=functools.partial(runtime.tracer.aclose, settings.trace_flush_s)),  # bounded
        Step("source", stop=runtime.source.aclose),
    ]
    if client is not None and redis_l2 is not None:
        steps.append(
            Step(
                "redis",
                start=functools.partial(check_redis, settings, redis_l2),
                stop=functools.partial(close_redis, client),
            )
        )
    return [
        *steps,
        Step("http sessions", stop=runtime.sessions.aclose),
        Step("cache", stop=runtime.cache.aclose),
        Step("briefs", stop=runtime.briefs.aclose),
    ]


def breaker_reporter(metrics: Metrics) -> OnBreaker:
    """What a breaker calls when it opens or closes: the gauge, and one warning line."""

    def on_breaker(name: str, state: BreakerState) -> None:
        metrics.breaker_state.labels(name).set(1 if state is BreakerState.OPEN else 0)
        logger.warning("circuit %s is now %s", name, state.value)

    return on_breaker


def build_gate(settings: Settings, source: Source, metrics: Metrics, on_breaker: OnBreaker) -> SourceGate:
    """The source behind its priorities, deadline and breaker."""
    return SourceGate(
        source,
        concurrency=settings.source_concurrency,
        timeout_s=settings.source_timeout_ms / 1000,
        breaker=source_breaker(source.name, on_breaker),
        metrics=metrics,
    )


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


def build_redis_l2(settings: Settings, on_breaker: OnBreaker) -> tuple[Any, RedisL2 | None]:
    """The Redis client and L2 over it; (None, None) when WARMLINE_REDIS_URL is empty."""
    if not settings.redis_url:
        logger.warning("WARMLINE_REDIS_URL is empty: running WITHOUT the L2 (Redis) tier")
        return None, None
    client = redis_config(settings).client()
    l2 = RedisL2(
        client,
        prefix=settings.redis_prefix,
        op_timeout_s=settings.redis_timeout_ms / 1000,
        breaker=redis_breaker(on_breaker),
    )
    return client, l2


async def check_redis(settings: Settings, l2: RedisL2) -> bool:
    """Say plainly at start-up whether L2 is usable; warmline runs either way."""
    try:
        await l2.ping()
    except Exception as e:  # noqa: BLE001  # any failure means "no L2 now"; the breaker retries later
        logger.warning(
            "Redis at %s is unreachable (%s): serving without L2 until it answers",
            redacted(settings.redis_url),
            redis_config(settings).scrub(str(e)),
        )
        return False
    return True


def build_l1(settings: Settings, mapping: L1Mapping) -> TableL1:
    """L1 over *mapping*: the Faust table in a worker (its local store is read directly), a dict elsewhere."""
    return TableL1(mapping, settings.l1_max_entries, getattr(mapping, "data", None))


def build_cache(
    settings: Settings,
    l1: TableL1,
    l2: L2 | None,
    gate: SourceGate,
    metrics: Metrics,
    clock: Callable[[], float],
    turns: LoopTurns | None = None,
) -> TieredCache:
    """The tiers (*l1*, *l2*) with the gate as the upstream fetch; warm work takes *turns* on the loop."""
    policy = CachePolicy(
        l1_ttl_s=settings.l1_ttl_s,
        l2_ttl_s=settings.l2_ttl_s,
        negative_ttl_s=settings.negative_ttl_s,
        max_stale_s=settings.max_stale_s,
        jitter=settings.ttl_jitter,
    )

    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await gate.lookup(key, priority)

    stats = CacheStats()
    metrics.export_cache_events(stats.counts)
    return TieredCache(l1, l2, fetch, policy, stats=stats, clock=clock, turns=turns)


def build_lookups(
    settings: Settings, cache: TieredCache, gate: SourceGate, metrics: Metrics, warmth: WarmthTracker, tracer: Tracer
) -> LookupService:
    """The use case every front end calls."""
    return LookupService(
        cache,
        region=settings.default_region,
        default_timeout_ms=settings.source_timeout_ms + 1000,
        metrics=metrics,
        warmth=warmth,
        source_stats=gate.stats,
        tracer=tracer if tracer.enabled else None,
        warm_policy=WarmPolicy(concurrency=settings.prewarm_concurrency),
    )


def build_llm(
    settings: Settings, lookups: LookupService, redis_client: Any, tracer: Tracer, model: Any
) -> tuple[BriefService, CallerChat]:
    """Caller briefs (cached per record version) and /chat over them; *model*, else WARMLINE_CHAT_MODEL's."""
    if model is None:
        model = load_chat_model(settings.chat_model)  # raises SettingsError naming a missing package
    briefs = BriefService(
        lookups,
        max_per_s=settings.brief_max_per_s,
        max_in_flight=settings.brief_concurrency,
        model=model,
        redis=redis_client,
        prefix=settings.redis_prefix,
        ttl_s=settings.l2_ttl_s,
        tracer=tracer,
    )
    chat = CallerChat(lookups, model=model, model_name=settings.chat_model, briefs=briefs, tracer=tracer)
    return briefs, chat


def build_platforms(settings: Settings, runtime: Runtime) -> PlatformIngress:
    """The platforms' event mappings (a bad file: MappingError, one line, exit 2) and the call registry."""
    briefs = runtime.briefs

    async def brief_ready(customer: Customer) -> bool:
        return await briefs.cached(customer) is not None

    return PlatformIngress(
        load_mappings(settings.event_mapping_files),
        call_registry(runtime.redis_client, settings.redis_prefix),
        settings.default_region,
        brief_ready,
    )


def _librdkafka_writer(settings: Settings, topic: str, owner: Callable[[str], int]) -> RdkafkaChangelogWriter | None:
    """The changelog writer through librdkafka, its producer made now (so librdkafka's refusal of a
    setting is found at start); None, with a line saying why, when Faust's producer must do."""
    config = rdkafka_producer_config(settings)
    if config is None:
        logger.info(
            "L1 changelog through Faust's producer: librdkafka cannot take SASL %s tokens from warmline",
            settings.kafka_sasl_mechanism,
        )
        return None
    try:
        producer = librdkafka_producer(config)
    except Exception as e:  # noqa: BLE001  # librdkafka refused a setting Python's clients took: keep working
        logger.warning("L1 changelog through Faust's producer: librdkafka refused the Kafka settings (%s)", e)
        return None
    return RdkafkaChangelogWriter(producer, topic, owner)


def attach_changelog_writer(stream: StreamApp, settings: Settings, runtime: Runtime) -> L1ChangelogWriter:
    """Give the L1 table a ChangelogWriter (its records then skip Faust's producer buffer), and count its records."""
    partitions = settings.topic_partitions
    topic = stream.l1_table.changelog_topic.get_topic_name()
    owner = functools.partial(owner_partition, partitions=partitions)
    rdkafka = _librdkafka_writer(settings, topic, owner) if settings.l1_changelog_producer == "librdkafka" else None
    writer: L1ChangelogWriter = (
        rdkafka
        if rdkafka is not None
        else ChangelogWriter(lambda: stream.app.producer.send, topic, owner, runtime.turns)
    )
    stream.l1_table.changelog_writer = writer
    runtime.metrics.export_counts(
        "warmline_l1_changelog_records",
        "L1 changelog records written (written), acknowledged by the broker (delivered), and refused by the "
        "producer or the broker or dropped at a stop (failed); a takeover's recovery misses a failed one "
        "(the entry is in L2), or brings back the entry a failed tombstone deleted.",
        "outcome",
        lambda: {"written": writer.written, "delivered": writer.delivered, "failed": writer.failed},
    )
    return writer


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


def wire_agents(
    stream: StreamApp,
    runtime: Runtime,
    ownership: Ownership,
    outbox: KafkaOutbox,
    pools: HandlerPools,
    vip: VipRunner,
    platforms: PlatformIngress,
) -> None:
    """Attach the Kafka agents and the VIP timer."""
    settings = runtime.settings
    agents.register_all(
        stream,
        runtime.lookups,
        runtime.metrics,
        ownership,
        TopicPlan.of(settings, L1_TABLE),
        outbox=outbox,
        pool=pools.rest,
        lookup_pool=pools.lookups,
        call_max_age_s=settings.call_max_age_s,
        vip=vip if settings.vip_file is not None else None,
        on_warm=runtime.briefs.schedule,
        platforms=platforms,
        warming_intake=settings.warming_intake,
    )


def wire_http(
    stream: StreamApp,
    runtime: Runtime,
    ownership: Ownership,
    vip: VipRunner,
    backlog: ProduceBacklog,
    platforms: PlatformIngress,
) -> None:
    """Attach the HTTP routes: what the views get is the use case and a few settings, never the cache tiers."""
    s = runtime.settings
    twilio_token = s.twilio.auth_token
    ctx = WebContext(
        lookups=runtime.lookups,
        metrics=runtime.metrics,
        vip=vip,
        sessions=runtime.sessions,
        region=s.default_region,
        admin_token=s.admin_token,
        api_tokens=s.api_token_list,
        source_name=s.source,
        web_port=s.web_port,
        ownership=ownership,
        chat=runtime.chat,
        briefs=runtime.briefs,
        backlog=backlog,
        platforms=platforms,
        events_producer=OwnProducer(kafka_connection(s)),  # the webhook's: batched (nothing reads its end offsets)
        twilio=TwilioSignature(twilio_token, s.public_url) if twilio_token is not None else None,
    )
    http.register(stream.app, ctx, OwnerRouter(stream.app, ownership))


def wire_timers(stream: StreamApp, runtime: Runtime, ownership: Ownership, vip: VipRunner) -> None:
    """The L1 sweep, the unacked-records report, and the L1 hand-over after each rebalance."""
    app, l1 = stream.app, runtime.l1
    unacked = UnackedWatch(lambda: oldest_unacked_of(app))
    runtime.metrics.export_gauges(
        "warmline_oldest_unacked_seconds",
        "Seconds the oldest record handed to a stream and not acked has waited, by input topic (it holds the commit).",
        "topic",
        unacked.ages_by_topic,
    )

    @app.timer(L1_SWEEP_INTERVAL_S, name="warmline.l1_sweep")  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def l1_sweep() -> None:
        removed = await l1.sweep(runtime.clock(), runtime.cache.policy.max_stale_s, owned=ownership.owns)
        runtime.metrics.l1_entries.set(len(l1))
        if removed:
            logger.info("L1 sweep removed %d expired entries", removed)

    @app.timer(UNACKED_CHECK_INTERVAL_S, name="warmline.unacked")  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def report_unacked() -> None:
        unacked.report_stuck()

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]  # mode's signature wants a keyword-only `signal`
    async def adopt_recovered(sender: Any, **kwargs: Any) -> None:
        mine = ownership.owned()
        dropped = l1.retain_owned(lambda key: ownership.partition_of(key) in mine)
        adopted = l1.adopt_recovered()
        if adopted or dropped:
            logger.info("L1 after rebalance: adopted %d recovered entries, dropped %d moved away", adopted, dropped)
        vip.on_rebalanced()


def export_lanes(metrics: Metrics, lanes: Lanes, turns: LoopTurns | None) -> None:
    """Each lane's lag, how often warming yielded and why, and how often warm work waited for a turn."""
    metrics.export_lanes(lanes.lag)
    metrics.export_counts(
        "warmline_warming_yields",
        "Times warming began to yield, by why (late_loop, lookups_waiting, produce_backlog), "
        "and slices it was given while the reason lasted (sliced).",
        "event",
        lambda: lanes.counts,
    )
    if turns is not None:
        metrics.export_counts(
            "warmline_warming_turns",
            "Steps of warm work that waited for a later turn of the event loop (waited), and of those the ones "
            "let go at once because a lookup joined their source call (expedited); warmline/loop_turns.py.",
            "event",
            lambda: {"waited": turns.waited, "expedited": turns.expedited},
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
