"""What warmline knows of a platform's call across its events: who is calling, when it queued, and
the events that arrived before the caller's number did.

Amazon Connect's EventBridge contact events (QUEUED, CONNECTED_TO_AGENT) carry no caller number:
only the contact flow's Lambda event does, and EventBridge delivers out of order. Any worker may
receive any of these events (a webhook, or its share of the call-started topic), so the state lives
in Redis (L2's), under the key prefix, with a TTL; a worker without Redis keeps it in memory, which
is enough for one worker.

An event without a number is *parked* under its call first and the call's state read after; an
event with the number records it first and takes what is parked after. Whatever the interleaving
of two workers, one of them sees both the number and the parked event (Redis runs commands one at
a time), so no parked event is left behind; both may forward it, and the owner counts a call's
answer once (``claim_answer``).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import RegistryUnavailable

#: How long a call's state is kept (a call queues and talks for minutes; this covers a long one).
CALL_STATE_TTL_S = 6 * 3600
#: Events parked under one call at most (a call has a handful of events; more is a loop upstream).
MAX_PARKED_PER_CALL = 32
#: Calls remembered by the in-memory registry; the oldest are forgotten first.
MAX_CALLS_IN_MEMORY = 100_000
#: Each Redis round trip's deadline; a platform's webhook deadline is seconds.
REDIS_OP_TIMEOUT_S = 0.5
#: ``note`` in one atomic step. KEYS: the call's state hash and parked list (one hash tag, so one
#: Cluster slot). ARGV: the TTL, the most parked events to take, then field/value pairs to set
#: unless set (the first value wins). Returns the state hash and, once the caller is known, what
#: was parked (taken, so it is forwarded once).
NOTE_SCRIPT = """
for i = 3, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
local state = redis.call('HGETALL', KEYS[1])
for i = 1, #state, 2 do
  if (state[i] == 'caller' or state[i] == 'customer_id') and state[i + 1] ~= '' then
    return {state, redis.call('LPOP', KEYS[2], ARGV[2])}
  end
end
return {state, false}
"""


@dataclass(frozen=True)
class CallState:
    """What the call's events have said so far (the first value of each wins)."""

    caller: str | None = None
    customer_id: str | None = None
    queued_at: float | None = None  # epoch seconds: the platform's time of the first queued event

    @property
    def identified(self) -> bool:
        """True once an event named the caller (number or customer id)."""
        return bool(self.caller or self.customer_id)


class CallRegistry(Protocol):
    """Per-call state shared by every worker (docs/platforms.md, "Events without a number")."""

    async def note(
        self, platform: str, call_id: str, *, caller: str | None, customer_id: str | None, queued_at: float | None
    ) -> tuple[CallState, list[bytes]]:
        """Record what one event says; the call's state, and its parked events if the caller is now known."""

    async def park(self, platform: str, call_id: str, event: bytes) -> None:
        """Keep *event* until an event of the same call names the caller."""

    async def unpark(self, platform: str, call_id: str, events: list[bytes]) -> None:
        """Put back *events* taken by ``note`` that could not be forwarded."""

    async def claim_answer(self, platform: str, call_id: str) -> bool:
        """True for the first answer of the call (a redelivery or a second pick-up is False)."""


@dataclass
class _Call:
    state: CallState = field(default_factory=CallState)
    parked: list[bytes] = field(default_factory=list)
    answered: bool = False
    touched: float = 0.0


class MemoryCallRegistry:
    """One worker's registry: enough for a single worker, or tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl_s: float = CALL_STATE_TTL_S) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._calls: OrderedDict[tuple[str, str], _Call] = OrderedDict()

    def _call(self, platform: str, call_id: str) -> _Call:
        now = self._clock()
        call = self._calls.get((platform, call_id))
        if call is None or now - call.touched > self._ttl_s:
            call = self._calls[(platform, call_id)] = _Call()
        call.touched = now
        self._calls.move_to_end((platform, call_id))
        while len(self._calls) > MAX_CALLS_IN_MEMORY:
            self._calls.popitem(last=False)
        return call

    async def note(
        self, platform: str, call_id: str, *, caller: str | None, customer_id: str | None, queued_at: float | None
    ) -> tuple[CallState, list[bytes]]:
        """See CallRegistry.note."""
        call = self._call(platform, call_id)
        s = call.state
        call.state = CallState(s.caller or caller, s.customer_id or customer_id, s.queued_at or queued_at)
        if not call.state.identified:
            return call.state, []
        parked, call.parked = call.parked, []
        return call.state, parked

    async def park(self, platform: str, call_id: str, event: bytes) -> None:
        """See CallRegistry.park."""
        parked = self._call(platform, call_id).parked
        if len(parked) < MAX_PARKED_PER_CALL:
            parked.append(event)

    async def unpark(self, platform: str, call_id: str, events: list[bytes]) -> None:
        """See CallRegistry.unpark."""
        for event in events:
            await self.park(platform, call_id, event)

    async def claim_answer(self, platform: str, call_id: str) -> bool:
        """See CallRegistry.claim_answer."""
        call = self._call(platform, call_id)
        first, call.answered = not call.answered, True
        return first


class RedisCallRegistry:
    """The registry in Redis: a hash, a list of parked events and an answer flag per call, with a TTL.

    The three keys of a call share a hash tag, so a Redis Cluster keeps them in one slot.
    """

    def __init__(self, client: Any, prefix: str, ttl_s: int = CALL_STATE_TTL_S) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._note = client.register_script(NOTE_SCRIPT)  # EVALSHA, loaded again after a NOSCRIPT

    def _key(self, platform: str, call_id: str, part: str) -> str:
        return f"{self._prefix}call:{{{platform}:{call_id}}}:{part}"

    async def _run(self, commands: Callable[[Any], None]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        commands(pipe)
        return list(await _guarded(pipe.execute()))

    async def note(
        self, platform: str, call_id: str, *, caller: str | None, customer_id: str | None, queued_at: float | None
    ) -> tuple[CallState, list[bytes]]:
        """See CallRegistry.note: one script, so one round trip and one reply to parse per event."""
        keys = [self._key(platform, call_id, "state"), self._key(platform, call_id, "parked")]
        args = [self._ttl_s, MAX_PARKED_PER_CALL, *_said(caller, customer_id, queued_at)]
        flat, taken = await _guarded(self._note(keys=keys, args=args))
        fields = {_text(k): _text(v) for k, v in zip(flat[::2], flat[1::2], strict=True)}
        state = CallState(fields.get("caller"), fields.get("customer_id"), _float(fields.get("queued_at")))
        return state, [bytes(e) for e in taken or ()]

    async def park(self, platform: str, call_id: str, event: bytes) -> None:
        """See CallRegistry.park."""
        key = self._key(platform, call_id, "parked")

        def write(pipe: Any) -> None:
            pipe.rpush(key, event)
            pipe.ltrim(key, 0, MAX_PARKED_PER_CALL - 1)
            pipe.expire(key, self._ttl_s)

        await self._run(write)

    async def unpark(self, platform: str, call_id: str, events: list[bytes]) -> None:
        """See CallRegistry.unpark."""
        for event in events:
            await self.park(platform, call_id, event)

    async def claim_answer(self, platform: str, call_id: str) -> bool:
        """See CallRegistry.claim_answer."""
        key = self._key(platform, call_id, "answered")
        (first,) = await self._run(lambda pipe: pipe.set(key, b"1", nx=True, ex=self._ttl_s))
        return bool(first)


def call_registry(redis_client: Any | None, prefix: str) -> CallRegistry:
    """L2's Redis when there is one (every worker shares it), else this worker's memory."""
    if redis_client is None:
        return MemoryCallRegistry()
    return RedisCallRegistry(redis_client, prefix)


async def _guarded(command: Awaitable[Any]) -> Any:
    """*command*'s reply within REDIS_OP_TIMEOUT_S; any Redis failure is RegistryUnavailable."""
    try:
        async with asyncio.timeout(REDIS_OP_TIMEOUT_S):
            return await command
    except Exception as e:  # noqa: BLE001  # any Redis failure: the caller decides (warm anyway, or retry)
        raise RegistryUnavailable(f"call registry (Redis): {type(e).__name__}: {e}") from None


def _said(caller: str | None, customer_id: str | None, queued_at: float | None) -> list[str]:
    """Field, value, field, value… for each field an event gives a value for (the script's ARGV tail)."""
    given = (("caller", caller), ("customer_id", customer_id), ("queued_at", queued_at))
    return [text for name, value in given if value is not None for text in (name, str(value))]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
