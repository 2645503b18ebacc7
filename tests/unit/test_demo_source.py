"""The demo directory: deterministic, valid numbers, indexed lookups, simulated latency."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import phonenumbers
import pytest

from warmline.errors import SourceUnavailable
from warmline.models import normalize
from warmline.sources.demo import DemoSource, generate
from warmline.sources.demo.generate import sample_contacts


def _digest(path: Path) -> str:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT * FROM customers ORDER BY customer_id").fetchall()
    rows += db.execute("SELECT * FROM contacts ORDER BY rowid").fetchall()
    db.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a.db", count=500, seed=3)
    b = generate(tmp_path / "b.db", count=500, seed=3)
    c = generate(tmp_path / "c.db", count=500, seed=4)
    assert _digest(a) == _digest(b) != _digest(c)


def test_contents_are_realistic(demo_db: Path) -> None:
    db = sqlite3.connect(demo_db)
    assert db.execute("SELECT min(customer_id), max(customer_id) FROM customers").fetchone() == ("C-000001", "C-002000")
    tiers = dict(db.execute("SELECT tier, count(*) FROM customers GROUP BY tier").fetchall())
    assert 0 < tiers["vip"] < tiers["gold"] < tiers["standard"]
    phones = sample_contacts(demo_db, "phone", 100)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert all("@" in e for e in sample_contacts(demo_db, "email", 20))


def test_every_lookup_query_uses_an_index(demo_db: Path) -> None:
    from warmline.sources.demo import source as demo

    db = sqlite3.connect(demo_db)
    for query in (demo._BY_CONTACT, demo._BY_ID, demo._CONTACTS):
        plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + query, ("x",) * query.count("?")))
        assert "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan
    db.close()


async def test_lookups_by_each_kind(demo_db: Path) -> None:
    source = DemoSource(demo_db)
    try:
        phone = sample_contacts(demo_db, "phone", 1)[0]
        by_phone = await source.lookup(normalize("phone", phone))
        assert by_phone.customer is not None and phone in by_phone.customer.phones
        email = by_phone.customer.emails[0]
        by_email = await source.lookup(normalize("email", email.upper()))
        by_id = await source.lookup(normalize("customer_id", by_phone.customer.customer_id))
        assert by_email.customer == by_id.customer == by_phone.customer
        missing = await source.lookup(normalize("phone", "+12025550000"))
        assert missing.customer is None and missing.matches == 0
    finally:
        await source.aclose()


async def test_simulated_latency(demo_db: Path) -> None:
    source = DemoSource(demo_db, latency_ms=(30, 30))
    try:
        started = time.perf_counter()
        await source.lookup(normalize("customer_id", "C-000001"))
        assert time.perf_counter() - started >= 0.03
    finally:
        await source.aclose()


async def test_missing_directory_is_unavailable(tmp_path: Path) -> None:
    source = DemoSource(tmp_path / "nope.db")
    with pytest.raises(SourceUnavailable, match="demo-data"):
        await source.lookup(normalize("customer_id", "C-1"))
    await source.aclose()
