"""Owner routing: find the worker that owns a key (Faust's table routing) and forward to it."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from yarl import URL

from ..models import LookupKey, LookupStatus
from ..stream.app import L1_TABLE
from ..stream.ownership import Ownership
from .responses import error_response

logger = logging.getLogger(__name__)

#: Set on forwarded requests: the receiver serves locally instead of forwarding again (no loops mid-rebalance).
FORWARDED_HEADER = "X-Warmline-Forwarded"
#: How long a worker waits for the owner of a key before it answers itself (from L2 or the source).
FORWARD_TIMEOUT_S = 2.0
_PASS_HEADERS = ("X-Cache", "X-Request-ID", "Content-Type")


class PeerTransport(Protocol):
    """What views need of the other workers: which one owns a key, and a way to ask it."""

    def owner(self, key: LookupKey, request: web.Request | None = None) -> URL | None:
        """The owner's base URL, or None when this worker should serve *key* itself."""
        ...

    async def forward(self, session: aiohttp.ClientSession, owner: URL, request: web.Request) -> web.Response:
        """Replay *request* on *owner*; an owner that does not answer is a JSON 503."""
        ...

    async def try_forward(
        self, session: aiohttp.ClientSession, owner: URL, request: web.Request, timeout_s: float = ...
    ) -> web.Response | None:
        """Like forward(), but None when *owner* does not answer within *timeout_s*."""
        ...

    def auth_headers(self, token: SecretStr | None) -> dict[str, str]:
        """The admin bearer header, for requests this worker makes to its peers."""
        ...

    async def get_json(
        self,
        session: aiohttp.ClientSession,
        owner: URL,
        path: str,
        query: dict[str, str],
        authorization: str | None = None,
    ) -> Any:
        """GET *path* on *owner* as a forwarded request; the decoded JSON."""
        ...


class OwnerRouter:
    """The PeerTransport over HTTP: finds the worker that owns a key and forwards there, keeping our headers."""

    def __init__(self, app: Any, ownership: Ownership) -> None:
        self._app = app
        self._ownership = ownership
        here = URL(str(app.conf.canonical_url))
        self._here = (here.host, here.port)

    def owner(self, key: LookupKey, request: web.Request | None = None) -> URL | None:
        """The owner's base URL, or None when this worker should serve *key* itself."""
        if request is not None and request.headers.get(FORWARDED_HEADER):
            return None
        name = str(key)
        if self._ownership.owns(name):  # ours: no need to ask Faust's router (it re-serializes and hashes)
            return None
        try:
            dest = URL(str(self._app.router.key_store(L1_TABLE, name)))
        except (KeyError, AttributeError):
            return None  # no assignment yet (starting, rebalancing): serve here, L2 keeps it cheap
        if (dest.host, dest.port) == self._here:
            return None
        return dest

    async def forward(self, session: aiohttp.ClientSession, owner: URL, request: web.Request) -> web.Response:
        """Replay *request* (method, path, query, headers, so also the caller's credential) on *owner*.

        Relays status, body and our headers; an unreachable owner is a JSON 503, not a 500.
        """
        relayed = await self.try_forward(session, owner, request)
        if relayed is None:
            rid = request.headers.get("X-Request-ID")
            return error_response(LookupStatus.UNAVAILABLE, f"the owning worker {owner} did not answer", rid)
        return relayed

    async def try_forward(
        self, session: aiohttp.ClientSession, owner: URL, request: web.Request, timeout_s: float = FORWARD_TIMEOUT_S
    ) -> web.Response | None:
        """Like forward(), but None when *owner* does not answer within *timeout_s* (dead, frozen, partitioned)."""
        url = owner.with_path(request.path).with_query(request.query)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        headers[FORWARDED_HEADER] = "1"
        try:
            async with session.request(
                request.method, url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as resp:
                body = await resp.read()
                kept = {k: resp.headers[k] for k in _PASS_HEADERS if k in resp.headers}
                return web.Response(body=body, status=resp.status, headers=kept)
        except (aiohttp.ClientError, TimeoutError) as e:
            logger.warning("owner %s did not answer a forwarded %s: %s", owner, request.method, type(e).__name__)
            return None

    @staticmethod
    def auth_headers(token: SecretStr | None) -> dict[str, str]:
        """The admin bearer header, for requests this worker makes to its peers."""
        return {"Authorization": f"Bearer {token.get_secret_value()}"} if token is not None else {}

    async def get_json(
        self,
        session: aiohttp.ClientSession,
        owner: URL,
        path: str,
        query: dict[str, str],
        authorization: str | None = None,
    ) -> Any:
        """GET *path* on *owner* as a forwarded request (with the caller's *authorization*); the decoded JSON."""
        headers = {FORWARDED_HEADER: "1"}
        if authorization is not None:
            headers["Authorization"] = authorization
        async with session.get(owner.with_path(path).with_query(query), headers=headers) as resp:
            return await resp.json(content_type=None)
