"""Exploring for what has not been seen yet: walk to the edge of the known map, preferring the
edge where the target is likely (stone and tunnels for ores, grass for cows and saplings).

The frontier is every known cell the player can stand on (or dig into) with a never-seen
neighbour; standing there brings the cells behind it into view. A frontier cell is
chosen by path cost minus a discount for likely surroundings, and kept until it is
reached or stops being frontier, so the player does not dither between two edges.

With ``gain`` > 0 the discount is instead ``gain`` path steps per unseen cell the player
would see from the frontier cell (Crafter's 9 x 7 view), each weighted by how likely it is
to be a likely material: the share of likely cells among the seen cells around it. A
frontier cell that looks into a large unseen part of a mountain then beats one that only
nibbles at its edge.
"""

from __future__ import annotations

import numpy as np

from agent.slow.navigation import DIG, FREE, ID, search, terrain
from envs.map_memory import VIEW
from envs.paths import UNREACHED, walks

LIKELY: dict[str, tuple[str, ...]] = {
    "coal": ("stone", "coal"),
    "iron": ("path", "iron", "stone"),
    "diamond": ("path", "diamond", "iron"),
    "stone": ("stone",),
    "tree": ("tree",),
    "grass": ("grass",),
    "water": ("water", "sand"),
    "cow": ("grass",),
    "zombie": ("grass",),
    "skeleton": ("path",),
    "plant": ("grass",),
}
"""Target -> materials that tend to surround it in Crafter's worlds."""
DISCOUNT = 8
"""Path cost forgiven per likely cell near a frontier cell (up to ``MAX_LIKELY`` cells)."""
MAX_LIKELY = 4
AROUND = 5
"""Half size of the box of seen cells whose likely share estimates an unseen cell's."""


def likely_near(target: str) -> frozenset[int]:
    """Semantic ids of the materials around which ``target`` is likely found."""
    return frozenset(ID[m] for m in LIKELY.get(target, ()))


class Explorer:
    """Chooses and keeps a frontier cell; one :meth:`step` per env step."""

    def __init__(self, max_cost: int = 400, gain: float = 0.0):
        self.max_cost = max_cost
        self.gain = gain
        """Path steps forgiven per likely cell a frontier cell brings into view (0: the
        fixed discount for likely cells already seen near it)."""
        self.target: tuple[int, int] | None = None
        self._bad: set[tuple[int, int]] = set()

    def forget(self) -> None:
        """A new subgoal: choose afresh."""
        self.target, self._bad = None, set()

    def step(
        self,
        world: np.ndarray,
        seen: np.ndarray,
        pos: tuple[int, int],
        facing: tuple[int, int],
        inventory: dict[str, int],
        prefer: frozenset[int] = frozenset(),
    ) -> int | None:
        """The next action toward the chosen frontier cell; None when none is reachable."""
        grid = terrain(world, inventory)
        grid[pos] = FREE
        frontier = self._frontier(grid, world, seen)
        if self.target is not None and (self.target == pos or not frontier[self.target]):
            self.target = None
        for _ in range(3):
            if self.target is None:
                self.target = self._choose(grid, world, seen, frontier, pos, prefer)
                if self.target is None:
                    return None
            goal = self.target
            path = search(
                grid, pos, facing, lambda x, y, fx, fy, g=goal: (x, y) == g, self.max_cost
            )
            if path:
                return path[0]
            self._bad.add(goal)  # reachable by cells, not within the search's cost: drop it
            self.target = None
        return None

    def _frontier(self, grid: np.ndarray, world: np.ndarray, seen: np.ndarray) -> np.ndarray:
        unknown = ~seen
        near_unknown = np.zeros_like(unknown)
        near_unknown[1:, :] |= unknown[:-1, :]
        near_unknown[:-1, :] |= unknown[1:, :]
        near_unknown[:, 1:] |= unknown[:, :-1]
        near_unknown[:, :-1] |= unknown[:, 1:]
        standable = (grid == FREE) | ((grid == DIG) & (world != ID["tree"]))
        return seen & near_unknown & standable

    def _choose(self, grid, world, seen, frontier, pos, prefer) -> tuple[int, int] | None:
        dist = _distances(grid, pos, self.max_cost)
        xs, ys = np.nonzero(frontier & np.isfinite(dist))
        best, best_score = None, np.inf
        likely = np.isin(world, list(prefer)) if prefer else None
        view = _likely_in_view(likely, seen) if likely is not None and self.gain > 0 else None
        for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
            if (x, y) in self._bad:
                continue
            score = float(dist[x, y])
            if view is not None:
                score -= self.gain * float(view[x, y])
            elif likely is not None:
                around = likely[max(x - 3, 0) : x + 4, max(y - 3, 0) : y + 4]
                score -= DISCOUNT * min(int(around.sum()), MAX_LIKELY)
            if score < best_score:
                best, best_score = (x, y), score
        return best


def _distances(grid: np.ndarray, start: tuple[int, int], max_cost: int) -> np.ndarray:
    """Path cost from ``start`` to every cell over FREE and DIG cells (inf: unreachable)."""
    cost, _ = walks(grid, start[0], start[1], max_cost)
    return np.where(cost < UNREACHED, cost, np.inf)


def box_sum(a: np.ndarray, rx: int, ry: int) -> np.ndarray:
    """Sum of ``a`` over the box [x - rx, x + rx] x [y - ry, y + ry] at every cell (cells
    outside the map count 0)."""
    w, h = a.shape
    c = np.zeros((w + 1, h + 1))
    c[1:, 1:] = np.cumsum(np.cumsum(a, axis=0), axis=1)
    x0 = np.clip(np.arange(w) - rx, 0, w)
    x1 = np.clip(np.arange(w) + rx + 1, 0, w)
    y0 = np.clip(np.arange(h) - ry, 0, h)
    y1 = np.clip(np.arange(h) + ry + 1, 0, h)
    return c[np.ix_(x1, y1)] - c[np.ix_(x0, y1)] - c[np.ix_(x1, y0)] + c[np.ix_(x0, y0)]


def _likely_in_view(likely: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Expected number of likely cells among the unseen cells in view from each cell: each
    unseen cell counts the likely share of the seen cells within ``AROUND`` of it (the
    share over the whole seen map where none is that near)."""
    hits = likely & seen
    near_seen = box_sum(seen.astype(float), AROUND, AROUND)
    near_hits = box_sum(hits.astype(float), AROUND, AROUND)
    share = np.full(seen.shape, float(hits.sum()) / max(float(seen.sum()), 1.0))
    near = near_seen > 0
    share[near] = near_hits[near] / near_seen[near]
    return box_sum(np.where(seen, 0.0, share), VIEW[0], VIEW[1])
