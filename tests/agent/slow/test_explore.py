"""The explorer's choice of frontier: the fixed discount and the view-gain score."""

from __future__ import annotations

import numpy as np
import pytest

from agent.slow.explore import Explorer, box_sum, likely_near
from agent.slow.navigation import ID, MOVE


def test_box_sum_matches_a_direct_sum() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((9, 7))
    got = box_sum(a, 2, 1)
    for x in range(9):
        for y in range(7):
            want = a[max(x - 2, 0) : x + 3, max(y - 1, 0) : y + 2].sum()
            assert got[x, y] == pytest.approx(want)


def _two_edges() -> tuple[np.ndarray, np.ndarray]:
    """A seen square x, y in 8..21 of grass with the player at (12, 15). Near the left
    edge lie four stones in grass; the right part (x 17..21) is a mountain of stone with a
    grass corridor along y = 15. Everything outside the square is unseen (-1)."""
    world = np.full((30, 30), -1, dtype=np.int16)
    seen = np.zeros((30, 30), dtype=bool)
    seen[8:22, 8:22] = True
    world[seen] = ID["grass"]
    world[9:11, 13:15] = ID["stone"]
    world[17:22, 8:22] = ID["stone"]
    world[17:22, 15] = ID["grass"]
    return world, seen


def test_the_view_gain_walks_to_the_edge_that_looks_into_the_mountain() -> None:
    """Both edges have four or more stones near them, so the fixed discount is the same
    and the nearer left edge wins; counting the unseen cells each edge brings into view,
    weighted by the stone share around them, the right edge (into the mountain) wins."""
    world, seen = _two_edges()
    likely = likely_near("iron")
    fixed = Explorer(gain=0.0).step(world, seen, (12, 15), (1, 0), {}, likely)
    gain = Explorer(gain=1.0).step(world, seen, (12, 15), (1, 0), {}, likely)
    assert fixed == MOVE[(-1, 0)]
    assert gain == MOVE[(1, 0)]


def test_the_view_gain_without_likely_materials_is_the_nearest_edge() -> None:
    """A target with no likely surroundings: the gain has nothing to weigh and the nearest
    frontier cell wins, as with the fixed discount."""
    world, seen = _two_edges()
    got = Explorer(gain=1.0).step(world, seen, (12, 15), (1, 0), {}, frozenset())
    assert got == MOVE[(-1, 0)]
