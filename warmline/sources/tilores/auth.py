"""OAuth2 client-credentials token cache: one refresh at a time, however many lookups wait."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable

import aiohttp
from pydantic import SecretStr

from ...errors import SourceError, SourceUnavailable

#: Refresh this long before the token's stated expiry (clock skew, requests in flight).
EXPIRY_MARGIN_S = 30.0


class TokenProvider:
    """Fetches and caches the Tilores access token (HTTP basic auth, ``grant_type=client_credentials``)."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        scope: str | None = None,
        *,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._url = token_url
        # RFC 7617 basic auth, built here: aiohttp's BasicAuth helper is deprecated in 3.14.
        pair = f"{client_id}:{client_secret.get_secret_value()}".encode()
        self._auth_header = SecretStr("Basic " + base64.b64encode(pair).decode("ascii"))
        self._scope = scope
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def token(self) -> str:
        """A valid access token, fetched only when the cached one is missing or about to expire."""
        if self._token is not None and self._clock() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token is not None and self._clock() < self._expires_at:
                return self._token  # another waiter refreshed it while we queued
            self._token, lifetime_s = await self._fetch()
            self._expires_at = self._clock() + max(0.0, lifetime_s - EXPIRY_MARGIN_S)
            return self._token

    def invalidate(self, token: str) -> None:
        """The API refused *token* (401): forget it unless a newer one already replaced it."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        self.fetches += 1
        try:
            headers = {"Authorization": self._auth_header.get_secret_value()}
            async with self._session().post(self._url, data=form, headers=headers, timeout=self._timeout) as resp:
                if resp.status >= 500:
                    raise SourceUnavailable(f"token endpoint answered {resp.status}")
                if resp.status != 200:
                    raise SourceError(f"token endpoint refused the client credentials ({resp.status})")
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as e:
            raise SourceUnavailable(f"token endpoint unreachable: {type(e).__name__}") from e
        try:
            return str(body["access_token"]), float(body.get("expires_in", 300))
        except (KeyError, TypeError, ValueError) as e:
            raise SourceError(f"token endpoint answered without access_token/expires_in: {e}") from None
