"""Bearer tokens for the HTTP API: one path-prefix table, checked by one aiohttp middleware."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import SecretStr

from ..models.protocol import CACHE_PATH, EVENTS_PATH, LOOKUP_PATH, PREWARM_PATH, STATS_PATH


class RouteGroup(StrEnum):
    """Which credential a route needs; also the ``route_group`` label of refusals in metrics."""

    API = "api"  # one of WARMLINE_API_TOKENS, when that is set
    CHAT = "chat"  # same tokens as the API; its own label
    ADMIN = "admin"  # WARMLINE_ADMIN_TOKEN, always
    EVENTS = "events"  # the API tokens, as a bearer or as Basic auth's password (what webhooks can send)


#: Guarded path prefixes, whole segments: ``/v1/lookup`` covers ``/v1/lookup/batch`` but not ``/v1/lookups``.
#: The first match decides; any other path (/healthz, /readyz, /metrics, /openapi.json) is open.
GUARDED_PREFIXES: tuple[tuple[str, RouteGroup], ...] = (
    (PREWARM_PATH, RouteGroup.ADMIN),
    (CACHE_PATH.removesuffix("/{key}"), RouteGroup.ADMIN),
    (LOOKUP_PATH, RouteGroup.API),
    (STATS_PATH, RouteGroup.API),
    (EVENTS_PATH.removesuffix("/{platform}"), RouteGroup.EVENTS),
    ("/chat", RouteGroup.CHAT),
    # Faust's built-in blueprints, outside our contract: /table/l1/{key} would serve cached records.
    ("/table", RouteGroup.API),
    ("/router", RouteGroup.API),
)


@functools.lru_cache(maxsize=256)  # every request asks; the paths in use are few (a client picks the path: bounded)
def route_group(path: str) -> RouteGroup | None:
    """The group guarding *path*, or None for an open path."""
    for prefix, group in GUARDED_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return group
    return None


def bearer(header: str | None) -> bytes | None:
    """The token of an ``Authorization: Bearer …`` header, as bytes (any text, even unpaired surrogates)."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return given.strip().encode("utf-8", "surrogatepass")


def basic_password(header: str | None) -> bytes | None:
    """The password of an ``Authorization: Basic …`` header (Twilio and EventBridge can send one)."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    _, colon, password = decoded.partition(b":")
    return password if colon and password else None


def matches_any(given: bytes | None, tokens: Sequence[bytes]) -> bool:
    """Constant-time: compares *given* with every token (no early exit that would tell which one matched)."""
    if given is None:
        return False
    found = False
    for token in tokens:
        found |= hmac.compare_digest(given, token)
    return found


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused, and the HTTP status to say it with."""

    status: int
    message: str


@dataclass(frozen=True)
class TokenCheck:
    """The credentials of one worker: the API tokens (empty = API open) and the admin token."""

    api_tokens: tuple[bytes, ...]
    admin_token: bytes | None

    @classmethod
    def build(cls, api_tokens: Sequence[str], admin_token: SecretStr | None) -> TokenCheck:
        """From the settings' values; an empty admin token counts as unset."""
        admin = admin_token.get_secret_value() if admin_token is not None else ""
        return cls(tuple(t.encode() for t in api_tokens), admin.encode() or None)

    @property
    def api_open(self) -> bool:
        """True when no API token is configured: reading needs no key."""
        return not self.api_tokens

    def refusal(self, group: RouteGroup, authorization: str | None) -> Refusal | None:
        """None if a request to *group* with this ``Authorization`` header may pass."""
        if group is not RouteGroup.ADMIN and self.api_open:
            return None
        given = bearer(authorization)
        if group is RouteGroup.ADMIN:
            if self.admin_token is None:
                return Refusal(403, "admin routes are disabled: set WARMLINE_ADMIN_TOKEN")
            if not matches_any(given, (self.admin_token,)):
                return Refusal(401, "missing or wrong admin bearer token")
            return None
        if group is RouteGroup.EVENTS and given is None:
            given = basic_password(authorization)
        if matches_any(given, self.api_tokens):
            return None
        return Refusal(401, "missing or wrong bearer token (one of WARMLINE_API_TOKENS)")
