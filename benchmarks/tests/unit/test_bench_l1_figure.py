"""The in-process L1 figure measures what its name says: new input strings, the Faust table, the JSON reply."""

from __future__ import annotations

from benchmarks import inprocess
from warmline.models import normalize


def test_every_input_is_a_new_string_for_a_distinct_caller() -> None:
    phones = inprocess.fresh_phones(5_000)
    assert len(set(phones)) == len(phones)  # normalize's cache never answers the "new input" row
    assert len({str(normalize("phone", p)) for p in phones}) == len(phones)
    assert len({p[:2] for p in phones}) > 2  # several formats, not one spelling


async def test_the_figure_goes_through_the_worker_s_faust_table_and_encodes_the_reply() -> None:
    from faust.tables.table import Table

    l1 = inprocess._faust_l1({})
    assert isinstance(l1._table, Table)  # L1 as the worker builds it, not a dict
    fresh, repeat = await inprocess.l1_hit(200)  # asserts each answer is its customer, from L1, as JSON
    assert fresh.detail["n"] == repeat.detail["n"] == 200
    assert fresh.detail["mean_body_bytes"] > 200  # the encoded reply, customer included
    assert "new input string" in fresh.name and "normalize cached" in repeat.name
