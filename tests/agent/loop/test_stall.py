"""A fast attempt gives up when it stalls or paces over cells it has stood on."""

from __future__ import annotations

import numpy as np

from agent.loop.config import RunnerConfig
from agent.loop.stall import IdleCounter, StallWatch
from envs.crafter_env import ACTIONS
from envs.verifiers import Verifier
from memory.store import ExperienceStore
from tests.agent.loop.scripted_fast import ScriptedFast, play_collect_wood

STONE = Verifier("inventory", "stone", 1)


def info(x: int, y: int, stone: int = 0) -> dict:
    return {"player_pos": np.array([x, y]), "inventory": {"stone": stone}}


def test_pacing_between_two_cells_gives_up_as_looping():
    watch = StallWatch(STONE, info(5, 5), stall_steps=60, idle_steps=4)
    given = [watch.step(info(6 - k % 2, 5), own=True) for k in range(6)]
    # step 1 reaches (6,5), new; then (5,5), (6,5), (5,5), (6,5): four idle steps
    assert given[:4] == [None] * 4
    assert given[4] is not None and given[4][0] == "looping"


def test_exploring_new_cells_never_loops_but_stalls():
    watch = StallWatch(STONE, info(0, 0), stall_steps=10, idle_steps=3)
    given = [watch.step(info(k + 1, 0), own=True) for k in range(10)]
    assert given[:9] == [None] * 9
    assert given[9] == ("stalled", "no progress in 10 steps")


def test_progress_resets_both_counters():
    watch = StallWatch(STONE, info(0, 0), stall_steps=5, idle_steps=3)
    assert watch.step(info(0, 0), own=True) is None
    assert watch.step(info(0, 0), own=True) is None
    assert watch.step(info(0, 0, stone=1), own=True) is None  # mined: progress
    assert (watch.idle, watch.stalled) == (0, 0)
    assert watch.step(info(0, 0, stone=1), own=True) is None
    assert watch.step(info(0, 0, stone=1), own=True) is None
    assert watch.step(info(0, 0, stone=1), own=True)[0] == "looping"


def test_guard_steps_neither_count_nor_reset_but_their_cells_are_stood_on():
    watch = StallWatch(STONE, info(0, 0), stall_steps=100, idle_steps=2)
    assert watch.step(info(0, 0), own=True) is None  # idle 1
    for _ in range(20):  # the guard shelters in place: the policy is not looping
        assert watch.step(info(0, 0), own=False) is None
    assert watch.idle == 1
    assert watch.step(info(1, 0), own=False) is None  # the guard walks to (1, 0)
    assert watch.step(info(1, 0), own=True)[0] == "looping"  # stood on already


def test_zero_turns_either_rule_off():
    watch = StallWatch(STONE, info(0, 0), stall_steps=0, idle_steps=0)
    assert all(watch.step(info(0, 0), own=True) is None for _ in range(500))


def pacer() -> ScriptedFast:
    """A fast tier that steps left and right forever."""
    return ScriptedFast(lambda t: ACTIONS.index("move_left" if t % 2 else "move_right"))


def test_the_runner_tells_the_fast_tier_its_idle_streak(tmp_path):
    fast = pacer()
    store = ExperienceStore(tmp_path / "s.sqlite")
    play_collect_wood(store, fast, RunnerConfig(handoff=False, label=False), steps=12)
    # left to a new cell, then back and forth over the two cells it has stood on
    assert fast.idle[:6] == [0, 0, 1, 2, 3, 4]


def _first_fast(tmp_path, handoff: bool, **limits: int):
    """The first fast attempt of the pacer with hand-off or alone, under ``limits``."""
    store = ExperienceStore(tmp_path / f"s{handoff}.sqlite")
    play_collect_wood(store, pacer(), RunnerConfig(handoff=handoff, label=False, **limits))
    return next(a for a in store.attempts() if a.tier == "fast")


def _first_fast_failure(tmp_path, handoff: bool) -> str | None:
    limits = {"stall_steps": 30, "alone_stall_steps": 30, "idle_steps": 6}
    return _first_fast(tmp_path, handoff, **limits).failure_code


def test_looping_hands_off_only_when_the_slow_tier_takes_over(tmp_path):
    # with hand-off the pacing is cut after 6 steps; alone, a policy that waits (a sapling
    # ripening) would be cut too, so only the stall limit applies
    assert _first_fast_failure(tmp_path, handoff=True) == "looping"
    assert _first_fast_failure(tmp_path, handoff=False) == "stalled"


def test_the_stall_limit_with_hand_off_is_its_own_and_shorter_by_default(tmp_path):
    # the slow tier takes a stalled search over after stall_steps; alone, the fast tier
    # itself plays it again, after alone_stall_steps
    limits = {"stall_steps": 8, "alone_stall_steps": 13, "idle_steps": 0}
    with_handoff = _first_fast(tmp_path, True, **limits).failure_reason
    alone = _first_fast(tmp_path, False, **limits).failure_reason
    assert (with_handoff, alone) == ("no progress in 8 steps", "no progress in 13 steps")
    assert RunnerConfig().stall_steps < RunnerConfig().alone_stall_steps


def test_idle_counter_counts_only_the_policys_steps_on_cells_it_has_stood_on() -> None:
    counter = IdleCounter((0, 0))
    streaks = [
        counter.step((1, 0), progressed=False, own=True),  # a new cell
        counter.step((0, 0), progressed=False, own=True),  # back: idle
        counter.step((1, 0), progressed=False, own=True),
        counter.step((2, 0), progressed=False, own=False),  # the guard: no count, no reset
        counter.step((1, 0), progressed=False, own=True),  # (2, 0) counts as stood on
        counter.step((2, 0), progressed=False, own=True),
        counter.step((2, 0), progressed=True, own=False),  # progress resets, whoever acted
        counter.step(None, progressed=False, own=True),  # no position: always new
    ]
    assert streaks == [0, 1, 2, 2, 3, 4, 0, 0]
