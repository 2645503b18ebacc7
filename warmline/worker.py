"""What a worker holds: the Runtime, the Worker, and the one ordered list of its start and stop steps.

``bootstrap.py`` builds them; this module only says what they are and in which order they open
and close.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import mode
import redis.asyncio as redis

from .cache import L2, TableL1, TieredCache
from .llm.briefs import BriefService
from .llm.chat import CallerChat
from .llm.tracing import Tracer
from .lookups import LookupService
from .loop_turns import LoopTurns
from .metrics import Metrics
from .models import CacheEntry
from .prewarm.vip_lists import VipWatcher
from .prewarm.warm_at_answer import WarmthTracker
from .settings import Settings
from .sources import Source
from .sources.gate import SourceGate
from .stream.app import StreamApp

logger = logging.getLogger(__name__)

L1Mapping = MutableMapping[str, CacheEntry | None]


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


@dataclass(frozen=True, slots=True)
class Step:
    """One thing a worker opens at start and closes at stop; either may be None."""

    name: str
    start: Callable[[], Awaitable[object]] | None = None
    stop: Callable[[], Awaitable[object]] | None = None


#: Faust's own services (consumer, producer, web server, agents, tables) as one entry of the list:
#: steps before it start before them and stop after them (the consumer stopped, the producer
#: flushed); steps after it stop first, while the consumer and producer still run.
STREAM = Step("stream")


async def start_steps(steps: Sequence[Step]) -> None:
    """Start *steps* in order."""
    for step in steps:
        if step.start is not None:
            await step.start()


async def stop_steps(steps: Sequence[Step]) -> None:
    """Stop *steps* in reverse order."""
    for step in reversed(steps):
        if step.stop is not None:
            await step.stop()


@dataclass(kw_only=True)
class Runtime:
    """The long-lived objects of one worker, and the steps that open and close them."""

    settings: Settings
    metrics: Metrics
    source: Source
    gate: SourceGate
    l1: TableL1
    cache: TieredCache
    lookups: LookupService
    warmth: WarmthTracker
    vip: VipWatcher
    sessions: LazySession
    tracer: Tracer
    briefs: BriefService
    chat: CallerChat
    clock: Callable[[], float]
    """Wall-clock seconds: cache entries' ages and the L1 sweep."""
    redis_client: redis.Redis | None = None
    turns: LoopTurns | None = None
    """Warm work's turns on the event loop (warmline/loop_turns.py); None: unbounded."""
    steps: list[Step] = field(default_factory=list, repr=False)
    """Start in order, stop in reverse; a Worker runs them around Faust's (its STREAM step)."""

    @property
    def l2(self) -> L2 | None:
        """The shared tier, if there is one."""
        return self.cache.l2

    async def start(self) -> None:
        """Open what the steps open (for a runtime used without a worker: tests, benchmarks)."""
        await start_steps(self.steps)

    async def aclose(self) -> None:
        """Close in reverse order of building."""
        await stop_steps(self.steps)


class Lifecycle(mode.Service):
    """Runs a worker's ordered steps around Faust's own services (the STREAM step)."""

    def __init__(self, steps: Sequence[Step], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        at = list(steps).index(STREAM)
        self.outer, self.inner = tuple(steps[:at]), tuple(steps[at + 1 :])
        if any(step.start is not None for step in self.inner):
            raise ValueError("a step after STREAM only stops: Faust starts its services after this one")

    def attach(self, app: Any) -> None:
        """Run the outer steps as the app's first dependency, the inner ones first when it stops."""
        app.add_dependency(self)  # before Faust's own: started first, stopped last
        app.before_stop.append(self.stop_inner)

    async def on_start(self) -> None:
        """Start the steps before STREAM, in order."""
        await start_steps(self.outer)

    async def stop_inner(self) -> None:
        """Stop the steps after STREAM (the app calls it before stopping its consumer)."""
        await stop_steps(self.inner)

    async def on_stop(self) -> None:
        """Stop the steps before STREAM, in reverse (Faust's services are stopped by now)."""
        await stop_steps(self.outer)


@dataclass(frozen=True)
class Worker:
    """A fully wired worker app."""

    stream: StreamApp
    runtime: Runtime
    steps: tuple[Step, ...] = ()
    """The worker's whole start/stop list, STREAM included."""

    @property
    def app(self) -> Any:
        """The faust.App to run."""
        return self.stream.app
