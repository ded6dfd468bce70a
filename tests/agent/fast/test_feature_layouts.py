"""A trunk is served the feature layout it was trained on: with the subgoal's own path rows
(the current layout), with the path features alone, or without them (trunks trained
before ``envs.paths``); the layouts nest, and stored steps load in the widest."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import envs
from agent.fast.adapters import save_adapter, with_adapters
from agent.fast.config import FastConfig, PolicyConfig
from agent.fast.executor import FastExecutor
from agent.fast.policy import FastPolicy
from agent.fast.trunk import save_trunk
from envs.features import BASE_DIM, VECTOR_DIM, decode, encode, features
from envs.goal import GOAL_VECTOR_DIM, with_goal
from envs.tasks import CATEGORIES
from memory.records import Subgoal
from tests.conftest import HashEmbedder


def _folder(tmp_path, vector_dim: int):
    torch.manual_seed(0)
    trunk = FastPolicy(PolicyConfig(hidden=32, vector_dim=vector_dim))
    sha = save_trunk(trunk, tmp_path / "trunk", {"note": "layout test"})
    model = with_adapters(trunk, CATEGORIES, init=False)
    for category in CATEGORIES:
        save_adapter(model, category, tmp_path / "adapters" / category, sha)
    return tmp_path


@pytest.mark.parametrize("vector_dim", [GOAL_VECTOR_DIM, VECTOR_DIM, BASE_DIM])
def test_the_executor_reads_the_layout_of_its_trunk(tmp_path, vector_dim):
    fast = FastExecutor(
        FastConfig(dir=str(_folder(tmp_path, vector_dim)), device="cpu"), HashEmbedder()
    )
    assert fast.available == set(CATEGORIES) and fast.width == vector_dim
    env = envs.make("crafter", max_episode_steps=50)
    obs, info = env.reset(seed=0)
    wood = Subgoal("collect", "wood")
    seen = fast.seen(obs, info, wood).vector
    assert seen.shape == (vector_dim,)
    other = fast.seen(obs, info, Subgoal("defeat", "zombie")).vector
    shared = min(vector_dim, VECTOR_DIM)  # only the goal rows depend on the subgoal
    np.testing.assert_array_equal(seen[:shared], other[:shared])
    fast.begin(wood, (0, 1))
    assert 0 <= fast.act(obs, info).action < 17


def test_the_goal_rows_follow_the_subgoal_and_the_trunk_reads_its_prefix(tmp_path):
    env = envs.make("crafter", max_episode_steps=50)
    obs, info = env.reset(seed=0)
    full = features(obs, info).vector[None]
    wood, zombie = with_goal(full, [("collect", "wood")]), with_goal(full, [("defeat", "zombie")])
    assert wood.shape == (1, GOAL_VECTOR_DIM)
    np.testing.assert_array_equal(wood[:, :VECTOR_DIM], full)
    assert not np.array_equal(wood, zombie)  # a tree and a zombie lie in other directions
    torch.manual_seed(0)
    trunk = FastPolicy(PolicyConfig(hidden=32, vector_dim=VECTOR_DIM)).eval()
    grid, text = torch.zeros(1, 2, 17, 17, dtype=torch.uint8), torch.zeros(1, 384)
    with torch.no_grad():  # a trunk of the full layout ignores the goal rows it is handed
        a = trunk(grid, text, torch.from_numpy(wood))
        b = trunk(grid, text, torch.from_numpy(zombie))
    assert torch.equal(a, b)


def test_both_layouts_decode_and_the_base_is_a_prefix_of_the_full_vector():
    env = envs.make("crafter", max_episode_steps=50)
    obs, info = env.reset(seed=1)
    full, base = features(obs, info), features(obs, info, paths=False)
    assert full.vector.shape == (VECTOR_DIM,) and base.vector.shape == (BASE_DIM,)
    np.testing.assert_array_equal(full.vector[:BASE_DIM], base.vector)
    for f in (full, base):
        np.testing.assert_array_equal(decode(encode(f)).vector, f.vector)
