"""The Redis client L2 uses, as Redis is deployed: standalone, Sentinel or Cluster; TLS; ACL users.

``WARMLINE_REDIS_URL`` takes ``redis://`` or ``rediss://`` (TLS) with ``user:password@`` (ACL);
``WARMLINE_REDIS_SSL_*`` files add a private CA and a client certificate (mutual TLS);
``WARMLINE_REDIS_MODE`` picks the topology. ``redacted()`` is the URL as logs may show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import Sentinel

from ..errors import RedisConfigError

RedisMode = Literal["standalone", "sentinel", "cluster"]


def redacted(url: str) -> str:
    """*url* without its password (``rediss://wl:***@host:6380/0``): what a log line or an error may show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable WARMLINE_REDIS_URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class RedisConfig:
    """Everything needed to open L2's client."""

    url: str
    mode: RedisMode = "standalone"
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str | None = None
    ssl_ca_file: str | None = None
    ssl_cert_file: str | None = None
    ssl_key_file: str | None = None
    password: str | None = None  # WARMLINE_REDIS_PASSWORD: replaces the URL's
    connect_timeout_s: float = 0.5

    @property
    def _url(self) -> str:
        """The URL with WARMLINE_REDIS_PASSWORD in it, if that is set."""
        if not self.password:
            return self.url
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{quote(parts.username or '', safe='')}:{quote(self.password, safe='')}@{host}"
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def scrub(self, text: str) -> str:
        """*text* (an error message, say) with every Redis password in it replaced by ***."""
        for secret in (self.password, unquote(urlsplit(self.url).password or "")):
            if secret:
                text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
        return text

    def _tls(self) -> dict[str, Any]:
        if urlsplit(self.url).scheme != "rediss":
            if self.ssl_ca_file or self.ssl_cert_file or self.ssl_key_file:
                raise RedisConfigError(
                    "WARMLINE_REDIS_SSL_* files are set but WARMLINE_REDIS_URL is not rediss:// (TLS)"
                )
            return {}
        if bool(self.ssl_cert_file) != bool(self.ssl_key_file):
            raise RedisConfigError("WARMLINE_REDIS_SSL_CERT_FILE and WARMLINE_REDIS_SSL_KEY_FILE go together")
        tls: dict[str, Any] = {"ssl_cert_reqs": "required"}
        if self.ssl_ca_file:
            tls["ssl_ca_certs"] = self.ssl_ca_file
        if self.ssl_cert_file:
            tls |= {"ssl_certfile": self.ssl_cert_file, "ssl_keyfile": self.ssl_key_file}
        return tls

    def client(self) -> Any:
        """A redis.asyncio client for the mode (Redis, a Sentinel-managed primary, or RedisCluster)."""
        common = {"socket_connect_timeout": self.connect_timeout_s, **self._tls()}
        if self.mode == "cluster":
            return RedisCluster.from_url(self._url, **common)
        if self.mode == "sentinel":
            if not self.sentinels or not self.sentinel_master:
                raise RedisConfigError(
                    "WARMLINE_REDIS_MODE=sentinel needs WARMLINE_REDIS_SENTINELS (host:port,…) and "
                    "WARMLINE_REDIS_SENTINEL_MASTER"
                )
            parts = urlsplit(self._url)
            auth: dict[str, Any] = {
                "username": unquote(parts.username) if parts.username else None,
                "password": unquote(parts.password) if parts.password else None,
                "db": int(parts.path.lstrip("/") or 0),
            }
            # redis-py 8 types Sentinel, earlier releases do not: the ignore serves both.
            sentinel = Sentinel(list(self.sentinels), sentinel_kwargs={**common}, **common, **auth)  # type: ignore[no-untyped-call, unused-ignore]
            return sentinel.master_for(self.sentinel_master)
        return redis.from_url(self._url, **common)


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    """``host:port,host:port`` → ((host, port), …); RedisConfigError names the variable."""
    out = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise RedisConfigError(f"WARMLINE_REDIS_SENTINELS: expected host:port, got {item!r}")
        out.append((host.strip("[]"), int(port)))
    return tuple(out)


async def close_redis(client: Any) -> None:
    """Close L2's client, and for a Sentinel-managed one the connections to the sentinels too
    (``aclose`` of the primary's client leaves them open)."""
    await client.aclose()
    manager = getattr(getattr(client, "connection_pool", None), "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose()
