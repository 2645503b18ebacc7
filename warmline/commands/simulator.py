"""`warmline simulate`: call-center traffic — calls arrive, wait in a queue, then an agent looks the caller up."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from ..cache.stats import percentile, to_ms
from ..models import normalize
from .remote import Lookups


@dataclass(frozen=True)
class SimConfig:
    """The traffic to generate."""

    rate: float = 5.0
    """Mean call arrivals per second (Poisson)."""
    duration_s: float = 60.0
    unknown_share: float = 0.05
    """Share of callers whose number is in no directory."""
    wait_s: tuple[float, float] = (5.0, 120.0)
    """Queue wait range (uniform) before the agent answers."""
    immediate_share: float = 0.1
    """Share of calls answered at once (no queue)."""
    zipf_s: float = 1.1
    """Repeat-caller skew: caller of rank k calls with weight 1/k^s."""
    seed: int = 42


@dataclass
class SimReport:
    """What happened at answer time."""

    started: int = 0
    answered: int = 0
    tiers: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    queued_warm: int = 0
    queued: int = 0
    latencies_s: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "calls_started": self.started,
            "answered": self.answered,
            "warm_at_answer_ratio": round(self.tiers["l1"] / self.answered, 4) if self.answered else None,
            "queued_warm_ratio": round(self.queued_warm / self.queued, 4) if self.queued else None,
            "tiers": dict(self.tiers),
            "statuses": dict(self.statuses),
            "lookup_ms": {q: to_ms(percentile(self.latencies_s, v)) for q, v in (("p50", 0.5), ("p99", 0.99))},
        }


class Callers:
    """Who calls: Zipf-distributed repeat callers from the directory, plus unknown numbers."""

    def __init__(self, known: Sequence[str], config: SimConfig) -> None:
        self._known = list(known)
        self._rng = random.Random(config.seed)
        self._unknown_share = config.unknown_share
        weights = [1 / (rank**config.zipf_s) for rank in range(1, len(self._known) + 1)]
        self._cum = list(itertools.accumulate(weights))

    def pick(self) -> str:
        """A caller's number."""
        if not self._known or self._rng.random() < self._unknown_share:
            return f"+1{self._rng.choice(['202', '312', '415'])}555{self._rng.randint(0, 9999):04d}"  # 555: fictional
        return self._rng.choices(self._known, cum_weights=self._cum)[0]


async def simulate(
    config: SimConfig,
    producer: AIOKafkaProducer,
    call_started_topic: str,
    lookups: Lookups,
    callers: Callers,
    on_update: Callable[[SimReport], None] | None = None,
) -> SimReport:
    """Run the traffic for *config.duration_s*, then wait for every queued call to be answered."""
    rng = random.Random(config.seed + 1)
    report = SimReport()

    async def one_call(n: int) -> None:
        phone = callers.pick()
        event = {"call_id": f"sim-{n}", "caller": phone, "queue": "sim", "started_at": datetime.now(UTC).isoformat()}
        await producer.send(call_started_topic, orjson.dumps(event), key=str(normalize("phone", phone)).encode())
        report.started += 1
        queued = rng.random() >= config.immediate_share
        await asyncio.sleep(rng.uniform(*config.wait_s) if queued else 0.0)
        t0 = time.perf_counter()
        reply = await lookups.lookup("phone", phone)
        report.latencies_s.append(time.perf_counter() - t0)
        report.answered += 1
        report.tiers[reply.source.value if reply.source else "none"] += 1
        report.statuses[reply.status.value] += 1
        if queued:
            report.queued += 1
            report.queued_warm += reply.source is not None and reply.source.value == "l1"

    await run_arrivals(config, rng, one_call, lambda: on_update(report) if on_update is not None else None)
    return report


async def run_arrivals(
    config: SimConfig,
    rng: random.Random,
    one_call: Callable[[int], Coroutine[Any, Any, None]],
    tick: Callable[[], None],
) -> None:
    """Start *one_call(n)* at Poisson arrivals for *config.duration_s* and wait for them all; *tick* each second."""
    calls: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    next_update = started + 1.0
    n = 0
    while time.perf_counter() - started < config.duration_s:
        await asyncio.sleep(rng.expovariate(config.rate))
        calls.append(asyncio.create_task(one_call(n)))
        n += 1
        if time.perf_counter() >= next_update:
            tick()
            next_update += 1.0
    pending = set(calls)
    while pending:
        _, pending = await asyncio.wait(pending, timeout=1.0)
        tick()
    for task in calls:
        task.result()  # surface the first failure instead of hiding it
