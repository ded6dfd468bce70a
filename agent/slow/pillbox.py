"""A shelter built from placed stones where there is no stone face to dig into.

The night burrow (``agent.slow.shelter``) needs a stone face two cells deep. Out on grass
or sand there is none, and a player in the open at night is worn down by zombies. Here
the player closes itself into a two-cell pocket ``s1, s2`` of open ground instead,
placing a stone on each of the pocket's six neighbours that is not solid already.

Crafter allows this only in a certain order. A stone goes on the cell the player faces,
and a move toward an open cell walks into it rather than turning, so an open cell is
faced only by walking toward it from the cell behind. The last stone goes on the
entrance from ``s1``, facing back out after a step ``s2 -> s1``. A breadth-first search
over (cell, facing, walls placed) finds the shortest such action list. Moves toward
lava, a creature or an unknown cell are never planned (the player may walk into them).
Everything is read from the map memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from agent.slow.navigation import DIRS, ID, MOVE, WALKABLE_IDS, stays_solid
from envs.crafter_env import ACTIONS

PLACE_STONE = ACTIONS.index("place_stone")
PLACEABLE = WALKABLE_IDS | {ID["water"]}
"""Where a stone may go that the plan builds on (Crafter also allows lava: never planned)."""
REACH = 3
"""Pockets start at most this many cells (each axis) from the player."""
MARGIN = 2
"""The search walks at most this far beyond the pocket's and the player's bounding box."""
CANDIDATES = 6
"""Pockets searched per plan (the fewest stones, then the nearest)."""
MAX_STEPS = 40


@dataclass(frozen=True)
class Pocket:
    """Two open cells in a line and the six cells around them."""

    cells: tuple[tuple[int, int], tuple[int, int]]
    walls: tuple[tuple[int, int], ...]
    """Every neighbour of the pocket; the last is the entrance, behind ``cells[0]``."""


def _pocket(s1: tuple[int, int], d: tuple[int, int]) -> Pocket:
    s2 = (s1[0] + d[0], s1[1] + d[1])
    px, py = -d[1], d[0]
    walls = (
        (s1[0] + px, s1[1] + py), (s1[0] - px, s1[1] - py), (s2[0] + px, s2[1] + py),
        (s2[0] - px, s2[1] - py), (s2[0] + d[0], s2[1] + d[1]), (s1[0] - d[0], s1[1] - d[1]),
    )  # fmt: skip
    return Pocket((s1, s2), walls)


def _value(world: np.ndarray, cell: tuple[int, int]) -> int | None:
    x, y = cell
    if 0 <= x < world.shape[0] and 0 <= y < world.shape[1]:
        return int(world[x, y])
    return None


def _ground(world: np.ndarray, pos: tuple[int, int]) -> np.ndarray:
    """The map with open ground under the player (the map shows the player on its cell)."""
    if _value(world, pos) in WALKABLE_IDS:
        return world
    world = world.copy()
    world[pos] = ID["grass"]
    return world


def stones_needed(
    world: np.ndarray, pocket: Pocket, pos: tuple[int, int] | None = None
) -> int | None:
    """Stones the pocket still takes (the player at ``pos``), or None when it cannot be
    built from what is known."""
    if pos is not None:
        world = _ground(world, pos)
    for cell in pocket.cells:
        if _value(world, cell) not in WALKABLE_IDS | {ID["player"]}:
            return None
    need = 0
    for wall in pocket.walls:
        v = _value(world, wall)
        if stays_solid(v):
            continue
        if v not in PLACEABLE:
            return None
        need += 1
    return need


def plan(
    world: np.ndarray, pos: tuple[int, int], facing: tuple[int, int], pocket: Pocket
) -> list[int] | None:
    """The shortest action list that ends with the player closed into ``pocket``."""
    world = _ground(world, pos)
    todo = [w for w in pocket.walls if not stays_solid(_value(world, w))]
    index = {w: i for i, w in enumerate(todo)}
    full = (1 << len(todo)) - 1
    xs = [pos[0], *(c[0] for c in pocket.walls)]
    ys = [pos[1], *(c[1] for c in pocket.walls)]
    lo = (min(xs) - MARGIN, min(ys) - MARGIN)
    hi = (max(xs) + MARGIN, max(ys) + MARGIN)

    def kind(cell: tuple[int, int], mask: int) -> str:
        i = index.get(cell)
        if i is not None and mask >> i & 1:
            return "solid"
        v = _value(world, cell)
        if v in WALKABLE_IDS:
            inside = lo[0] <= cell[0] <= hi[0] and lo[1] <= cell[1] <= hi[1]
            return "open" if inside else "avoid"
        return "solid" if stays_solid(v) else "avoid"

    start = (pos, DIRS.index(facing), 0)
    parent: dict[tuple, tuple[tuple, int] | None] = {start: None}
    queue = deque([(start, 0)])
    while queue:
        state, depth = queue.popleft()
        cell, f, mask = state
        if mask == full and cell in pocket.cells:
            actions: list[int] = []
            while parent[state] is not None:
                state, action = parent[state]  # type: ignore[misc]
                actions.append(action)
            return actions[::-1]
        if depth >= MAX_STEPS:
            continue
        nexts = []
        for d, (dx, dy) in enumerate(DIRS):
            to = (cell[0] + dx, cell[1] + dy)
            k = kind(to, mask)
            if k == "open":
                nexts.append(((to, d, mask), MOVE[(dx, dy)]))
            elif k == "solid" and d != f:
                nexts.append(((cell, d, mask), MOVE[(dx, dy)]))
        ahead = (cell[0] + DIRS[f][0], cell[1] + DIRS[f][1])
        i = index.get(ahead)
        if i is not None and not mask >> i & 1:
            nexts.append(((cell, f, mask | 1 << i), PLACE_STONE))
        for nxt, action in nexts:
            if nxt not in parent:
                parent[nxt] = (state, action)
                queue.append((nxt, depth + 1))
    return None


def choose(
    world: np.ndarray, pos: tuple[int, int], facing: tuple[int, int], stones: int
) -> tuple[Pocket, list[int]] | None:
    """The pocket near ``pos`` closed in the fewest actions with the stones held."""
    world = _ground(world, pos)
    options = []
    for dx in range(-REACH, REACH + 1):
        for dy in range(-REACH, REACH + 1):
            s1 = (pos[0] + dx, pos[1] + dy)
            for d in DIRS:
                pocket = _pocket(s1, d)
                need = stones_needed(world, pocket)
                if need is not None and 0 < need <= stones:
                    options.append((need, abs(dx) + abs(dy), pocket))
    options.sort(key=lambda o: (o[0], o[1]))
    best: tuple[Pocket, list[int]] | None = None
    for _, _, pocket in options[:CANDIDATES]:
        actions = plan(world, pos, facing, pocket)
        if actions is not None and (best is None or len(actions) < len(best[1])):
            best = (pocket, actions)
    return best
