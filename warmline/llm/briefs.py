"""Caller briefs prepared before pick-up: cached by (customer, record version, prompt version).

The call-started agent calls ``briefs.schedule(key)`` once it has warmed the key. A background
task starts queued briefs in arrival order, at most WARMLINE_BRIEF_MAX_PER_S a second and at most
WARMLINE_BRIEF_CONCURRENCY at once (a model takes seconds per brief: one at a time, 2 s each,
would keep up with one call every 2 s only), getting each record through LookupService's one warm
path (origin ``brief``) at background priority, so live lookups go first. A changed record has
another version, so its old brief is never served; ``/chat`` "brief me" answers from this cache,
and joins a brief already being made.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..lookups import LookupService
from ..models import Customer, LookupKey
from ..prewarm.bulk import WarmOrigin, WarmOutcome, WarmPolicy
from ..sources.base import Priority
from .brief_text import PROMPT_VERSION, message_text, model_messages, template_brief
from .tracing import Tracer

logger = logging.getLogger(__name__)

MAX_BRIEFS = 10_000  # per worker: a brief is ~200 bytes
MAX_PENDING = 10_000
MODEL_DEADLINE_S = 30.0  # a brief the model has not written by then is not worth waiting for
#: One key at a time, retried on a retriable source error; the source gate's deadline per attempt.
BRIEF_WARM = WarmPolicy(concurrency=None, item_timeout_s=None)
BRIEF_PROMPT = "Brief me on this caller before I pick up: who they are, tier, status, language, tenure, open flags."


@dataclass(frozen=True, slots=True)
class Brief:
    """A prepared brief and what it was made from."""

    customer_id: str
    version: str
    text: str


def record_version(customer: Customer) -> str:
    """A short digest of the record (and the prompt version): any change makes a new brief."""
    digest = hashlib.blake2s(customer.model_dump_json().encode(), digest_size=8).hexdigest()
    return f"{digest}.{PROMPT_VERSION}"


class Pacer:
    """At most *rate* acquisitions per second, spaced evenly (clock and sleep injected for tests)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    async def acquire(self) -> None:
        """Wait for the next slot."""
        now = self._clock()
        if self._next > now:
            await self._sleep(self._next - now)
        self._next = max(now, self._next) + self._interval


class BriefService:
    """Prepares, caches and serves caller briefs (template, or the chat model when one is set)."""

    def __init__(
        self,
        lookups: LookupService,
        *,
        max_per_s: float = 20.0,
        max_in_flight: int = 64,
        model: Any = None,
        redis: Any = None,
        prefix: str = "warmline:v1:",
        ttl_s: float = 3600.0,
        tracer: Tracer | None = None,
        clock: Callable[[], float] = time.time,
        pacer: Pacer | None = None,
    ) -> None:
        self._lookups = lookups
        self._model = model
        self._redis = redis
        self._prefix = f"{prefix}brief:"
        self._ttl_s = ttl_s
        self._tracer = tracer or Tracer()
        self._clock = clock
        self._pacer = pacer or Pacer(max_per_s)
        self._briefs: OrderedDict[str, Brief] = OrderedDict()
        self._pending: OrderedDict[LookupKey, None] = OrderedDict()
        self._preparing: set[LookupKey] = set()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._workers: set[asyncio.Task[None]] = set()
        self._making: dict[tuple[str, str], asyncio.Task[Brief]] = {}  # (customer, version) → model call
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.counts = {
            "scheduled": 0,
            "dropped": 0,
            "prepared": 0,
            "failed": 0,
            "ready_at_answer": 0,
            "made_at_answer": 0,
        }

    # --- the call-started hook ------------------------------------------------------------------

    def schedule(self, key: LookupKey) -> None:
        """Prepare *key*'s brief in the background (never blocks; a full queue drops the request)."""
        if key in self._pending or key in self._preparing:
            return
        if len(self._pending) >= MAX_PENDING:
            self.counts["dropped"] += 1
            return
        self._pending[key] = None
        self.counts["scheduled"] += 1
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="warmline-briefs")

    async def idle(self) -> None:
        """Return once everything scheduled so far has been prepared (or failed)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._slots.acquire()  # released when that brief is done
                await self._pacer.acquire()
                key, _ = self._pending.popitem(last=False)
                self._preparing.add(key)
                worker = asyncio.get_running_loop().create_task(self._prepare(key), name="warmline-brief")
                self._workers.add(worker)
                worker.add_done_callback(self._prepared)
            self._check_idle()

    def _prepared(self, worker: asyncio.Task[None]) -> None:
        self._workers.discard(worker)
        self._slots.release()
        self._check_idle()

    def _check_idle(self) -> None:
        if not self._pending and not self._workers:
            self._idle.set()

    async def _prepare(self, key: LookupKey) -> None:
        try:
            job = await self._lookups.warm_many([key], Priority.BACKGROUND, origin=WarmOrigin.BRIEF, policy=BRIEF_WARM)
            (item,) = job.items
            if item is None or item.outcome is WarmOutcome.FAILED:
                self.counts["failed"] += 1
                logger.info("brief for %s not prepared: %s", key.redacted, item.error if item else "no record")
                return
            customer = item.customer
            if customer is not None and await self.cached(customer) is None:
                await self._made(customer)
                self.counts["prepared"] += 1
        except Exception:  # a model error must not end the loop: log it, go on with the next caller
            self.counts["failed"] += 1
            logger.exception("brief for %s failed", key.redacted)
        finally:
            self._preparing.discard(key)

    # --- serving ------------------------------------------------------------------------------

    async def serve(self, customer: Customer) -> tuple[Brief, bool]:
        """The brief for *customer* and whether it was ready (True) or had to be made or waited for."""
        found = await self.cached(customer)
        if found is not None:
            self.counts["ready_at_answer"] += 1
            return found, True
        self.counts["made_at_answer"] += 1
        return await self._made(customer), False

    async def cached(self, customer: Customer) -> Brief | None:
        """The prepared brief of this exact record version, from memory or Redis."""
        version = record_version(customer)
        local = self._briefs.get(customer.customer_id)
        if local is not None and local.version == version:
            self._briefs.move_to_end(customer.customer_id)
            return local
        if self._redis is None:
            return None
        text = None
        with contextlib.suppress(Exception):  # Redis never decides correctness: no brief is a miss
            async with asyncio.timeout(0.05):
                text = await self._redis.get(self._redis_key(customer.customer_id, version))
        if text is None:
            return None
        found = Brief(customer.customer_id, version, text.decode() if isinstance(text, bytes) else str(text))
        self._remember(found)
        return found

    def invalidate(self, customer_id: str) -> None:
        """Forget *customer_id*'s brief in this process (a new record version also never matches)."""
        self._briefs.pop(customer_id, None)

    async def _made(self, customer: Customer) -> Brief:
        """Make and store *customer*'s brief, or join the making already under way for that version."""
        slot = (customer.customer_id, record_version(customer))
        making = self._making.get(slot)
        if making is None:
            making = asyncio.get_running_loop().create_task(self._make_and_store(customer), name="warmline-brief-model")
            self._making[slot] = making
            making.add_done_callback(lambda done: self._forget_making(slot, done))
        # Shielded: a caller who hangs up must not cancel the brief others (and the cache) wait for.
        return await asyncio.shield(making)

    def _forget_making(self, slot: tuple[str, str], done: asyncio.Task[Brief]) -> None:
        self._making.pop(slot, None)
        if not done.cancelled():
            done.exception()  # retrieved here: whoever awaited it has seen it (or nobody was left to)

    async def _make_and_store(self, customer: Customer) -> Brief:
        made = await self._make(customer)
        await self._store(made)
        return made

    async def _make(self, customer: Customer) -> Brief:
        version = record_version(customer)
        if self._model is None:
            return Brief(customer.customer_id, version, template_brief(customer, self._clock()))
        from langsmith.run_helpers import tracing_context

        messages = model_messages(customer, BRIEF_PROMPT)
        inputs = {"messages": [{"role": r, "content": c} for r, c in messages]}
        with self._tracer.span("brief", "llm", inputs) as span, tracing_context(enabled=False):
            async with asyncio.timeout(MODEL_DEADLINE_S):
                reply = await self._model.ainvoke(messages)
            text = message_text(reply.content)
            if span is not None:
                span.outputs = {"text": text}
        return Brief(customer.customer_id, version, text)

    async def _store(self, brief: Brief) -> None:
        self._remember(brief)
        if self._redis is not None:
            with contextlib.suppress(Exception):  # best effort, like every L2 write
                async with asyncio.timeout(0.05):
                    key = self._redis_key(brief.customer_id, brief.version)
                    await self._redis.set(key, brief.text.encode(), ex=int(self._ttl_s))

    def _remember(self, brief: Brief) -> None:
        self._briefs[brief.customer_id] = brief
        self._briefs.move_to_end(brief.customer_id)
        while len(self._briefs) > MAX_BRIEFS:
            self._briefs.popitem(last=False)

    def _redis_key(self, customer_id: str, version: str) -> str:
        return f"{self._prefix}{customer_id}:{version}"

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready figures for /v1/stats: brief ready at answer beside warm at answer."""
        ready, made = self.counts["ready_at_answer"], self.counts["made_at_answer"]
        return {
            **self.counts,
            "pending": len(self._pending),
            "in_flight": len(self._workers),
            "cached": len(self._briefs),
            "ready_at_answer_ratio": round(ready / (ready + made), 4) if ready + made else None,
        }

    async def aclose(self) -> None:
        """Stop the background task and the briefs it started."""
        task, self._task = self._task, None
        tasks = [t for t in (task, *self._workers, *self._making.values()) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
