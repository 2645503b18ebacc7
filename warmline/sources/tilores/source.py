"""TiloresSource: lookups against the Tilores GraphQL API with OAuth2, deadlines and retries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import phonenumbers
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from ...errors import SourceError, SourceTimeout, SourceUnavailable, TiloresConfigError, TiloresHTTPError
from ...models import KeyKind, LookupKey
from ..base import SourceResult
from .auth import TokenProvider
from .mapping import MappingRules, best_match, to_customer
from .queries import INTROSPECT_NAMES, entity_query, search_query

logger = logging.getLogger(__name__)

_backoff = wait_random_exponential(multiplier=0.1, max=2.0)


@dataclass(frozen=True)
class TiloresConfig:
    """What to ask Tilores, from the TILORES_* settings."""

    api_url: str
    rules: MappingRules
    param_phone: str = "phone"
    param_email: str = "email"
    param_customer_id: str | None = None
    phone_format: str = "digits"
    timeout_s: float = 3.0
    attempts: int = 3


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    hinted = getattr(error, "retry_after_s", None)
    return float(hinted) if hinted is not None else _backoff(state)


def _retry_after(value: str | None) -> float | None:
    try:
        return min(30.0, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class TiloresSource:
    """The Tilores entity-resolution API as a Source."""

    name = "tilores"

    def __init__(
        self, session: Callable[[], aiohttp.ClientSession], tokens: TokenProvider, config: TiloresConfig
    ) -> None:
        self._session = session
        self._tokens = tokens
        self._config = config
        self._search = search_query(config.rules.fields)
        self._entity = entity_query(config.rules.fields)

    def _variables(self, key: LookupKey) -> tuple[str, dict[str, Any]]:
        cfg = self._config
        if key.kind is KeyKind.CUSTOMER_ID and cfg.param_customer_id is None:
            return self._entity, {"id": key.value}
        if key.kind is KeyKind.PHONE:
            value = key.value
            if cfg.phone_format == "digits":
                value = phonenumbers.national_significant_number(phonenumbers.parse(key.value))
            return self._search, {"params": {cfg.param_phone: value}}
        param = cfg.param_email if key.kind is KeyKind.EMAIL else cfg.param_customer_id
        return self._search, {"params": {param: key.value}}

    async def lookup(self, key: LookupKey) -> SourceResult:
        """Resolve *key*: search (or entity by id), best match plus the number of matching entities."""
        query, variables = self._variables(key)
        data = await self._query(query, variables)
        if "entity" in data:
            entity = (data["entity"] or {}).get("entity")
            entities = [entity] if entity else []
        else:
            entities = (data.get("search") or {}).get("entities") or []
        best = best_match(entities)
        if best is None:
            return SourceResult(None, 0)
        return SourceResult(to_customer(best, self._config.rules), len(entities))

    async def _query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._config.attempts),
            wait=_wait,
            retry=retry_if_exception(lambda e: isinstance(e, SourceUnavailable)),
            reraise=True,
        ):
            with attempt:
                return await self._post(query, variables)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = orjson.dumps({"query": query, "variables": variables})
        for refreshed in (False, True):
            token = await self._tokens.token()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            try:
                async with asyncio.timeout(self._config.timeout_s):
                    async with self._session().post(self._config.api_url, data=body, headers=headers) as resp:
                        payload = await resp.read()
                        status, retry_after = resp.status, resp.headers.get("Retry-After")
            except TimeoutError:
                raise SourceTimeout(f"tilores gave no answer in {self._config.timeout_s:.1f}s") from None
            except aiohttp.ClientError as e:
                raise TiloresHTTPError(f"tilores unreachable: {type(e).__name__}", "connect") from e
            if status == 401 and not refreshed:
                self._tokens.invalidate(token)  # expired or revoked early: one fresh token, one retry
                continue
            return self._decode(status, payload, retry_after)
        raise SourceError("tilores refused a freshly issued token (401)")

    @staticmethod
    def _decode(status: int, payload: bytes, retry_after: str | None) -> dict[str, Any]:
        if status == 429:
            raise TiloresHTTPError("tilores is rate limiting (429)", "http_429", _retry_after(retry_after))
        if status >= 500:
            raise TiloresHTTPError(f"tilores answered {status}", "http_5xx", _retry_after(retry_after))
        if status != 200:
            raise SourceError(f"tilores refused the request ({status})", "http_4xx")
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise TiloresHTTPError("tilores answered with non-JSON", "bad_response") from None
        if doc.get("errors"):
            messages = "; ".join(str(e.get("message", e)) for e in doc["errors"][:3])
            raise SourceError(f"tilores GraphQL errors: {messages}", "graphql_errors")  # never cached
        return dict(doc.get("data") or {})

    async def ping(self) -> None:
        """Check credentials and that every configured parameter and record field exists (introspection)."""
        data = await self._query(INTROSPECT_NAMES, {})
        params = {f["name"] for f in ((data.get("params") or {}).get("inputFields") or [])}
        fields = {f["name"] for f in ((data.get("record") or {}).get("fields") or [])}
        cfg = self._config
        wanted = {"TILORES_PARAM_PHONE": cfg.param_phone, "TILORES_PARAM_EMAIL": cfg.param_email}
        if cfg.param_customer_id:
            wanted["TILORES_PARAM_CUSTOMER_ID"] = cfg.param_customer_id
        for setting, name in wanted.items():
            if name not in params:
                raise TiloresConfigError(f"{setting}={name!r} is not a SearchParams field (known: {sorted(params)})")
        unknown = [f for f in cfg.rules.fields if f not in fields]
        if unknown:
            raise TiloresConfigError(f"TILORES_RECORD_FIELDS names fields the Record type lacks: {unknown}")

    async def aclose(self) -> None:
        """The session belongs to the runtime; nothing of our own to close."""
