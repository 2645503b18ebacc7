"""Deterministic SQLite customer directory for the demo source (`warmline demo-data`)."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from .names import AREA_CODES, FIRST_NAMES, LANGUAGES, LAST_NAMES, MAIL_DOMAINS

SCHEMA = """
CREATE TABLE customers (
    customer_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    tier TEXT NOT NULL,
    language TEXT NOT NULL,
    since TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE contacts (
    kind TEXT NOT NULL,          -- 'phone' (E.164) or 'email' (lower case)
    value TEXT NOT NULL,
    customer_id TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
INDEXES = """
CREATE INDEX contacts_by_value ON contacts (kind, value);
CREATE INDEX contacts_by_customer ON contacts (customer_id);
"""

#: Bumped when the file layout changes; older files are rewritten by `warmline dev` / `demo-data`.
SCHEMA_VERSION = 2

TIER_SHARES = (("vip", 0.02), ("gold", 0.18), ("standard", 0.80))
CHUNK = 5000


def customer_id(n: int) -> str:
    """The id of the *n*-th customer (1-based): C-000001 …"""
    return f"C-{n:06d}"


def _tier(rng: random.Random) -> str:
    roll, acc = rng.random(), 0.0
    for tier, share in TIER_SHARES:
        acc += share
        if roll < acc:
            return tier
    return TIER_SHARES[-1][0]


def _rows(count: int, seed: int) -> Iterator[tuple[tuple[str, ...], list[tuple[str, str, str]]]]:
    rng = random.Random(seed)
    # Unique subscriber numbers: a sample without replacement from each area code's space.
    lines = rng.sample(range(len(AREA_CODES) * 8_000_000), count * 2)
    for n in range(1, count + 1):
        cid = customer_id(n)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        status = "active" if rng.random() < 0.95 else "closed"
        since = f"{rng.randint(2005, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        customer = (cid, f"{first} {last}", status, _tier(rng), rng.choice(LANGUAGES), since)
        contacts = []
        for k in range(2 if rng.random() < 0.3 else 1):
            area, rest = divmod(lines[2 * (n - 1) + k], 8_000_000)
            local = 2_000_000 + rest  # exchange 200–999, a valid NXX
            contacts.append(("phone", f"+1{AREA_CODES[area]}{local:07d}", cid))
        contacts.append(("email", f"{first}.{last}.{n}@{rng.choice(MAIL_DOMAINS)}".lower(), cid))
        yield customer, contacts


def generate(path: Path, count: int = 100_000, seed: int = 7, progress: Callable[[int], None] | None = None) -> Path:
    """Write a fresh directory of *count* customers to *path* (atomically) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        customers: list[tuple[str, ...]] = []
        contacts: list[tuple[str, str, str]] = []
        for n, (customer, its_contacts) in enumerate(_rows(count, seed), start=1):
            customers.append(customer)
            contacts.extend(its_contacts)
            if len(customers) == CHUNK or n == count:
                db.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?)", customers)
                db.executemany("INSERT INTO contacts VALUES (?,?,?)", contacts)
                if progress is not None:
                    progress(len(customers))
                customers, contacts = [], []
        db.executescript(INDEXES)
        meta = [("count", str(count)), ("seed", str(seed)), ("schema", str(SCHEMA_VERSION))]
        db.executemany("INSERT INTO meta VALUES (?,?)", meta)
        db.commit()
    finally:
        db.close()
    tmp.replace(path)
    return path


def is_current(path: Path) -> bool:
    """True when *path* is a demo directory of the current layout."""
    if not path.exists():
        return False
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == str(SCHEMA_VERSION)


def sample_contacts(path: Path, kind: str, limit: int, seed: int = 1) -> list[str]:
    """Pick *limit* existing contact values of *kind* (for examples, simulators and benchmarks)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        total = db.execute("SELECT count(*) FROM contacts WHERE kind = ?", (kind,)).fetchone()[0]
        rng = random.Random(seed)
        offsets = sorted(rng.sample(range(total), min(limit, total)))
        query = "SELECT value FROM contacts WHERE kind = ? LIMIT 1 OFFSET ?"
        return [db.execute(query, (kind, off)).fetchone()[0] for off in offsets]
    finally:
        db.close()
