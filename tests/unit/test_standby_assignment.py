"""What WARMLINE_L1_STANDBY_REPLICAS=0 means for who owns which partition, asked of Faust's own assignor.

With no standby replica Faust trims every worker to floor(partitions / workers) at each rebalance and
deals the rest out again, so when the workers do not divide the partitions a rebalance with the same
members can move partitions (each move: a changelog read and the moved keys answered from L2 until it
ends). With a replica, or with a multiple, nothing moves. docs/operations.md, "Standby copies", says so.
"""

from __future__ import annotations

import itertools

import pytest
from faust.assignor.client_assignment import CopartitionedAssignment
from faust.assignor.copartitioned_assignor import CopartitionedAssignor

from warmline.settings import Settings
from warmline.stream.app import faust_config

pytestmark = pytest.mark.unit


def _moves(before: dict[str, set[int]], partitions: int, replicas: int) -> set[int]:
    """Partitions that change owner when the same members rebalance, over every order they join in."""
    moved: set[int] = set()
    for order in itertools.permutations(before):
        members = {m: CopartitionedAssignment(actives=set(before[m]), standbys=set(), topics={"t"}) for m in order}
        after = CopartitionedAssignor({"t"}, members, partitions, replicas).get_assignment()
        moved.add(sum(len(before[m] - after[m].actives) for m in before))
    return moved


def test_no_partition_moves_when_the_workers_divide_the_partitions() -> None:
    assert _moves({"a": {0, 1, 2, 3}, "b": {4, 5, 6, 7}}, 8, replicas=0) == {0}
    assert _moves({"a": {0, 1}, "b": {2, 3}, "c": {4, 5}, "d": {6, 7}}, 8, replicas=0) == {0}


def test_without_a_replica_partitions_can_move_when_they_do_not() -> None:
    three = {"a": {0, 1, 2}, "b": {3, 4, 5}, "c": {6, 7}}
    assert max(_moves(three, 8, replicas=0)) > 0
    assert _moves(three, 8, replicas=1) == {0}


def test_the_setting_reaches_faust() -> None:
    assert faust_config(Settings(_env_file=None))["table_standby_replicas"] == 0
    assert faust_config(Settings(_env_file=None, l1_standby_replicas=1))["table_standby_replicas"] == 1
