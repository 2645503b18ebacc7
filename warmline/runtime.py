"""Composition root: builds Redis, the source, the cache and the LookupService from Settings; owns closing."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import aiohttp
import redis.asyncio as redis

from .cache import CachePolicy, CacheStats, RedisL2, TableL1, TieredCache
from .llm.briefs import BriefService
from .llm.chat import CallerChat
from .llm.chat_model import load_chat_model
from .llm.tracing import Tracer, build_tracer
from .lookups import LookupService
from .metrics import Metrics
from .models import CacheEntry, LookupKey
from .prewarm.vip_lists import VipWatcher
from .prewarm.warm_at_answer import WarmthTracker
from .resilience import BreakerState, redis_breaker, source_breaker
from .settings import Settings
from .sources import Priority, Source, SourceResult, build_source
from .sources.gate import SourceGate

logger = logging.getLogger(__name__)


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
            redis_client = redis.from_url(settings.redis_url, socket_connect_timeout=0.5)
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

    @property
    def http(self) -> aiohttp.ClientSession:
        """The one pooled HTTP client session (peer forwarding, the Tilores API)."""
        return self.sessions()

    async def check_redis(self) -> bool:
        """Say plainly at start-up whether L2 is usable; warmline runs either way."""
        if self.l2 is None:
            return False
        try:
            await self.l2.ping()
        except Exception as e:  # noqa: BLE001  # any failure means "no L2 now"; the breaker retries later
            logger.warning(
                "Redis at %s is unreachable (%s): serving without L2 until it answers", self.settings.redis_url, e
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
            await self.redis_client.aclose()
        await self.source.aclose()
        await self.tracer.aclose(self.settings.trace_flush_s)  # bounded: a hung endpoint never holds up exit


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
