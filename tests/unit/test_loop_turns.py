"""Warming's share of each loop turn: warm steps pass within the budget, queue past it, and what
arrived on the loop meanwhile runs before the queued steps do."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable

import pytest

from warmline.loop_turns import LoopTurns


class _Clock:
    """A clock that moves only when told to, or by *step* at every read."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class _LoopTurnCounter:
    """Counts turns of the loop: one callback per turn, each scheduling the next."""

    def __init__(self) -> None:
        self.turns = 0
        self._running = True
        asyncio.get_running_loop().call_soon(self._count)

    def _count(self) -> None:
        if self._running:
            self.turns += 1
            asyncio.get_running_loop().call_soon(self._count)

    def stop(self) -> None:
        self._running = False


async def _resumed_at(turns: LoopTurns, steps: int, then: Callable[[int], None] = lambda resumed: None) -> list[int]:
    """*steps* steps side by side, each taking a turn: the turn of the loop each resumed in, in the
    order they resumed (*then* is called with the count resumed so far, after each)."""
    counter = _LoopTurnCounter()
    resumed_at: list[int] = []

    async def step() -> None:
        await turns.turn()
        resumed_at.append(counter.turns)
        then(len(resumed_at))

    await asyncio.gather(*(step() for _ in range(steps)))
    counter.stop()
    return resumed_at


async def test_steps_within_the_budget_pass_at_once() -> None:
    turns = LoopTurns(0.002, clock=_Clock())  # no time passes: every step fits
    for _ in range(100):
        await turns.turn()
    assert turns.waited == 0


async def test_past_the_budget_what_arrived_on_the_loop_runs_before_the_next_warm_step() -> None:
    clock = _Clock()
    turns = LoopTurns(0.002, clock=clock)
    order: list[str] = []
    await turns.turn()  # the first step since the loop polled: a window opens
    clock.now += 0.003  # that step took longer than the budget
    asyncio.get_running_loop().call_soon(order.append, "lookup")  # e.g. an HTTP request's callback
    await turns.turn()  # the next step, in the same turn of the loop
    order.append("warm")
    assert order == ["lookup", "warm"]
    assert turns.waited == 1


async def test_queued_steps_resume_first_come_first_served() -> None:
    turns = LoopTurns(0.002, clock=_Clock(step=0.01))
    resumed: list[int] = []

    async def step(n: int) -> None:
        await turns.turn()
        resumed.append(n)

    await asyncio.gather(*(step(n) for n in range(10)))
    assert resumed == list(range(10))
    assert turns.waited == 9 and len(turns) == 0


async def test_while_loop_turns_run_long_one_queued_step_resumes_per_turn() -> None:
    turns = LoopTurns(0.002, clock=_Clock(step=0.01))  # every read: 10 ms later than the last
    resumed_at = await _resumed_at(turns, 8)
    assert len(set(resumed_at)) == len(resumed_at) == 8  # never two in one turn of the loop


async def test_while_loop_turns_are_short_more_queued_steps_resume_per_turn() -> None:
    turns = LoopTurns(0.002, clock=_Clock(step=0.0005))  # every read: 0.5 ms later than the last
    resumed_at = await _resumed_at(turns, 20)
    queued = resumed_at[20 - turns.waited :]
    assert turns.waited >= 10 and len(set(queued)) < len(queued) / 2  # the release grew past one per turn
    assert resumed_at == sorted(resumed_at)


async def test_a_cancelled_step_takes_no_turn_and_the_rest_go_on() -> None:
    turns = LoopTurns(0.002, clock=_Clock(step=0.01))
    steps = [asyncio.ensure_future(turns.turn()) for _ in range(3)]
    await asyncio.sleep(0)  # the first opened a window and passed; it ran long, so the others queued
    assert steps[0].done() and len(turns) == 2
    steps[1].cancel()
    await asyncio.wait_for(steps[2], 10)  # a guard, not a measure
    assert steps[1].cancelled() and len(turns) == 0


async def test_once_loop_turns_run_long_the_release_halves_down_to_one() -> None:
    clock = _Clock(step=0.0005)
    turns = LoopTurns(0.002, clock=clock)

    def slow_down(resumed: int) -> None:
        if resumed == 40:
            clock.step = 0.01  # from here on, every turn of the loop runs long

    resumed_at = await _resumed_at(turns, 80, slow_down)
    per_turn = Counter(resumed_at[40:])
    sizes = [per_turn[turn] for turn in sorted(per_turn)]
    assert sizes[0] > 2 and sizes[-5:] == [1] * 5
    assert sizes == sorted(sizes, reverse=True)  # halved at each long turn, never grown back


async def test_after_a_quiet_stretch_a_burst_of_steps_is_released_a_few_at_a_time() -> None:
    turns = LoopTurns(0.0, clock=_Clock())  # no budget, no time passing: every released step fits
    for _ in range(30):  # one step at a time, each queued and released alone
        await turns.turn()
    resumed_at = await _resumed_at(turns, 20)
    queued = resumed_at[49 - turns.waited :]  # the burst's queued steps (29 queued before it), in order
    assert len(queued) >= 19
    assert Counter(queued)[queued[0]] <= 3  # the quiet stretch did not raise the count (it would: to 30)


async def test_an_expedited_step_goes_at_once_and_the_queue_skips_it() -> None:
    turns = LoopTurns(0.002, clock=_Clock(step=0.01))
    done: list[str] = []

    async def step(key: str) -> None:
        await turns.turn(key)
        done.append(key)

    steps = [asyncio.ensure_future(step(key)) for key in ("a", "b", "c")]
    await asyncio.sleep(0)  # a passed; b and c queued, in that order
    turns.expedite("c")
    turns.expedite("nobody")  # nothing queued under it: nothing happens
    await asyncio.wait_for(asyncio.gather(*steps), 10)  # a guard, not a measure
    assert done == ["a", "c", "b"] and turns.expedited == 1 and len(turns) == 0


async def test_an_expedited_step_left_in_the_queue_holds_no_later_step_back() -> None:
    turns = LoopTurns(1.0, clock=lambda: 0.0)  # every step within the budget
    await turns.turn()  # opens the window
    gone = asyncio.get_running_loop().create_future()
    gone.set_result(None)  # as expedite() leaves a step it let go: done, still in the queue
    turns._waiters.append(gone)
    await turns.turn()
    assert turns.waited == 0 and len(turns) == 0  # it passed, as if the queue were empty


def test_a_runtime_reused_under_another_loop_still_gets_turns() -> None:
    turns = LoopTurns(0.002, clock=_Clock(step=0.01))
    first = asyncio.new_event_loop()

    async def step_then_stop() -> None:
        await turns.turn()  # schedules a tick on this loop...
        first.stop()  # ...which never runs: the loop stops first

    task = first.create_task(step_then_stop())
    first.run_forever()
    assert task.done()
    first.close()

    async def steps() -> int:
        for _ in range(3):
            await turns.turn()
        return turns.waited

    assert asyncio.run(asyncio.wait_for(steps(), 10)) == 2  # a guard, not a measure: none stranded


def test_a_second_live_loop_leaves_the_first_loop_s_queued_steps_alone(caplog: pytest.LogCaptureFixture) -> None:
    turns = LoopTurns(0.002, clock=_Clock(step=0.01))  # every step is over the budget: they queue
    queued, go_on = threading.Event(), threading.Event()
    outcome: list[object] = []

    async def first_loop() -> None:
        steps = [asyncio.create_task(turns.turn()) for _ in range(3)]
        await asyncio.sleep(0)  # the first passes, two queue
        queued.set()
        go_on.wait(10)  # the loop stays live (running) while the second loop takes a turn
        outcome.append(await asyncio.wait_for(asyncio.gather(*steps), 10))

    thread = threading.Thread(target=asyncio.run, args=(first_loop(),))
    thread.start()
    assert queued.wait(10)
    waiting = len(turns)
    asyncio.run(asyncio.wait_for(turns.turn(), 10))  # another loop, live at the same time
    assert len(turns) == waiting == 2  # the first loop's queue untouched
    assert "belong to another running event loop" in caplog.text  # and it says so
    go_on.set()
    thread.join(20)
    assert outcome == [[None, None, None]]  # and its queued steps resumed there
