"""Pure cache decisions: TTLs with jitter, freshness, stale windows. No I/O; clock injected."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from enum import StrEnum

from ..models import CacheEntry, Customer


class Freshness(StrEnum):
    """How usable a cached entry is right now."""

    FRESH = "fresh"
    STALE = "stale"  # past its TTL but inside the max-stale window: serve and refresh
    EXPIRED = "expired"  # useless


@dataclass(slots=True)
class CachePolicy:
    """TTL rules (L1, L2, not-found, stale; .env.template names each)."""

    l1_ttl_s: float = 300.0
    l2_ttl_s: float = 3600.0
    negative_ttl_s: float = 30.0
    max_stale_s: float = 86400.0
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random)

    def _jittered(self, ttl_s: float) -> float:
        # Jitter spreads expiries so a bulk warm does not expire (and refetch) all at once.
        return ttl_s * (1 + self.rng.uniform(-self.jitter, self.jitter)) if self.jitter else ttl_s

    def entry_for(self, customer: Customer | None, matches: int, now: float) -> CacheEntry:
        """A fresh entry for a source answer at *now*, with the L2 (longer) lifetime."""
        ttl = self.l2_ttl_s if customer is not None else self.negative_ttl_s
        return CacheEntry.of(customer, fetched_at=now, expires_at=now + self._jittered(ttl), matches=matches)

    def for_l1(self, entry: CacheEntry, now: float) -> CacheEntry:
        """The L1 copy of *entry*: it expires at the L1 TTL or the entry's own expiry, whichever is first."""
        ttl = self.l1_ttl_s if entry.found else self.negative_ttl_s
        expires_at = min(entry.expires_at, now + self._jittered(ttl))
        if expires_at == entry.expires_at:
            return entry
        return replace(entry, expires_at=expires_at)

    def freshness(self, entry: CacheEntry, now: float, max_age_s: float | None = None) -> Freshness:
        """Classify *entry*; a client's *max_age_s* turns older entries stale."""
        too_old = max_age_s is not None and now - entry.fetched_at > max_age_s
        if now < entry.expires_at and not too_old:
            return Freshness.FRESH
        if entry.found and now < entry.expires_at + self.max_stale_s:
            return Freshness.STALE
        return Freshness.EXPIRED

    def retain_until(self, entry: CacheEntry) -> float:
        """When an entry stops being useful even as stale (sweep / Redis TTL)."""
        return entry.expires_at + (self.max_stale_s if entry.found else 0.0)
