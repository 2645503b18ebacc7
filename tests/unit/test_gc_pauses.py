"""The collector tuned for a large cache: survivors of a full collection frozen, garbage cycles among
them reclaimed by the sweep, the collector put back as it was.

The tests that change the collector run in a child interpreter: freezing in the test process would
also freeze other tests' leftovers and move their collection (and its warnings) into a later test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from warmline.gc_pauses import GcPauses, resident_bytes

_PRELUDE = """
import gc, weakref
from warmline.gc_pauses import GcPauses

class Node:
    def __init__(self):
        self.other = self  # a reference cycle: only the cyclic collector frees it

before = gc.get_threshold()
pauses = GcPauses()
pauses.install()
"""

_EPILOGUE = """
pauses.uninstall()
assert gc.get_threshold() == before and gc.get_freeze_count() == 0, "the collector is put back"
print("ok")
"""


def _in_a_child(body: str) -> None:
    """Run *body* between the prelude (collector tuned) and the epilogue (put back) in a fresh interpreter."""
    script = _PRELUDE + textwrap.dedent(body) + _EPILOGUE
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_the_generation_0_threshold_is_the_one_asked_for_and_put_back() -> None:
    _in_a_child(
        """
        pauses.uninstall()
        assert gc.get_threshold() == before
        pauses = GcPauses(gen0_threshold=5_000)
        pauses.install()
        assert gc.get_threshold() == (5_000, *before[1:])
        """
    )


def test_survivors_of_a_full_collection_are_frozen_until_the_sweep() -> None:
    _in_a_child(
        """
        node = Node()  # alive (a cache entry, say) through the next full collection
        watch = weakref.ref(node)
        frozen = gc.get_freeze_count()
        gc.collect()
        assert gc.get_freeze_count() > frozen, "the survivors, node among them, are frozen"
        del node  # now a garbage cycle, among frozen objects
        gc.collect()
        assert watch() is not None, "a full collection no longer walks it: the pause saved"
        pauses.sweep()
        assert watch() is None and pauses.sweeps == 1, "the sweep reclaims it"
        """
    )


def test_garbage_that_never_survived_a_full_collection_goes_at_the_next_one() -> None:
    _in_a_child(
        """
        node = Node()
        watch = weakref.ref(node)
        del node
        gc.collect()
        assert watch() is None
        """
    )


def test_a_sweep_is_due_early_once_the_resident_memory_has_doubled() -> None:
    _in_a_child(
        """
        resident = [100]
        sized = GcPauses(size=lambda: resident[0])
        sized.install()  # nested in the prelude's: it only records the size
        resident[0] = 199
        assert not sized.grown()
        resident[0] = 200  # a cache that doubled, say
        assert sized.grown()
        sized.sweep()
        assert not sized.grown()
        """
    )


def test_the_resident_memory_counts_what_the_process_holds() -> None:
    before = resident_bytes()
    held = b"x" * (64 << 20)  # written to: its pages are resident
    assert resident_bytes() - before >= 48 << 20
    del held


def test_a_failing_check_in_the_child_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="seen"):
        _in_a_child("assert False, 'seen'")


async def test_a_sweep_waits_for_a_quiet_moment() -> None:
    answers = iter([False, False, True])
    pauses = GcPauses(lambda: next(answers), max_sweep_delay_s=10.0, quiet_check_s=0.001)
    await pauses._quiet_moment()
    assert next(answers, "asked no more") == "asked no more" and pauses.forced == 0


async def test_a_sweep_runs_anyway_when_no_quiet_moment_comes_in_time() -> None:
    asked: list[bool] = []

    def busy() -> bool:
        asked.append(False)
        return False

    pauses = GcPauses(busy, max_sweep_delay_s=1.0, quiet_check_s=0.25)
    await pauses._quiet_moment()
    assert len(asked) == 4 and pauses.forced == 1
