"""L2: Redis (redis.asyncio + hiredis), JSON values under ``warmline:v1:`` keys, breaker-guarded.

Layout (the record is stored once; lookup keys point at it):

    warmline:v1:cust:{customer_id}   CacheEntry JSON of the customer
    warmline:v1:key:{lookup key}     {"v":1, "ref": customer_id | null, "fetched_at", "expires_at", "matches"}

``ref: null`` is a cached not-found. Dropping ``cust:{id}`` invalidates every key pointing at it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeVar

import orjson
import redis.asyncio as redis
from redis.exceptions import RedisError

from ..errors import InvalidMessage, L2Unavailable
from ..models import CacheEntry, KeyKind, LookupKey
from ..models.protocol import REDIS_PREFIX
from ..resilience import CircuitBreaker, redis_breaker

logger = logging.getLogger(__name__)

#: The namespace and schema version of every key warmline writes.

T = TypeVar("T")


class L2(Protocol):
    """The shared tier."""

    async def get(self, key: LookupKey) -> CacheEntry | None:
        """The entry for *key*, or None; raises L2Unavailable."""
        ...

    async def put(self, key: LookupKey, entry: CacheEntry, keep_s: float) -> None:
        """Store *entry* for *keep_s* seconds; raises L2Unavailable."""
        ...

    async def delete(self, key: LookupKey) -> None:
        """Drop *key* (and the record it points to); raises L2Unavailable."""
        ...

    async def delete_customer(self, customer_id: str) -> None:
        """Drop a customer's record, which orphans every key pointing at it."""
        ...

    async def mget(self, keys: Sequence[LookupKey]) -> list[CacheEntry | None]:
        """Entries for *keys* in order (None where absent); raises L2Unavailable."""
        ...

    async def put_many(self, items: Sequence[tuple[LookupKey, CacheEntry, float]]) -> None:
        """put() for each (key, entry, keep_s), in one round trip; raises L2Unavailable."""
        ...


def lookup_key_name(key: LookupKey, prefix: str = REDIS_PREFIX) -> str:
    """Redis key of a lookup-key index entry."""
    return f"{prefix}key:{key}"


def customer_key_name(customer_id: str, prefix: str = REDIS_PREFIX) -> str:
    """Redis key of a customer record."""
    return f"{prefix}cust:{customer_id}"


class RedisL2:
    """L2 over a redis.asyncio client with a per-call deadline and a circuit breaker."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = REDIS_PREFIX,
        op_timeout_s: float = 0.05,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._client = client
        # A Cluster refuses MGET across slots (CROSSSLOT); redis-py's RedisCluster reads per slot,
        # one pipeline per node, all nodes at once. A standalone or Sentinel primary takes one MGET.
        self._mget = getattr(client, "mget_nonatomic", None) or client.mget
        self._prefix = prefix
        self._timeout_s = op_timeout_s
        self.breaker = breaker or redis_breaker()

    async def _call(self, op: Callable[[], Awaitable[T]]) -> T:
        if not self.breaker.allow():
            raise L2Unavailable("redis circuit open")
        try:
            async with asyncio.timeout(self._timeout_s):
                result = await op()
        except (RedisError, OSError, TimeoutError) as e:
            self.breaker.failure()
            raise L2Unavailable(f"redis: {type(e).__name__}: {e}") from e
        self.breaker.success()
        return result

    def _key(self, key: LookupKey) -> str:
        if key.kind is KeyKind.CUSTOMER_ID:
            return customer_key_name(key.value, self._prefix)
        return lookup_key_name(key, self._prefix)

    async def get(self, key: LookupKey) -> CacheEntry | None:
        """Resolve *key*: one GET for customer ids, GET index + GET record for phones/emails."""
        raw = await self._call(lambda: self._client.get(self._key(key)))
        if raw is None:
            return None
        if key.kind is KeyKind.CUSTOMER_ID:
            return _decode_entry(raw)
        index = _decode_json(raw)
        if index is None or index.get("v") != 1:
            return None
        ref = index.get("ref")
        if ref is None:
            return _decode_entry_dict({**index, "customer": None})
        record = await self._call(lambda: self._client.get(customer_key_name(str(ref), self._prefix)))
        if record is None:
            return None  # the record was invalidated or expired: the index is an orphan
        entry = _decode_entry(record)
        if entry is None:
            return None
        return _with_index_times(entry, index)

    async def put(self, key: LookupKey, entry: CacheEntry, keep_s: float) -> None:
        """Write the record and (for phone/email keys) its index entry in one round trip."""
        await self.put_many([(key, entry, keep_s)])

    async def put_many(self, items: Sequence[tuple[LookupKey, CacheEntry, float]]) -> None:
        """Write every record and index entry in one pipeline (a warm batch pays one round trip)."""
        if not items:
            return

        async def write() -> None:
            pipe = self._client.pipeline(transaction=False)
            for key, entry, keep_s in items:
                self._queue_put(pipe, key, entry, max(1, int(keep_s * 1000)))
            await pipe.execute()

        await self._call(write)

    def _queue_put(self, pipe: Any, key: LookupKey, entry: CacheEntry, ttl_ms: int) -> None:
        if entry.customer_id is not None:
            pipe.set(customer_key_name(entry.customer_id, self._prefix), entry.to_bytes(), px=ttl_ms)
        if key.kind is not KeyKind.CUSTOMER_ID or entry.customer_id is None:
            index = {
                "v": 1,
                "ref": entry.customer_id,
                "fetched_at": entry.fetched_at,
                "expires_at": entry.expires_at,
                "matches": entry.matches,
            }
            name = lookup_key_name(key, self._prefix)
            if key.kind is KeyKind.CUSTOMER_ID:  # not-found for an id: cache it in the record slot
                name = customer_key_name(key.value, self._prefix)
                index = {**index, "customer": None}
            pipe.set(name, orjson.dumps(index), px=ttl_ms)

    async def delete(self, key: LookupKey) -> None:
        """Drop *key* and the record it points to."""
        raw = await self._call(lambda: self._client.get(self._key(key)))
        names = [self._key(key)]
        index = _decode_json(raw) if raw is not None and key.kind is not KeyKind.CUSTOMER_ID else None
        if index and index.get("ref"):
            names.append(customer_key_name(str(index["ref"]), self._prefix))
        await self._call(lambda: self._client.delete(*names))

    async def delete_customer(self, customer_id: str) -> None:
        """Drop the customer's record; phone/email index entries pointing at it become misses."""
        await self._call(lambda: self._client.delete(customer_key_name(customer_id, self._prefix)))

    async def mget(self, keys: Sequence[LookupKey]) -> list[CacheEntry | None]:
        """Batch get: one MGET for the keys, one MGET for the records they point to."""
        if not keys:
            return []
        raws = await self._call(lambda: self._mget([self._key(k) for k in keys]))
        out: list[CacheEntry | None] = [None] * len(keys)
        refs: dict[int, tuple[str, dict[str, Any]]] = {}
        for i, (key, raw) in enumerate(zip(keys, raws, strict=True)):
            if raw is None:
                continue
            if key.kind is KeyKind.CUSTOMER_ID:
                out[i] = _decode_entry(raw)
                continue
            index = _decode_json(raw)
            if index is None or index.get("v") != 1:
                continue
            if index.get("ref") is None:
                out[i] = _decode_entry_dict({**index, "customer": None})
            else:
                refs[i] = (customer_key_name(str(index["ref"]), self._prefix), index)
        if refs:
            records = await self._call(lambda: self._mget([name for name, _ in refs.values()]))
            for (i, (_, index)), record in zip(refs.items(), records, strict=True):
                entry = _decode_entry(record) if record is not None else None
                if entry is not None:
                    out[i] = _with_index_times(entry, index)
        return out

    async def ping(self) -> None:
        """Raise L2Unavailable when Redis does not answer."""
        await self._call(self._client.ping)


def _with_index_times(entry: CacheEntry, index: dict[str, Any]) -> CacheEntry:
    """The record's customer with the index entry's own times (each lookup key has its own)."""
    return replace(
        entry,
        fetched_at=float(index["fetched_at"]),
        expires_at=float(index["expires_at"]),
        matches=int(index.get("matches", 1)),
    )


def _decode_json(raw: bytes | str) -> dict[str, Any] | None:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        logger.warning("ignoring undecodable L2 value")
        return None
    return data if isinstance(data, dict) else None


def _decode_entry_dict(data: dict[str, Any]) -> CacheEntry | None:
    try:
        return CacheEntry.from_dict(data)
    except InvalidMessage as e:
        logger.warning("ignoring bad L2 entry: %s", e.reason)
        return None


def _decode_entry(raw: bytes | str) -> CacheEntry | None:
    data = _decode_json(raw)
    return _decode_entry_dict(data) if data is not None else None
