"""WebContext: what the views get from the worker — the use case, peers' HTTP, metrics, a few settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import SecretStr

from ..llm.briefs import BriefService
from ..llm.chat import CallerChat
from ..lookups import LookupService
from ..metrics import Metrics
from ..platforms.ingress import PlatformIngress
from ..prewarm.scheduler import VipRunner
from ..stream.backlog import ProduceBacklog
from ..stream.own_producer import OwnProducer
from ..stream.ownership import Ownership


@dataclass(frozen=True)
class WebContext:
    """Built once by the worker; views never reach past it to the cache tiers."""

    lookups: LookupService
    metrics: Metrics
    vip: VipRunner
    sessions: Callable[[], aiohttp.ClientSession]
    region: str
    admin_token: SecretStr | None
    api_tokens: tuple[str, ...]
    source_name: str
    web_port: int
    ownership: Ownership
    """Which L1 partition owns a key, and whether this worker holds it."""
    chat: CallerChat | None = None
    briefs: BriefService | None = None
    backlog: ProduceBacklog | None = None
    """Records waiting for the broker; batch writes wait while it is full (memory bound)."""
    platforms: PlatformIngress | None = None
    """The platforms' event mappings and call registry (POST /v1/events/{platform})."""
    events_producer: OwnProducer | None = None
    """The platforms' webhook's own Kafka producer (http/events.py), stopped with the web server."""
    twilio: Any = None
    """Twilio's request-signature check (http/events.py TwilioSignature), when TWILIO_AUTH_TOKEN is set."""

    @property
    def http(self) -> aiohttp.ClientSession:
        """The worker's pooled client session (forwarding to peers)."""
        return self.sessions()
