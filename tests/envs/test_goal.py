"""The subgoal's own path rows are picked out of the feature vector as documented."""

from __future__ import annotations

import numpy as np

import envs
from agent.slow.explore import LIKELY as EXPLORE_LIKELY
from envs.features import BASE_DIM, features
from envs.goal import EXPLORE_TOWARD, GOAL_DIM, goal_target, goal_vector
from envs.paths import LIKELY, PER_TARGET, TARGETS

_DIRS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def _row(vector: np.ndarray, name: str) -> np.ndarray:
    at = BASE_DIM + PER_TARGET * TARGETS.index(name)
    return vector[at : at + PER_TARGET]


def test_each_skill_names_the_thing_it_acts_on():
    assert goal_target("collect", "wood") == ("tree", "tree")
    assert goal_target("collect", "iron") == ("iron", "iron")
    assert goal_target("make", "wood_pickaxe") == ("near_table", "plain")
    assert goal_target("make", "iron_pickaxe") == ("near_table_furnace", "plain")
    assert goal_target("defeat", "skeleton") == ("skeleton", "tunnel")
    assert goal_target("sleep", "energy")[0] is None


def test_the_frontier_variants_are_the_slow_tiers_explorer_groups():
    for thing, materials in EXPLORE_LIKELY.items():
        assert LIKELY[EXPLORE_TOWARD[thing]] == materials


def test_rows_are_copied_from_the_vector_and_the_faced_flag_matches_the_map():
    env = envs.make("crafter", max_episode_steps=100)
    obs, info = env.reset(seed=3)
    rng = np.random.default_rng(0)
    tree = envs.crafter_env.SEMANTIC_NAMES.index("tree")
    for _ in range(300):  # walk until the player faces a tree
        obs, _, _, _, info = env.step(int(rng.integers(1, 5)))
        (px, py), (fx, fy) = (int(p) for p in info["player_pos"]), info["facing"]
        if info["map"].grid[px + fx, py + fy] == tree:
            break
    v = features(obs, info).vector
    subgoals = [("collect", "wood"), ("make", "wood_pickaxe")]
    out = goal_vector(np.stack([v, v]), subgoals)
    assert out.shape == (2, GOAL_DIM)
    np.testing.assert_array_equal(out[0, :PER_TARGET], _row(v, "tree"))
    np.testing.assert_array_equal(out[0, PER_TARGET : 2 * PER_TARGET], _row(v, "frontier_tree"))
    np.testing.assert_array_equal(out[1, :PER_TARGET], _row(v, "near_table"))
    assert info["map"].grid[px + fx, py + fy] == tree
    assert out[0, -1] == 1.0 and out[1, -1] == 0.0  # faces a tree; not a crafting spot
    assert list(out[0, :PER_TARGET]) == [*(float(d == (fx, fy)) for d in _DIRS), 0.0, 1.0]
