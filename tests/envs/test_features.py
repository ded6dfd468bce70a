"""The policy's input features: read from the map memory only, laid out as documented."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.crafter_env import SEMANTIC_NAMES
from envs.features import (
    CROP,
    FACED_AT,
    FACING_AT,
    KINDS,
    N_MATERIALS,
    VECTOR_DIM,
    decode,
    encode,
    features,
)

ID = {n: i for i, n in enumerate(SEMANTIC_NAMES)}


def _played(steps: int = 60, seed: int = 3):
    env = envs.make("crafter", max_episode_steps=500)
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, _, _, _, info = env.step(int(rng.integers(0, 5)))
    return obs, info


def test_layout_centre_faced_cell_and_nearest_things():
    obs, info = _played()
    f = features(obs, info)
    assert f.grid.shape == (2, CROP, CROP) and f.grid.dtype == np.uint8
    assert f.vector.shape == (VECTOR_DIM,) and f.vector.dtype == np.float32
    c = CROP // 2
    assert f.grid[0, c, c] == ID["player"] + 1 and f.grid[1, c, c] == 1  # seen now
    memory, (px, py) = info["map"], (int(info["player_pos"][0]), int(info["player_pos"][1]))
    fx, fy = info["facing"]
    facing = f.vector[FACING_AT : FACING_AT + 4]  # left, right, up, down
    assert facing.sum() == 1 and facing.argmax() == [(-1, 0), (1, 0), (0, -1), (0, 1)].index(
        (fx, fy)
    )
    faced = f.vector[FACED_AT : FACED_AT + N_MATERIALS]
    assert faced.sum() == 1 and faced.argmax() == memory.grid[px + fx, py + fy] + 1
    # The nearest remembered tree, as the grid shows it (Manhattan distance).
    k = KINDS.index("tree")
    dx, dy, dist, known = f.vector[4 * k : 4 * k + 4]
    trees = np.argwhere(memory.grid == ID["tree"])
    if len(trees):
        best = np.abs(trees - [px, py]).sum(1).min()
        assert known == 1 and dist == pytest.approx(min(best / 32, 1.0))
        assert any(np.allclose([x - px, y - py], [dx * 32, dy * 32]) for x, y in trees)
    else:
        assert known == 0


def test_never_seen_cells_are_zero_and_the_world_beyond_the_window_is_not_read():
    obs, info = _played(steps=0)
    f = features(obs, info)
    assert (f.grid[0][f.grid[1] == 0] == 0).all()  # unseen: no material
    assert (f.grid[1] > 0).sum() <= 9 * 7  # the first window only
    diamond = KINDS.index("diamond")
    assert f.vector[4 * diamond + 3] == 0.0  # no diamond in sight yet, whatever the world holds


def test_encode_decode_round_trip_and_wrong_size_is_refused():
    obs, info = _played(steps=10)
    f = features(obs, info)
    back = decode(encode(f))
    assert (back.grid == f.grid).all() and (back.vector == f.vector).all()
    with pytest.raises(ValueError, match="record the episodes again"):
        decode(encode(f)[:-4])
