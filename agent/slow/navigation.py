"""Shortest action sequences over Crafter's semantic map, searched over (cell, facing) states.

Facing matters because every interaction (collect, attack, place) acts on the
cell the player faces, and in Crafter a move toward a blocked cell only turns.
Cells that can be dug (trees, and stone-like blocks once the pickaxe is held)
are passable at a higher cost: face, ``do``, then step in.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from envs.crafter_env import ACTIONS, SEMANTIC_NAMES
from envs.paths import BLOCKED, DIG, DIG_PENALTY, FREE
from envs.paths import terrain as terrain  # the cost grid the searches here run on

DIRS: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))
MOVE = {
    d: ACTIONS.index(name)
    for d, name in zip(DIRS, ("move_left", "move_right", "move_up", "move_down"), strict=True)
}
DO = ACTIONS.index("do")
NOOP = ACTIONS.index("noop")

ID = {name: i for i, name in enumerate(SEMANTIC_NAMES)}
WALKABLE_IDS = frozenset(ID[n] for n in ("grass", "sand", "path"))
OPEN_IDS = WALKABLE_IDS | {
    ID[n] for n in ("lava", "player", "cow", "zombie", "skeleton", "arrow", "plant")
}
"""Cells that are or may become open to a monster: walkable ground, lava, creatures (they
stand on ground) and plants (a zombie, skeleton or cow next to a sapling destroys it,
leaving grass)."""


def stays_solid(v: int | None) -> bool:
    """A map value (None: outside the world) that blocks the player and monsters for good:
    known and not in :data:`OPEN_IDS`. Burrows and pockets are closed by such cells."""
    return v is None or (v >= 0 and v not in OPEN_IDS)


Goal = Callable[[int, int, int, int], bool]
"""goal(x, y, fx, fy): is standing at (x, y) facing (fx, fy) a goal state?"""


def search(
    grid: np.ndarray,
    start: tuple[int, int],
    facing: tuple[int, int],
    goal: Goal,
    max_cost: int = 400,
) -> list[int] | None:
    """Cheapest action list from (start, facing) to a goal state (None past ``max_cost``)."""
    return route(grid, start, facing, goal, max_cost)[0]


def route(
    grid: np.ndarray,
    start: tuple[int, int],
    facing: tuple[int, int],
    goal: Goal,
    max_cost: int = 400,
    ties: bool = False,
) -> tuple[list[int] | None, frozenset[int]]:
    """:func:`search`, and with ``ties`` the first actions of *every* cheapest action list
    (the set of equally good actions a teacher's label keeps); else just the path's first."""
    w, h = grid.shape
    cells = grid.tolist()
    fi = DIRS.index(facing)
    begin = (start[0], start[1], fi)
    best: dict[tuple[int, int, int], int] = {begin: 0}
    parent: dict[tuple[int, int, int], tuple[tuple[int, int, int], tuple[int, ...]]] = {}
    first: dict[tuple[int, int, int], set[int]] = {}
    heap = [(0, begin)]
    found: tuple[int, tuple[int, int, int]] | None = None
    choices: set[int] = set()
    while heap:
        cost, state = heapq.heappop(heap)
        if found is not None and cost > found[0]:
            break
        if cost > best.get(state, 1 << 30) or cost > max_cost:
            continue
        x, y, f = state
        fx, fy = DIRS[f]
        if goal(x, y, fx, fy):
            if found is None:
                found = (cost, state)
            choices |= first.get(state, set())
            if not ties:
                break
            continue
        for d, (dx, dy) in enumerate(DIRS):
            nx, ny = x + dx, y + dy
            move = MOVE[(dx, dy)]
            kind = cells[nx][ny] if 0 <= nx < w and 0 <= ny < h else BLOCKED
            if kind == FREE:
                nxt, step, extra = (nx, ny, d), (move,), 1
            elif kind == DIG and d == f:
                nxt, step, extra = (nx, ny, d), (DO, move), 2 + DIG_PENALTY
            elif d != f:  # a wall or a cell to dig: turn to face it (dig it from there)
                nxt, step, extra = (x, y, d), (move,), 1
            else:
                continue
            ncost = cost + extra
            old = best.get(nxt, 1 << 30)
            if ncost < old:
                best[nxt] = ncost
                parent[nxt] = (state, step)
                heapq.heappush(heap, (ncost, nxt))
                if ties:
                    first[nxt] = set(first[state]) if state in first else {step[0]}
            elif ties and ncost == old and nxt != begin:
                first[nxt] |= first[state] if state in first else {step[0]}
    if found is None:
        return None, frozenset()
    state = found[1]
    actions: list[int] = []
    while state in parent:
        state, step = parent[state]
        actions[:0] = step
    return actions, frozenset(choices) if ties and choices else frozenset(actions[:1])
