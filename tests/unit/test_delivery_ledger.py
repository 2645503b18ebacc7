"""The delivery ledger: records handed out in offset order, commits at the lowest offset not done."""

from __future__ import annotations

from warmline.stream.delivery import DeliveryLedger, Verdict


def _ledger_from(offset: int) -> DeliveryLedger[str]:
    ledger: DeliveryLedger[str] = DeliveryLedger()
    ledger.restart({"p": offset})
    return ledger


def test_records_in_order_are_delivered_and_the_mark_follows_the_acks() -> None:
    ledger = _ledger_from(10)
    assert [ledger.admit("p", offset) for offset in (10, 11, 12)] == [Verdict.DELIVER] * 3
    assert ledger.low_water("p") == 10
    ledger.done("p", 11)
    ledger.done("p", 12)
    assert ledger.low_water("p") == 10  # 10 is still being handled (faust-streaming#606)
    ledger.done("p", 10)
    assert ledger.low_water("p") == 13


def test_a_batch_starting_past_the_next_offset_is_fetched_again() -> None:
    ledger = _ledger_from(10)  # sought to the committed offset 10; a stale batch from 25 arrives
    assert ledger.admit("p", 25) is Verdict.REFETCH
    assert ledger.next_offset("p") == 10
    assert ledger.low_water("p") == 10  # nothing in 10..24 is ever committed unhandled
    assert ledger.admit("p", 10) is Verdict.DELIVER  # the refetch starts where it must


def test_a_jump_whose_refetch_failed_is_not_crossed() -> None:
    ledger = _ledger_from(10)
    assert ledger.admit("p", 14) is Verdict.REFETCH
    ledger.refetch_failed("p")  # the seek back to 10 did not happen: 14 arriving again proves nothing
    assert ledger.admit("p", 14) is Verdict.REFETCH
    assert ledger.admit("p", 14) is Verdict.DELIVER  # seen again after a refetch that happened: a gap


def test_only_the_same_jump_twice_is_a_real_gap() -> None:
    ledger = _ledger_from(10)
    assert ledger.admit("p", 12) is Verdict.REFETCH
    assert ledger.admit("p", 14) is Verdict.REFETCH  # another jump: still suspicious
    assert ledger.admit("p", 14) is Verdict.DELIVER  # the same again after a refetch: a log gap
    assert ledger.next_offset("p") == 15
    ledger.done("p", 14)
    assert ledger.low_water("p") == 15


def test_records_before_the_next_offset_are_skipped() -> None:
    ledger = _ledger_from(10)
    assert ledger.admit("p", 9) is Verdict.SKIP  # before the seek
    assert ledger.admit("p", 10) is Verdict.DELIVER
    assert ledger.admit("p", 10) is Verdict.SKIP  # handed out already
    assert ledger.low_water("p") == 10


def test_a_seek_starts_over_and_a_restart_forgets_partitions_not_assigned() -> None:
    ledger = _ledger_from(10)
    ledger.admit("p", 10)
    ledger.seeked("p", 4)
    assert ledger.low_water("p") == 4  # 10 will be handed out again; its old ack is moot
    ledger.restart({"q": 7})
    assert ledger.low_water("p") is None and ledger.next_offset("p") is None
    assert ledger.low_water("q") == 7
    ledger.done("p", 10)  # an ack arriving after its partition left: nothing to do


def test_a_partition_without_a_start_hands_out_nothing() -> None:
    # Faust can let records through after an assignment, before it seeks to the committed
    # offsets, from wherever the consumer stands (the log end, once): none of them is handed
    # out, and nothing is committed or resumed from them.
    ledger: DeliveryLedger[str] = DeliveryLedger()
    assert ledger.admit("p", 42) is Verdict.SKIP
    assert ledger.low_water("p") is None and ledger.next_offset("p") is None


def test_nothing_is_handed_out_in_a_generation_before_its_restart() -> None:
    ledger: DeliveryLedger[str] = DeliveryLedger()
    ledger.restart({"p": 10}, generation=4)
    assert ledger.admit("p", 10, generation=4) is Verdict.DELIVER
    ledger.done("p", 10)
    # Generation 5 is assigned; its seek has not restarted the ledger yet: even the next record
    # in order waits (the seek that follows the restart fetches it again).
    assert ledger.admit("p", 11, generation=5) is Verdict.SKIP
    assert ledger.low_water("p") == 11  # what is done stays known for the restart (a kept partition)
    ledger.restart({"p": 11}, generation=5)
    assert ledger.admit("p", 11, generation=5) is Verdict.DELIVER
    assert ledger.admit("p", 12, generation=4) is Verdict.SKIP  # a batch of the older generation


def test_the_oldest_record_not_done_is_reported_with_the_time_it_was_handed_out() -> None:
    now = [100.0]
    ledger: DeliveryLedger[str] = DeliveryLedger(clock=lambda: now[0])
    ledger.restart({"p": 10, "q": 0})
    ledger.admit("p", 10)
    now[0] = 105.0
    ledger.admit("p", 11)
    ledger.admit("q", 0)
    assert ledger.oldest_pending() == {"p": (10, 100.0), "q": (0, 105.0)}
    ledger.done("p", 10)
    ledger.done("q", 0)
    assert ledger.oldest_pending() == {"p": (11, 105.0)}  # q has nothing pending: absent
    ledger.seeked("p", 11)
    assert ledger.oldest_pending() == {}


def test_a_rewind_hands_out_again_everything_not_done() -> None:
    ledger = _ledger_from(10)
    for offset in (10, 11, 12):
        ledger.admit("p", offset)
    ledger.done("p", 10)
    ledger.done("p", 12)
    assert ledger.rewind() == {"p": 11}
    assert ledger.admit("p", 11) is Verdict.DELIVER and ledger.admit("p", 12) is Verdict.DELIVER
    assert ledger.low_water("p") == 11
