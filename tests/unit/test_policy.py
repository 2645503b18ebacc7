"""CachePolicy: TTLs, jitter bounds, freshness windows."""

from __future__ import annotations

import random

from warmline.cache.policy import CachePolicy, Freshness

from ..fakes import customer


def _policy(**kw: float) -> CachePolicy:
    return CachePolicy(l1_ttl_s=300, l2_ttl_s=3600, negative_ttl_s=30, max_stale_s=600, rng=random.Random(1), **kw)


def test_found_entries_live_for_the_l2_ttl_within_jitter() -> None:
    p = _policy()
    for _ in range(100):
        e = p.entry_for(customer(), 1, now=1000.0)
        assert 1000 + 3600 * 0.9 <= e.expires_at <= 1000 + 3600 * 1.1


def test_negative_entries_use_the_negative_ttl() -> None:
    e = _policy(jitter=0).entry_for(None, 0, now=0.0)
    assert e.expires_at == 30
    assert not e.found


def test_l1_copy_expires_at_the_earlier_of_both() -> None:
    p = _policy(jitter=0)
    e = p.entry_for(customer(), 1, now=0.0)
    assert p.for_l1(e, now=0.0).expires_at == 300
    assert p.for_l1(e, now=3500.0).expires_at == 3600


def test_freshness_windows() -> None:
    p = _policy(jitter=0)
    e = p.entry_for(customer(), 1, now=0.0)
    assert p.freshness(e, 10.0) is Freshness.FRESH
    assert p.freshness(e, 3601.0) is Freshness.STALE
    assert p.freshness(e, 3600.0 + 601) is Freshness.EXPIRED
    assert p.freshness(e, 10.0, max_age_s=5) is Freshness.STALE


def test_negative_entries_are_never_served_stale() -> None:
    p = _policy(jitter=0)
    e = p.entry_for(None, 0, now=0.0)
    assert p.freshness(e, 31.0) is Freshness.EXPIRED
    assert p.retain_until(e) == 30
