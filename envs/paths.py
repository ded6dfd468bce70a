"""Where the cheapest walks over the map memory start: the fast policy's path features.

The slow tier finds its way by searching the remembered map (``agent.slow.navigation``);
the fast policy reads the outcome of one such search per step instead of the map alone.
From the player's cell, one Dijkstra over the remembered terrain (walkable ground costs
1, a cell the player can dig through 6, as the slow tier's explorer counts; never-seen
cells are walls) gives every reachable cell its cost and the set of first moves that
start a cheapest walk there. For each target in :data:`TARGETS` the vector then holds

    (left, right, up, down, cost / COST_SCALE, reachable)

where the four direction flags are the first moves of every cheapest walk to a cell
from which the target is faced (equal-cost walks are all kept, as the teacher's label
set keeps them); standing next to it already, the flag is the move that turns to it.
Targets: every kind the features name (creatures where last seen), the cells next to a
table (and to a table and a furnace: where crafting works), and the frontier (seen
cells next to never-seen ones), plain and weighted toward the surroundings where each
kind of target tends to be (the slow tier's explorer's discount).

Everything is read from the map memory; the kernels are compiled by numba (a few tens
of microseconds per step).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from envs.crafter_env import SEMANTIC_NAMES

ID = {name: i for i, name in enumerate(SEMANTIC_NAMES)}
KINDS: tuple[str, ...] = (
    "water", "grass", "sand", "tree", "stone", "coal", "iron", "diamond", "table",
    "furnace", "lava", "plant", "cow", "zombie", "skeleton",
)  # fmt: skip
"""Things the features locate (``envs.features``: nearest instance) and walk to (here)."""
LIKELY: dict[str, tuple[str, ...]] = {
    "plain": (),
    "stone": ("stone",),
    "coal": ("stone", "coal"),
    "iron": ("path", "iron", "stone"),
    "diamond": ("path", "diamond", "iron"),
    "tree": ("tree",),
    "grass": ("grass",),
    "water": ("water", "sand"),
    "tunnel": ("path",),
}
"""Frontier variants: the materials whose nearness discounts a frontier cell (the slow
tier's ``agent.slow.explore.LIKELY`` groups)."""
TARGETS: tuple[str, ...] = (
    *KINDS, "near_table", "near_table_furnace", *(f"frontier_{g}" for g in LIKELY)
)  # fmt: skip
PER_TARGET = 6
PATH_DIM = PER_TARGET * len(TARGETS)
COST_SCALE = 64.0
MAX_COST = 400
DIG_PENALTY = 3
"""Extra cost of a cell the player must dig through (the slow tier's search uses it too)."""
DIG_COST = 3 + DIG_PENALTY
DISCOUNT, MAX_LIKELY, RADIUS = 8, 4, 3
FREE, BLOCKED, DIG = 0, 1, 2
DIGGABLE = {"tree": None, "stone": "wood_pickaxe", "coal": "wood_pickaxe",
             "iron": "stone_pickaxe", "diamond": "iron_pickaxe"}  # fmt: skip
"""Material -> the tool that lets the player dig through it (None: bare hands)."""
_KIND_OF = np.full(len(SEMANTIC_NAMES) + 1, -1, dtype=np.int64)
for _i, _k in enumerate(KINDS):
    _KIND_OF[ID[_k] + 1] = _i
_WALK = np.zeros(len(SEMANTIC_NAMES) + 1, dtype=bool)
_WALK[[ID[n] + 1 for n in ("grass", "sand", "path")]] = True
_GROUPS = np.zeros((len(LIKELY), len(SEMANTIC_NAMES) + 1), dtype=bool)
for _g, _mats in enumerate(LIKELY.values()):
    _GROUPS[_g, [ID[m] + 1 for m in _mats]] = True
_DX = np.array([-1, 1, 0, 0])
_DY = np.array([0, 0, -1, 1])
_INF = 1 << 30
UNREACHED = _INF
"""Cost :func:`walks` gives a cell it cannot reach."""
TREE = ID["tree"]


def terrain(grid: np.ndarray, inventory: dict[str, int]) -> np.ndarray:
    """FREE / BLOCKED / DIG per cell of the remembered ``grid`` for a player holding
    ``inventory`` (never-seen cells are BLOCKED)."""
    tools = tuple(t for t in _TOOLS if inventory.get(t, 0) > 0)
    lut = _LUTS.get(tools)
    if lut is None:
        lut = np.full(len(SEMANTIC_NAMES) + 1, BLOCKED, dtype=np.int8)
        lut[_WALK] = FREE
        for material, tool in DIGGABLE.items():
            if tool is None or tool in tools:
                lut[ID[material] + 1] = DIG
        _LUTS[tools] = lut
    return lut[grid + 1]


_TOOLS = tuple(sorted({t for t in DIGGABLE.values() if t is not None}))
_LUTS: dict[tuple[str, ...], np.ndarray] = {}
"""Terrain lookup tables by the tools held (built once each)."""


@numba.njit(cache=True)
def _push(keys, vals, n, key, val):  # pragma: no cover - compiled
    i = n
    keys[i], vals[i] = key, val
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return n + 1


@numba.njit(cache=True)
def _pop(keys, vals, n):  # pragma: no cover - compiled
    key, val = keys[0], vals[0]
    n -= 1
    keys[0], vals[0] = keys[n], vals[n]
    i = 0
    while True:
        left, small = 2 * i + 1, i
        if left < n and keys[left] < keys[small]:
            small = left
        if left + 1 < n and keys[left + 1] < keys[small]:
            small = left + 1
        if small == i:
            break
        keys[small], keys[i] = keys[i], keys[small]
        vals[small], vals[i] = vals[i], vals[small]
        i = small
    return key, val, n


@numba.njit(cache=True)
def walks(cells, px, py, max_cost):  # pragma: no cover - compiled
    """Dijkstra from (px, py) over ``cells`` (FREE/BLOCKED/DIG): each cell's cost (``_INF``:
    unreachable) and the bit set of first moves (bit d = direction d) of its cheapest walks."""
    w, h = cells.shape
    dist = np.full((w, h), _INF, dtype=np.int64)
    first = np.zeros((w, h), dtype=np.int64)
    keys = np.empty(4 * w * h + 4, dtype=np.int64)
    vals = np.empty(4 * w * h + 4, dtype=np.int64)
    dist[px, py] = 0
    n = _push(keys, vals, 0, 0, px * h + py)
    while n > 0:
        cost, cell, n = _pop(keys, vals, n)
        x, y = cell // h, cell % h
        if cost > dist[x, y]:
            continue
        for d in range(4):
            nx, ny = x + _DX[d], y + _DY[d]
            if nx < 0 or ny < 0 or nx >= w or ny >= h or cells[nx, ny] == BLOCKED:
                continue
            ncost = cost + (1 if cells[nx, ny] == FREE else DIG_COST)
            if ncost > max_cost:
                continue
            bits = (1 << d) if (x == px and y == py) else first[x, y]
            if ncost < dist[nx, ny]:
                dist[nx, ny], first[nx, ny] = ncost, bits
                n = _push(keys, vals, n, ncost, nx * h + ny)
            elif ncost == dist[nx, ny]:
                first[nx, ny] |= bits
    return dist, first


@numba.njit(cache=True)
def _approach(labels, n_kinds, dist, first, px, py):  # pragma: no cover - compiled
    """Per kind: the least cost of a cell next to one of its cells, and the first moves."""
    w, h = labels.shape
    best = np.full(n_kinds, _INF, dtype=np.int64)
    bits = np.zeros(n_kinds, dtype=np.int64)
    for x in range(w):
        for y in range(h):
            k = labels[x, y]
            if k < 0:
                continue
            for d in range(4):  # stand at (sx, sy), one step in direction d from the thing
                sx, sy = x - _DX[d], y - _DY[d]
                if sx < 0 or sy < 0 or sx >= w or sy >= h or dist[sx, sy] >= _INF:
                    continue
                b = (1 << d) if (sx == px and sy == py) else first[sx, sy]
                if dist[sx, sy] < best[k]:
                    best[k], bits[k] = dist[sx, sy], b
                elif dist[sx, sy] == best[k]:
                    bits[k] |= b
    return best, bits


@numba.njit(cache=True)
def _station_rows(grid, table, furnace, dist, first, out):  # pragma: no cover - compiled
    """Rows of ``near_table`` and ``near_table_furnace`` into ``out``: the cheapest reached
    cell within one cell (diagonals too) of a table (and of a furnace): (cost, first moves
    of every walk of that cost)."""
    w, h = grid.shape
    for r in range(2):
        out[r, 0], out[r, 1] = _INF, 0
    for x in range(w):
        for y in range(h):
            if dist[x, y] >= _INF or dist[x, y] > out[1, 0]:
                continue
            has_table, has_furnace = False, False
            for nx in range(max(x - 1, 0), min(x + 2, w)):
                for ny in range(max(y - 1, 0), min(y + 2, h)):
                    has_table |= grid[nx, ny] == table
                    has_furnace |= grid[nx, ny] == furnace
            for r in range(2):
                if not has_table or (r == 1 and not has_furnace) or dist[x, y] > out[r, 0]:
                    continue
                if dist[x, y] < out[r, 0]:
                    out[r, 0], out[r, 1] = dist[x, y], first[x, y]
                else:
                    out[r, 1] |= first[x, y]


@numba.njit(cache=True)
def _frontier_rows(grid, cells, seen, groups, dist, first, px, py, out):  # pragma: no cover
    """Rows of the frontier targets (one per group of likely materials) into ``out``: per
    group, the frontier cell reached by a walk whose cost less ``DISCOUNT`` per likely
    material within ``RADIUS`` (at most ``MAX_LIKELY``) is least (ties: the first moves of
    all of them, the cost of the first in row-major order)."""
    w, h = grid.shape
    n_groups = groups.shape[0]
    member = np.zeros(groups.shape[1], dtype=np.int64)  # bit g: material in group g
    for g in range(n_groups):
        for m in range(groups.shape[1]):
            if groups[g, m]:
                member[m] |= 1 << g
    low = np.full(n_groups, _INF, dtype=np.int64)
    cost = np.full(n_groups, _INF, dtype=np.int64)
    bits = np.zeros(n_groups, dtype=np.int64)
    near = np.zeros(n_groups, dtype=np.int64)
    for x in range(w):
        for y in range(h):
            if not seen[x, y] or (x == px and y == py) or dist[x, y] >= _INF:
                continue
            stand = cells[x, y] == FREE or (cells[x, y] == DIG and grid[x, y] != TREE)
            if not stand:
                continue
            edge = False
            for d in range(4):
                nx, ny = x + _DX[d], y + _DY[d]
                if 0 <= nx < w and 0 <= ny < h and not seen[nx, ny]:
                    edge = True
                    break
            if not edge:
                continue
            near[:] = 0
            for nx in range(max(x - RADIUS, 0), min(x + RADIUS + 1, w)):
                for ny in range(max(y - RADIUS, 0), min(y + RADIUS + 1, h)):
                    mask = member[grid[nx, ny] + 1]
                    g = 0
                    while mask:
                        if mask & 1:
                            near[g] += 1
                        mask >>= 1
                        g += 1
            for g in range(n_groups):
                score = dist[x, y] - DISCOUNT * min(near[g], MAX_LIKELY)
                if score < low[g]:
                    low[g], cost[g], bits[g] = score, dist[x, y], first[x, y]
                elif score == low[g]:
                    bits[g] |= first[x, y]
    for g in range(n_groups):
        out[g, 0], out[g, 1] = cost[g], bits[g]


def path_vector(info: dict[str, Any]) -> np.ndarray:
    """(PATH_DIM,) float32: one row of (4 direction flags, cost, reachable) per target."""
    memory = info["map"]
    grid = memory.grid
    px, py = int(info["player_pos"][0]), int(info["player_pos"][1])
    cells = terrain(grid, info.get("inventory", {}))
    cells[px, py] = FREE
    dist, first = walks(cells, px, py, MAX_COST)
    labels = _KIND_OF[grid + 1]
    for s in getattr(memory, "creatures", {}).values():
        if s.kind in KINDS:
            labels[s.x, s.y] = KINDS.index(s.kind)
    best, bits = _approach(labels, len(KINDS), dist, first, px, py)
    rows = np.empty((len(TARGETS), 2), dtype=np.int64)
    rows[: len(KINDS), 0], rows[: len(KINDS), 1] = best, bits
    _station_rows(grid, ID["table"], ID["furnace"], dist, first, rows[len(KINDS) : len(KINDS) + 2])
    seen = memory.last_seen >= 0 if hasattr(memory, "last_seen") else grid >= 0
    _frontier_rows(grid, cells, seen, _GROUPS, dist, first, px, py, rows[len(KINDS) + 2 :])
    out = np.zeros((len(TARGETS), PER_TARGET), dtype=np.float32)
    reached = rows[:, 0] < _INF
    out[:, :4] = (rows[:, 1:2] >> np.arange(4)) & 1
    out[:, 4] = np.where(reached, np.minimum(rows[:, 0] / COST_SCALE, 1.0), 1.0)
    out[:, 5] = reached
    out[~reached, :4] = 0.0
    return out.ravel()
