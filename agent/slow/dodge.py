"""Keeping out of arrows: never step in front of one, and step aside from one flying at you.

A Crafter skeleton shoots along its longer axis toward the player when it is at most five
cells away (Manhattan). The arrow flies one cell per step through grass, sand, path, water
and lava and takes 2 health from whatever it runs into. The player moves before the arrows
each step, so two rules keep it out of their way:

- **no step in front of an arrow** (:meth:`Dodge.blocks`): a move onto the cell an arrow
  flies into next is held back (the player waits a step);
- **a step aside** (:meth:`Dodge.step`): an arrow in the player's row or column, flying
  at it with open cells between, misses a player who steps sideways onto ground no arrow
  is aimed at.

(Also stepping out of a visible skeleton's row or column within its range, before it
shoots, did much worse: make_iron_pickaxe 54 won of 100 against 78 with these two rules,
arrow hits 195 against 36; docs/benchmarks.md.)

An arrow's direction is where it came from on the previous step; one seen for the first
time may fly any way. Only the visible window is read: the map memory's grid shows
creatures in the current view only (``envs.map_memory``).
"""

from __future__ import annotations

import numpy as np

from agent.slow.navigation import DIRS, ID, MOVE, WALKABLE_IDS
from envs.map_memory import VIEW

ARROW = ID["arrow"]
FLIGHT = frozenset(ID[n] for n in ("grass", "sand", "path", "water", "lava"))
"""Cells an arrow flies through (Crafter's ``Arrow.walkable``)."""
REACH = 4
"""Farthest arrow (cells along the line) worth a step aside."""
STEP = {action: d for d, action in MOVE.items()}

Cell = tuple[int, int]
Shooter = tuple[Cell, tuple[Cell, ...]]
"""Where an arrow is and the directions it may fly."""


class Dodge:
    """Per episode; :meth:`step` once per environment step, then :meth:`blocks`."""

    def __init__(self) -> None:
        self._last: set[Cell] = set()
        self._next: set[Cell] = set()
        """Cells an arrow in view may fly into on the coming step."""

    def step(self, grid: np.ndarray, pos: Cell) -> int | None:
        """The move out of harm's way, or None (nothing aimed at the player, or no free
        side cell)."""
        arrows = _in_view(grid, pos, ARROW)
        last, self._last = self._last, set(arrows)
        shooters: list[Shooter] = []
        for a in arrows:
            came = tuple(d for d in DIRS if (a[0] - d[0], a[1] - d[1]) in last)
            shooters.append((a, came if len(came) == 1 else DIRS))
        self._next = {(a[0] + d[0], a[1] + d[1]) for a, dirs in shooters for d in dirs}
        if not any(_aimed(grid, s, pos, pos) for s in shooters):
            return None
        for d in DIRS:
            cell = (pos[0] + d[0], pos[1] + d[1])
            safe = cell not in self._next and not any(_aimed(grid, s, cell, pos) for s in shooters)
            if safe and _free(grid, cell):
                return MOVE[d]
        return None

    def blocks(self, pos: Cell, action: int) -> bool:
        """``action`` moves the player onto a cell an arrow flies into next."""
        d = STEP.get(action)
        return d is not None and (pos[0] + d[0], pos[1] + d[1]) in self._next


def _in_view(grid: np.ndarray, pos: Cell, kind: int) -> list[Cell]:
    x0, y0 = max(pos[0] - VIEW[0], 0), max(pos[1] - VIEW[1], 0)
    area = grid[x0 : pos[0] + VIEW[0] + 1, y0 : pos[1] + VIEW[1] + 1]
    return [(x0 + int(x), y0 + int(y)) for x, y in zip(*np.nonzero(area == kind), strict=True)]


def _aimed(grid: np.ndarray, shooter: Shooter, cell: Cell, player: Cell) -> bool:
    """The arrow would reach ``cell``: along one of its directions, near enough, open cells
    between (the ``player``'s cell counts as open: the player is leaving it)."""
    source, dirs = shooter
    dx, dy = cell[0] - source[0], cell[1] - source[1]
    far = abs(dx) + abs(dy)
    if (dx and dy) or far == 0 or far > REACH or (_sign(dx), _sign(dy)) not in dirs:
        return False
    step = (_sign(dx), _sign(dy))
    between = ((source[0] + k * step[0], source[1] + k * step[1]) for k in range(1, far))
    return all(c == player or int(grid[c]) in FLIGHT for c in between)


def _free(grid: np.ndarray, cell: Cell) -> bool:
    inside = 0 <= cell[0] < grid.shape[0] and 0 <= cell[1] < grid.shape[1]
    return inside and int(grid[cell]) in WALKABLE_IDS


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)
