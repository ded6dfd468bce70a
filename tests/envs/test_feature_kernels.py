"""The compiled feature kernels give what their definitions say, on random remembered maps.

Each kernel is checked against a direct numpy statement of its definition (the way the
features were computed before the kernels), so a trunk trained on either reads the same
vector."""

from __future__ import annotations

import numpy as np
import pytest

from envs import features as F
from envs import paths as P
from envs.crafter_env import SEMANTIC_NAMES

INF = P.UNREACHED


def _random_map(seed: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """A 24x20 map with never-seen cells (-1), stations and every material; the player's
    cell (px, py) is walkable ground."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, len(SEMANTIC_NAMES), size=(24, 20)).astype(np.int16)
    grass = rng.random(grid.shape) < 0.5
    grid[grass] = P.ID["grass"]
    unseen = rng.random(grid.shape) < rng.uniform(0.1, 0.6)
    grid[unseen] = -1
    px, py = int(rng.integers(0, 24)), int(rng.integers(0, 20))
    grid[px, py] = P.ID["grass"]
    seen = grid >= 0
    return grid, seen, px, py


def _nearest_reference(mask: np.ndarray, px: int, py: int) -> tuple[int, int]:
    if not mask.any():
        return (-1, -1)
    xs = np.abs(np.arange(mask.shape[0]) - px)[:, None]
    ys = np.abs(np.arange(mask.shape[1]) - py)[None, :]
    flat = int(np.where(mask, xs + ys, np.iinfo(np.int32).max).argmin())
    return divmod(flat, mask.shape[1])


def _box(mask: np.ndarray, r: int) -> np.ndarray:
    padded = np.pad(mask.astype(np.int64), r)
    w, h = mask.shape
    return sum(
        padded[r + dx : r + dx + w, r + dy : r + dy + h]
        for dx in range(-r, r + 1)
        for dy in range(-r, r + 1)
    )


def _cheapest(score, mask, dist, first) -> tuple[int, int]:
    low, cost, bits = INF, INF, 0
    for x, y in zip(*np.nonzero(mask & (dist < INF)), strict=True):
        if score[x, y] < low:
            low, cost, bits = score[x, y], dist[x, y], first[x, y]
        elif score[x, y] == low:
            bits |= first[x, y]
    return int(cost), int(bits)


@pytest.mark.parametrize("seed", range(20))
def test_nearest_cells_are_the_first_least_distant_ones(seed):
    grid, _, px, py = _random_map(seed)
    cells = F._nearest_cells(grid, F._KIND_IDS, F._WALKABLE, px, py)
    for i, kind_id in enumerate(F._KIND_IDS):
        assert tuple(cells[i]) == _nearest_reference(grid == kind_id, px, py)
    unknown = np.pad(grid < 0, 1)
    near_unknown = unknown[:-2, 1:-1] | unknown[2:, 1:-1] | unknown[1:-1, :-2] | unknown[1:-1, 2:]
    frontier = near_unknown & F._WALKABLE[grid + 1]
    assert tuple(cells[-1]) == _nearest_reference(frontier, px, py)


@pytest.mark.parametrize("seed", range(20))
def test_station_and_frontier_rows_follow_their_definitions(seed):
    grid, seen, px, py = _random_map(seed)
    cells = P.terrain(grid, {"wood_pickaxe": seed % 2})
    cells[px, py] = P.FREE
    dist, first = P.walks(cells, px, py, P.MAX_COST)

    rows = np.empty((2, 2), dtype=np.int64)
    P._station_rows(grid, P.ID["table"], P.ID["furnace"], dist, first, rows)
    near = _box(grid == P.ID["table"], 1) > 0
    assert tuple(rows[0]) == _cheapest(dist, near, dist, first)
    near &= _box(grid == P.ID["furnace"], 1) > 0
    assert tuple(rows[1]) == _cheapest(dist, near, dist, first)

    out = np.empty((len(P.LIKELY), 2), dtype=np.int64)
    P._frontier_rows(grid, cells, seen, P._GROUPS, dist, first, px, py, out)
    stand = (cells == P.FREE) | ((cells == P.DIG) & (grid != P.TREE))
    unseen = np.pad(~seen, 1)
    edge = unseen[:-2, 1:-1] | unseen[2:, 1:-1] | unseen[1:-1, :-2] | unseen[1:-1, 2:]
    frontier = seen & stand & edge
    frontier[px, py] = False
    for g in range(len(P.LIKELY)):
        likely = P._GROUPS[g][grid + 1]
        score = dist - P.DISCOUNT * np.minimum(_box(likely, P.RADIUS), P.MAX_LIKELY)
        assert tuple(out[g]) == _cheapest(score, frontier, dist, first), list(P.LIKELY)[g]


def test_a_step_asked_twice_is_computed_once_and_a_new_step_is_not_reused():
    import envs

    env = envs.make("crafter")
    obs, info = env.reset(seed=0)
    first = F.features(obs, info)
    assert F.features(obs, info) is first  # the recorder reuses what the executor computed
    F.clear_cache()
    again = F.features(obs, info)
    assert again is not first and np.array_equal(again.vector, first.vector)
    obs, _, _, _, info = env.step(3)
    assert F.features(obs, info) is not again
