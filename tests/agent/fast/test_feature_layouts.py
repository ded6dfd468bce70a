"""A trunk is served the feature layout it was trained on: with the path features (the
current layout) or without (trunks trained before ``envs.paths``, e.g. published ones)."""

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


@pytest.mark.parametrize(("vector_dim", "paths"), [(VECTOR_DIM, True), (BASE_DIM, False)])
def test_the_executor_reads_the_layout_of_its_trunk(tmp_path, vector_dim, paths):
    fast = FastExecutor(
        FastConfig(dir=str(_folder(tmp_path, vector_dim)), device="cpu"), HashEmbedder()
    )
    assert fast.available == set(CATEGORIES) and fast.paths is paths
    env = envs.make("crafter", max_episode_steps=50)
    obs, info = env.reset(seed=0)
    assert fast.seen(obs, info).vector.shape == (vector_dim,)
    fast.begin(Subgoal("collect", "wood"), (0, 1))
    assert 0 <= fast.act(obs, info).action < 17


def test_both_layouts_decode_and_the_base_is_a_prefix_of_the_full_vector():
    env = envs.make("crafter", max_episode_steps=50)
    obs, info = env.reset(seed=1)
    full, base = features(obs, info), features(obs, info, paths=False)
    assert full.vector.shape == (VECTOR_DIM,) and base.vector.shape == (BASE_DIM,)
    np.testing.assert_array_equal(full.vector[:BASE_DIM], base.vector)
    for f in (full, base):
        np.testing.assert_array_equal(decode(encode(f)).vector, f.vector)
