"""What an evaluation run left to the slow tier: hand-offs, routed subgoals, actions."""

from __future__ import annotations

import numpy as np
import pytest

from agent.evolve.tier_use import tier_use, use_cells
from memory.records import Failure, Subgoal
from memory.store import ExperienceStore


def _obs() -> dict[str, np.ndarray]:
    return {
        "rgb": np.zeros((4, 4, 3), np.uint8),
        "inventory": np.zeros(12, np.int32),
        "status": np.full(4, 9.0, np.float32),
        "position": np.zeros(3, np.float32),
    }


def _act(store, ep, attempt, t0, actors):
    for k, actor in enumerate(actors):
        store.log_step(ep, t0 + k, attempt, _obs(), 0, 0.0, actor)


def test_hand_offs_routed_subgoals_and_actions_are_counted_per_tier(tmp_path):
    assert tier_use(tmp_path) is None  # no run yet
    store = ExperienceStore(tmp_path / "store.sqlite")
    run = store.start_run("r", {})
    ep = store.begin_episode(run, "make_stone_pickaxe", "craft", 0, "crafter", (4, 4, 3))
    wood = store.begin_attempt(ep, Subgoal("collect", "wood", 1), "fast", 0)
    _act(store, ep, wood, 0, ["fast", "guard", "fast"])
    store.end_attempt(wood, 3, False, Failure("stalled", "no progress"))
    again = store.begin_attempt(ep, Subgoal("collect", "wood", 1), "slow", 3, corrects=wood)
    _act(store, ep, again, 3, ["slow", "slow"])  # the hand-off
    store.end_attempt(again, 5, True, None)
    pick = store.begin_attempt(ep, Subgoal("make", "stone_pickaxe", 1), "slow", 5)
    _act(store, ep, pick, 5, ["slow"])  # routed: no adapter trusted with it
    store.end_attempt(pick, 6, True, None)
    store.end_episode(ep, True, 6, "success")
    # An unfinished episode counts for nothing.
    left = store.begin_episode(run, "collect_wood_4", "gather", 1, "crafter", (4, 4, 3))
    other = store.begin_attempt(left, Subgoal("collect", "wood", 4), "slow", 0)
    _act(store, left, other, 0, ["slow"] * 4)
    store.close()

    use = tier_use(tmp_path)
    assert use is not None
    assert (use["games"], use["attempts"], use["handoffs"], use["routed"]) == (
        1, {"fast": 1, "slow": 2}, 1, 1,
    )  # fmt: skip
    assert use["actions"] == {"fast": 2, "guard": 1, "slow": 3}
    assert use["slow_attempt_share"] == pytest.approx(2 / 3)
    assert use["slow_action_share"] == pytest.approx(3 / 6)
    assert use["guard_action_share"] == pytest.approx(1 / 6)
    assert use_cells(use) == ("2.00 (1.00 + 1.00)", "50.0% / 16.7%")
