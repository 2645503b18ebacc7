"""TableL1: LRU bound with tombstones, reads never write, sweep."""

from __future__ import annotations

import asyncio

from warmline.cache import TableL1
from warmline.models import CacheEntry

from ..fakes import RecordingMapping, customer


def _entry(expires_at: float = 100.0, found: bool = True) -> CacheEntry:
    return CacheEntry.of(customer() if found else None, fetched_at=0.0, expires_at=expires_at)


def test_reads_never_write_the_changelog() -> None:
    table = RecordingMapping()
    l1 = TableL1(table, 10)
    l1.put("a", _entry())
    writes = table.writes
    for _ in range(100):
        assert l1.get("a") is not None
        assert l1.get("missing") is None
    assert table.writes == writes


def test_lru_eviction_deletes_the_least_recently_read() -> None:
    table = RecordingMapping()
    l1 = TableL1(table, 2)
    l1.put("a", _entry())
    l1.put("b", _entry())
    l1.get("a")
    l1.put("c", _entry())
    assert set(table) == {"a", "c"}
    assert l1.evictions == 1


def test_recovered_entries_are_adopted_and_bounded() -> None:
    table = RecordingMapping()
    for k in "abcde":
        table.data[k] = _entry()  # as changelog recovery would, bypassing L1
    l1 = TableL1(table, 3)
    assert l1.adopt_recovered() == 5
    assert len(table) == 3


async def test_sweep_drops_expired_and_keeps_stale_within_grace() -> None:
    l1 = TableL1({}, 10)
    l1.put("fresh", _entry(expires_at=200))
    l1.put("stale", _entry(expires_at=50))
    l1.put("dead", _entry(expires_at=10))
    l1.put("negative", _entry(expires_at=90, found=False))
    assert await l1.sweep(now=100, grace_s=60) == 2
    assert l1.get("fresh") and l1.get("stale")
    assert l1.get("dead") is None and l1.get("negative") is None


async def test_a_sweep_lets_the_loop_run_between_slices() -> None:
    l1 = TableL1({}, 10)
    for key in ("dead-1", "fresh", "dead-2"):
        l1.put(key, _entry(expires_at=200 if key == "fresh" else 10))
    sweep = asyncio.ensure_future(l1.sweep(now=100, grace_s=0, slice_size=1))
    seen: list[int] = []
    while not sweep.done():
        seen.append(len(l1))
        await asyncio.sleep(0)
    assert await sweep == 2
    assert 2 in seen  # another task ran after the first slice removed dead-1, before the last removed dead-2


async def test_an_entry_renewed_or_deleted_between_slices_is_judged_as_it_is_then() -> None:
    l1 = TableL1({}, 10)
    for key in ("first", "renewed", "deleted", "last"):
        l1.put(key, _entry(expires_at=10))
    sweep = asyncio.ensure_future(l1.sweep(now=100, grace_s=0, slice_size=1))
    await asyncio.sleep(0)  # the first slice ran
    l1.put("renewed", _entry(expires_at=200))  # a warm renewed it meanwhile
    l1.delete("deleted")
    assert await sweep == 2  # first and last; renewed kept, deleted not counted
    assert l1.get("renewed") is not None and len(l1) == 1


def test_retain_owned_forgets_locally_without_tombstones() -> None:
    table = RecordingMapping()
    store: dict[str, CacheEntry | None] = {}
    l1 = TableL1(table, 10, local=store)
    for k in "abc":
        l1.put(k, _entry())
        store[k] = table[k]  # a Faust table writes through to its store
    writes = table.writes
    assert l1.retain_owned(lambda key: key != "b") == 1
    assert set(store) == {"a", "c"}
    assert table.writes == writes  # no tombstone into the new owner's changelog partition


async def test_a_sweep_forgets_an_expired_key_of_another_workers_partition_without_a_tombstone() -> None:
    table = RecordingMapping()
    l1 = TableL1(table, 10, local=table.data)  # a Faust table writes through to its store
    l1.put("mine", _entry(expires_at=10))
    l1.put("standby", _entry(expires_at=10))  # as a standby copy arrives: in the store, not put by us
    writes = table.writes
    assert await l1.sweep(now=100, grace_s=0, owned=lambda key: key == "mine") == 2
    assert table.data == {}
    assert table.writes == writes + 1  # one tombstone: for the owned key only


class _ReadCountingTable(RecordingMapping):
    """A table whose own read path (where Faust's sensors run) counts its calls."""

    reads = 0

    def __getitem__(self, key: str) -> CacheEntry | None:
        self.reads += 1
        return super().__getitem__(key)


def test_reads_go_to_the_stores_dict_and_see_every_write_through_the_table() -> None:
    store = RecordingMapping()  # a Faust memory store's shape: its entries in a plain dict at .data
    table = _ReadCountingTable()
    table.data = store.data  # the table writes into the store, as a Faust table does
    l1 = TableL1(table, 10, local=store)
    l1.put("a", _entry())
    assert l1.get("a") == _entry()
    assert l1.get("missing") is None
    assert table.reads == 0  # the table's read path was not taken
    l1.delete("a")
    assert l1.get("a") is None
