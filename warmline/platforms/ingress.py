"""One path for a platform's events, whichever way they came in (the call-started topic or a webhook):
recognise them, match those without a number to their call, and say what goes to the caller's owner."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from ..errors import InvalidMessage, RegistryUnavailable
from ..models import Customer
from .calls import CallAnswered, as_call_started, to_warm
from .mapping import CallEventKind, Mappings, PlatformCall
from .registry import CallRegistry, CallState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dispatch:
    """What becomes of one platform call: a record for its owner (if any) and the metric's outcome."""

    call: PlatformCall
    outcome: str  # queued | answered | ended | waiting_for_caller | invalid_caller | queued_without_caller
    owner_key: str | None = None
    record: bytes | None = None  # CallStarted or CallAnswered JSON, for owner_key's partition
    replayed: bool = False  # an event parked earlier, forwarded now that its caller is known


#: Hands one dispatch to the broker (or whatever the caller does with it), in the order they come.
Send = Callable[["Dispatch"], Awaitable[None]]


class PlatformIngress:
    """The mappings, and the call registry that joins a call's events (registry.py)."""

    def __init__(
        self,
        mappings: Mappings,
        registry: CallRegistry,
        region: str,
        brief_ready: Callable[[Customer], Awaitable[bool]] | None = None,
    ) -> None:
        self.mappings = mappings
        self.registry = registry
        self.region = region
        self.brief_ready = brief_ready
        """Whether the caller's brief is prepared (llm/briefs.py), asked at answer when briefs are on."""

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platform names the mappings know."""
        return self.mappings.platforms

    def recognize(self, payload: Any, platform: str | None = None) -> list[PlatformCall]:
        """The calls in *payload* (see Mappings.recognize)."""
        return self.mappings.recognize(payload, platform)

    async def route(self, call: PlatformCall, send: Send | None = None) -> list[Dispatch]:
        """What to send for *call*, plus the parked events of its call that it lets through.

        With *send*, a queued call that names its caller is handed to it before the registry is
        asked (its record needs nothing from it), so its produce and the registry's round trip
        overlap; the dispatches returned after it are the ones still to send.

        Raises RegistryUnavailable only for an event without a number (it cannot be matched now);
        an event with one is warmed even when the registry is down.
        """
        if call.kind is CallEventKind.ENDED:
            return [Dispatch(call, "ended")]
        queued_at = _epoch(call.at or datetime.now(UTC)) if call.kind is CallEventKind.QUEUED else None
        if not (call.caller or call.customer_id):
            await self.registry.park(call.platform, call.call_id, _parked(call))
            state, parked = await self.registry.note(
                call.platform, call.call_id, caller=None, customer_id=None, queued_at=queued_at
            )
            if not state.identified:
                return [Dispatch(call, "waiting_for_caller")]
            return self._replay(parked, state)  # this event among them, unless another worker took it first
        early = self._dispatch(call, queued_at) if send is not None and call.kind is CallEventKind.QUEUED else None
        if early is not None and send is not None:
            await send(early)
        try:
            state, parked = await self.registry.note(
                call.platform, call.call_id, caller=call.caller, customer_id=call.customer_id, queued_at=queued_at
            )
        except RegistryUnavailable as e:  # warm the caller anyway; only the answer's queue wait is lost
            logger.warning("%s; %s call %s routed without it", e, call.platform, call.call_id[:64])
            return [] if early is not None else [self._dispatch(call, queued_at)]
        own = [] if early is not None else [self._dispatch(call, state.queued_at)]
        return [*own, *self._replay(parked, state)]

    async def route_all(self, calls: Sequence[PlatformCall], send: Send | None = None) -> list[Dispatch]:
        """``route`` for each call, in order; with *send*, every dispatch is handed to it as soon as
        it is known, and all of them are returned. When one call cannot be matched (or a send
        fails), the parked events taken are put back before the error goes up (the whole message
        is retried)."""
        dispatches: list[Dispatch] = []
        sent: list[Dispatch] = []

        async def send_early(d: Dispatch) -> None:
            sent.append(d)
            if send is not None:
                await send(d)

        try:
            for call in calls:
                routed = await self.route(call, send_early if send is not None else None)
                dispatches += sent
                sent.clear()
                for d in routed:
                    dispatches.append(d)
                    if send is not None:
                        await send(d)
        except BaseException:  # RegistryUnavailable, a failed send, a deadline: the events taken wait again
            await self.restore(dispatches)
            raise
        return dispatches

    async def restore(self, dispatches: Sequence[Dispatch]) -> None:
        """Park again the replayed events whose records did not reach the broker (best effort)."""
        for d in dispatches:
            if d.replayed:
                try:
                    await self.registry.unpark(d.call.platform, d.call.call_id, [_parked(d.call)])
                except RegistryUnavailable as e:
                    logger.warning("%s: a parked %s event of call %s is lost", e, d.call.platform, d.call.call_id[:64])

    def _replay(self, parked: list[bytes], state: CallState) -> list[Dispatch]:
        replayed = []
        for raw in parked:
            call = _unparked(raw)
            if call is not None:
                named = replace(call, caller=state.caller, customer_id=state.customer_id)
                replayed.append(replace(self._dispatch(named, state.queued_at), replayed=True))
        return replayed

    def _dispatch(self, call: PlatformCall, queued_at: float | None) -> Dispatch:
        if call.kind is CallEventKind.QUEUED:
            plan = to_warm(call, self.region)
            record = plan.started.to_json() if plan.started is not None else None
            return Dispatch(call, plan.outcome, plan.owner_key, record)
        started = as_call_started(replace(call, kind=CallEventKind.QUEUED))  # the same key a queued call has
        try:
            key = str(started.lookup_key(self.region)) if started is not None else None
        except InvalidMessage:
            key = None
        if key is None:
            return Dispatch(call, "invalid_caller")
        answered = CallAnswered(
            platform=call.platform[:64],
            call_id=call.call_id[:128],
            key=key,
            queue=call.queue[:400] if call.queue else None,
            agent=call.agent[:400] if call.agent else None,
            answered_at=call.at,
            queued_at=datetime.fromtimestamp(queued_at, UTC) if queued_at is not None else None,
        )
        return Dispatch(call, "answered", key, answered.to_json())


def _epoch(at: datetime) -> float:
    return at.timestamp()


def _parked(call: PlatformCall) -> bytes:
    return orjson.dumps(
        {
            "platform": call.platform,
            "event": call.event,
            "kind": call.kind.value,
            "call_id": call.call_id,
            "queue": call.queue,
            "agent": call.agent,
            "at": call.at.isoformat() if call.at else None,
        }
    )


def _unparked(raw: bytes) -> PlatformCall | None:
    try:
        data = orjson.loads(raw)
        return PlatformCall(
            platform=str(data["platform"]),
            event=str(data["event"]),
            kind=CallEventKind(data["kind"]),
            call_id=str(data["call_id"]),
            queue=data.get("queue"),
            agent=data.get("agent"),
            at=datetime.fromisoformat(data["at"]) if data.get("at") else None,
        )
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
        logger.warning("a parked platform event could not be read back: dropped")
        return None
