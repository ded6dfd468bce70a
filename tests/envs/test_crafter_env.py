from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.schema import ITEMS, STATUS


def test_passes_gymnasium_env_checker():
    env = envs.make("crafter", sees="world")
    check_env(env.unwrapped, skip_render_check=True)


def test_registered_id_and_backend_name_build_the_same_env():
    by_name = envs.make("crafter", sees="world")
    by_id = envs.make("peam/Crafter-v0")
    assert type(by_name.unwrapped) is type(by_id.unwrapped)
    assert "peam/Crafter-v0" in gymnasium.registry


def test_unknown_backend_names_the_choices():
    with pytest.raises(envs.UnknownBackendError, match="valid choices: crafter"):
        envs.make("minecraft-ish")


def test_observation_schema():
    env = envs.make("crafter", sees="world")
    obs, info = env.reset(seed=0)
    assert obs["rgb"].shape == (64, 64, 3) and obs["rgb"].dtype == np.uint8
    assert obs["inventory"].shape == (len(ITEMS),)
    assert obs["status"].tolist() == [9.0] * len(STATUS)
    assert obs["position"][:2].tolist() == info["player_pos"].tolist()
    assert info["semantic"].shape == (64, 64)
    assert set(info["achievements"]) >= {"place_table", "defeat_zombie"}
    assert info["kills"] == {"zombie": 0, "skeleton": 0}


def _rollout(seed: int, actions: list[int]):
    env = envs.make("crafter", sees="world")
    obs, info = env.reset(seed=seed)
    out = [(obs["rgb"].copy(), info["player_pos"].copy())]
    for a in actions:
        obs, reward, term, trunc, info = env.step(a)
        out.append((obs["rgb"].copy(), info["player_pos"].copy(), reward, term, trunc))
    return out, info


def test_same_seed_same_actions_same_trajectory():
    # Long enough for creatures to spawn and despawn (Crafter's own sets would diverge).
    actions = list(np.random.default_rng(1).integers(0, 6, size=600))
    a, info_a = _rollout(5, actions)
    b, info_b = _rollout(5, actions)
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(info_a["semantic"], info_b["semantic"])
    assert info_a["inventory"] == info_b["inventory"]


def test_seed_is_independent_of_what_ran_before():
    env = envs.make("crafter", sees="world")
    env.reset(seed=1)
    for _ in range(20):
        env.step(3)
    _, first = env.reset(seed=7)
    _, fresh = envs.make("crafter", sees="world").reset(seed=7)
    np.testing.assert_array_equal(first["semantic"], fresh["semantic"])


def test_different_seeds_give_different_worlds():
    _, a = envs.make("crafter", sees="world").reset(seed=1)
    _, b = envs.make("crafter", sees="world").reset(seed=2)
    assert not np.array_equal(a["semantic"], b["semantic"])


def test_time_limit_is_truncation():
    env = envs.make("crafter", max_episode_steps=5)
    env.reset(seed=0)
    flags = [env.step(0)[2:4] for _ in range(5)]
    assert flags[-1] == (False, True)
    assert all(f == (False, False) for f in flags[:-1])


def test_death_is_termination():
    env = envs.make("crafter", sees="world")
    env.reset(seed=0)
    env.unwrapped._env._player.health = 0
    _, _, terminated, truncated, _ = env.step(0)
    assert terminated and not truncated


def test_player_position_is_a_copy():
    env = envs.make("crafter", sees="world")
    _, info = env.reset(seed=0)
    before = info["player_pos"].copy()
    for a in (1, 2, 3, 4) * 3:
        env.step(a)
    np.testing.assert_array_equal(info["player_pos"], before)


def test_kill_events_are_reported():
    env = envs.make("crafter", sees="world")
    env.reset(seed=0)
    player = env.unwrapped._env._player
    player.achievements["defeat_zombie"] += 1
    _, _, _, _, info = env.step(0)
    assert "defeat_zombie" in info["events"]
    assert info["kills"]["zombie"] == 1
