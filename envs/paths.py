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
    lut = np.full(len(SEMANTIC_NAMES) + 1, BLOCKED, dtype=np.int8)
    lut[_WALK] = FREE
    for material, tool in DIGGABLE.items():
        if tool is None or inventory.get(tool, 0) > 0:
            lut[ID[material] + 1] = DIG
    return lut[grid + 1]


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
def _cheapest(score, mask, dist, first):  # pragma: no cover - compiled
    """Least ``score`` over ``mask`` cells reached by a walk: (its walk cost, first moves)."""
    w, h = mask.shape
    low, cost, bits = _INF, _INF, 0
    for x in range(w):
        for y in range(h):
            if not mask[x, y] or dist[x, y] >= _INF:
                continue
            if score[x, y] < low:
                low, cost, bits = score[x, y], dist[x, y], first[x, y]
            elif score[x, y] == low:
                bits |= first[x, y]
    return cost, bits


@numba.njit(cache=True)
def _box(mask, r):  # pragma: no cover - compiled
    """Count of ``mask`` cells in the (2r+1)^2 square around each cell."""
    w, h = mask.shape
    c = np.zeros((w + 1, h + 1), dtype=np.int64)
    for x in range(w):
        for y in range(h):
            c[x + 1, y + 1] = c[x, y + 1] + c[x + 1, y] - c[x, y] + (1 if mask[x, y] else 0)
    out = np.empty((w, h), dtype=np.int64)
    for x in range(w):
        x0, x1 = max(x - r, 0), min(x + r + 1, w)
        for y in range(h):
            y0, y1 = max(y - r, 0), min(y + r + 1, h)
            out[x, y] = c[x1, y1] - c[x0, y1] - c[x1, y0] + c[x0, y0]
    return out


@numba.njit(cache=True)
def _frontier_rows(grid, cells, seen, groups, dist, first, px, py, out):  # pragma: no cover
    """Rows of the frontier targets (one per group of likely materials) into ``out``."""
    w, h = grid.shape
    frontier = np.zeros((w, h), dtype=np.bool_)
    for x in range(w):
        for y in range(h):
            if not seen[x, y] or (x == px and y == py):
                continue
            stand = cells[x, y] == FREE or (cells[x, y] == DIG and grid[x, y] != TREE)
            if not stand:
                continue
            for d in range(4):
                nx, ny = x + _DX[d], y + _DY[d]
                if 0 <= nx < w and 0 <= ny < h and not seen[nx, ny]:
                    frontier[x, y] = True
                    break
    likely = np.zeros((w, h), dtype=np.bool_)
    for g in range(groups.shape[0]):
        score = dist.copy()
        if groups[g].any():
            for x in range(w):
                for y in range(h):
                    likely[x, y] = groups[g, grid[x, y] + 1]
            near = _box(likely, RADIUS)
            for x in range(w):
                for y in range(h):
                    score[x, y] -= DISCOUNT * min(near[x, y], MAX_LIKELY)
        out[g] = _cheapest(score, frontier, dist, first)


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
    near = _box(grid == ID["table"], 1) > 0
    rows[len(KINDS)] = _cheapest(dist, near, dist, first)
    near &= _box(grid == ID["furnace"], 1) > 0
    rows[len(KINDS) + 1] = _cheapest(dist, near, dist, first)
    seen = memory.last_seen >= 0 if hasattr(memory, "last_seen") else grid >= 0
    _frontier_rows(grid, cells, seen, _GROUPS, dist, first, px, py, rows[len(KINDS) + 2 :])
    out = np.zeros((len(TARGETS), PER_TARGET), dtype=np.float32)
    reached = rows[:, 0] < _INF
    out[:, :4] = (rows[:, 1:2] >> np.arange(4)) & 1
    out[:, 4] = np.where(reached, np.minimum(rows[:, 0] / COST_SCALE, 1.0), 1.0)
    out[:, 5] = reached
    out[~reached, :4] = 0.0
    return out.ravel()
