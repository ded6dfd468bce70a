"""What the fast policy (and the retrieval agent) read: the map memory, as the slow tier uses it.

One decision's input is a :class:`Features`:

- ``grid`` (2, CROP, CROP) uint8, an egocentric crop of the map memory centred on the
  player: channel 0 the remembered material (semantic id + 1; 0 = never seen,
  ``OUTSIDE`` = beyond the world's edge), channel 1 how long ago the cell was last seen
  (0 = never, 1 = in view now, up to 255).
- ``vector`` (VECTOR_DIM,) float32: for each kind in :data:`KINDS` the nearest remembered
  instance as (dx, dy, distance, known); the nearest frontier cell (a seen, walkable cell
  next to a never-seen one) the same way; facing; the faced cell's material (one-hot)
  and which of the four neighbours are walkable; daylight; sleeping; the last
  :data:`HISTORY` actions one-hot; inventory; status (:data:`BASE_DIM` values); then the
  path features (``envs.paths``: the first moves of the cheapest walks over the map memory
  to each kind of thing, to where crafting works and to the frontier; :data:`PATH_DIM`).
  A trunk trained before the path features (``vector_dim == BASE_DIM``) is served the
  base vector alone (``features(..., paths=False)``).

Everything comes from ``info["map"]`` (what the agent has seen), never from the world.
Features are stored with every step (:func:`encode` / :func:`decode`), so training
reads exactly what the policy saw.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np
from crafter import constants

from envs.crafter_env import ACTIONS, SEMANTIC_NAMES
from envs.paths import KINDS, PATH_DIM, path_vector
from envs.schema import ITEMS, STATUS

CROP = 17
"""Side of the egocentric crop in cells (odd: the player is the centre cell)."""
HISTORY = 4
"""How many of the last actions the vector carries."""
N_ACTIONS = 17
OUTSIDE = len(SEMANTIC_NAMES) + 1
"""Channel-0 value of a cell beyond the world's edge."""
N_MATERIALS = OUTSIDE + 1
"""Distinct channel-0 values (never seen, each semantic id, outside)."""
SCALE = 32.0
"""Offsets and distances are divided by this and clipped to [-1, 1]."""
BASE_DIM = (
    4 * (len(KINDS) + 1) + 4 + N_MATERIALS + 4 + 2 + HISTORY * (N_ACTIONS + 1)
    + len(ITEMS) + len(STATUS)
)  # fmt: skip
"""The vector without the path features (trunks trained before them read this much)."""
VECTOR_DIM = BASE_DIM + PATH_DIM
_ID = {name: i for i, name in enumerate(SEMANTIC_NAMES)}
_KIND_IDS = np.array([_ID[k] for k in KINDS])
_CREATURES = frozenset(("cow", "zombie", "skeleton"))
_WALKABLE = np.zeros(N_MATERIALS, dtype=bool)
_WALKABLE[[_ID[n] + 1 for n in ("grass", "sand", "path")]] = True
"""Indexed by semantic id + 1 (so a never-seen cell, -1, reads False)."""
_FACING = ((-1, 0), (1, 0), (0, -1), (0, 1))
_LAVA = _ID["lava"] + 1
_MOVE_NAMES = ("move_left", "move_right", "move_up", "move_down")
_MOVES = tuple(
    (ACTIONS.index(name), CROP // 2 + dx, CROP // 2 + dy)
    for name, (dx, dy) in zip(_MOVE_NAMES, _FACING, strict=True)
)


class Features(NamedTuple):
    grid: np.ndarray
    """(2, CROP, CROP) uint8: material + 1 and age of each cell around the player."""
    vector: np.ndarray
    """(VECTOR_DIM,) float32 (see the module docstring)."""


_RECENT: dict[tuple[int, bool], tuple[dict[str, Any], dict[str, Any], int, Features]] = {}
"""The last steps' features by (id of info, paths), with the obs and info they came from
(held, so an id cannot be reused while its entry lives) and the map memory's step."""
_KEEP = 128


def features(obs: dict[str, np.ndarray], info: dict[str, Any], paths: bool = True) -> Features:
    """The policy input at this step, from the map memory in ``info["map"]`` (``paths``:
    with the path features; without, the layout of trunks trained before them).

    A step asked twice (the executor acts, then the runner records what it saw) is
    computed once: the result is remembered for the same ``obs`` and ``info`` objects at
    the same map-memory step. Callers must not modify the returned arrays."""
    memory = info["map"]
    key = (id(info), paths)
    hit = _RECENT.get(key)
    if hit is not None and hit[0] is obs and hit[1] is info and hit[2] == memory.step:
        return hit[3]
    f = _compute(obs, info, memory, paths)
    if len(_RECENT) >= _KEEP:
        del _RECENT[next(iter(_RECENT))]
    _RECENT[key] = (obs, info, memory.step, f)
    return f


def clear_cache() -> None:
    """Forget the remembered steps (a benchmark timing the computation itself)."""
    _RECENT.clear()


def _compute(
    obs: dict[str, np.ndarray], info: dict[str, Any], memory: Any, paths: bool
) -> Features:
    px, py = int(info["player_pos"][0]), int(info["player_pos"][1])
    crop = _crop(memory.grid, memory.last_seen, memory.step, px, py)
    vector = _vector(obs, info, memory, px, py, crop)
    if paths:
        vector = np.concatenate([vector, path_vector(info)])
    return Features(crop, vector)


def _crop(grid: np.ndarray, last_seen: np.ndarray, step: int, px: int, py: int) -> np.ndarray:
    half = CROP // 2
    out = np.zeros((2, CROP, CROP), dtype=np.uint8)
    out[0] = OUTSIDE
    w, h = grid.shape
    x0, x1 = max(px - half, 0), min(px + half + 1, w)
    y0, y1 = max(py - half, 0), min(py + half + 1, h)
    ox, oy = x0 - (px - half), y0 - (py - half)
    sub = (slice(ox, ox + x1 - x0), slice(oy, oy + y1 - y0))
    out[0][sub] = (grid[x0:x1, y0:y1] + 1).astype(np.uint8)
    seen = last_seen[x0:x1, y0:y1]
    age = np.where(seen >= 0, np.minimum(step - seen, 254) + 1, 0)
    out[1][sub] = age.astype(np.uint8)
    return out


def _offset(dx: float, dy: float) -> tuple[float, float, float, float]:
    return (
        max(-1.0, min(dx / SCALE, 1.0)),
        max(-1.0, min(dy / SCALE, 1.0)),
        min((abs(dx) + abs(dy)) / SCALE, 1.0),
        1.0,
    )


_MISSING = (0.0, 0.0, 1.0, 0.0)


@numba.njit(cache=True)
def _nearest_cells(grid, kind_ids, walkable, px, py):  # pragma: no cover - compiled
    """One pass over ``grid``: per kind in ``kind_ids`` (then the frontier: a walkable cell
    next to a never-seen one) the first cell in row-major order at the least Manhattan
    distance from the player, as (x, y), or (-1, -1) when there is none."""
    w, h = grid.shape
    n = kind_ids.shape[0]
    slot = np.full(int(kind_ids.max()) + 1, -1, dtype=np.int64)
    for i in range(n):
        slot[kind_ids[i]] = i
    best = np.full(n + 1, 1 << 30, dtype=np.int64)
    cells = np.full((n + 1, 2), -1, dtype=np.int64)
    for x in range(w):
        for y in range(h):
            g = grid[x, y]
            d = abs(x - px) + abs(y - py)
            if 0 <= g < slot.shape[0] and slot[g] >= 0 and d < best[slot[g]]:
                best[slot[g]], cells[slot[g], 0], cells[slot[g], 1] = d, x, y
            if (
                d < best[n]
                and walkable[g + 1]
                and (
                    (x > 0 and grid[x - 1, y] < 0)
                    or (x < w - 1 and grid[x + 1, y] < 0)
                    or (y > 0 and grid[x, y - 1] < 0)
                    or (y < h - 1 and grid[x, y + 1] < 0)
                )
            ):
                best[n], cells[n, 0], cells[n, 1] = d, x, y
    return cells


def _vector(obs, info, memory, px: int, py: int, crop: np.ndarray) -> np.ndarray:
    cells = _nearest_cells(memory.grid, _KIND_IDS, _WALKABLE, px, py)
    parts: list[float] = []
    for i, kind in enumerate(KINDS):
        x, y = int(cells[i, 0]), int(cells[i, 1])
        best = _offset(x - px, y - py) if x >= 0 else _MISSING
        if kind in _CREATURES:
            best = _nearest_creature(memory, kind, best, px, py)
        parts.extend(best)
    x, y = int(cells[-1, 0]), int(cells[-1, 1])
    parts.extend(_offset(x - px, y - py) if x >= 0 else _MISSING)
    facing = tuple(info.get("facing", (0, 1)))
    parts.extend(1.0 if facing == f else 0.0 for f in _FACING)
    c = CROP // 2
    faced = np.zeros(N_MATERIALS, dtype=np.float32)
    faced[crop[0, c + facing[0], c + facing[1]]] = 1.0
    parts.extend(faced.tolist())
    parts.extend(float(_WALKABLE[crop[0, c + dx, c + dy]]) for dx, dy in _FACING)
    parts.append(float(info.get("daylight", 1.0)))
    parts.append(1.0 if info.get("sleeping") else 0.0)
    history = np.zeros((HISTORY, N_ACTIONS + 1), dtype=np.float32)
    recent = list(getattr(memory, "actions", ()))[-HISTORY:]
    recent = [-1] * (HISTORY - len(recent)) + recent
    for i, a in enumerate(recent):
        history[i, a if 0 <= a < N_ACTIONS else N_ACTIONS] = 1.0
    counts = np.concatenate([obs["inventory"].astype(np.float32), obs["status"]]) / 9.0
    return np.concatenate([np.asarray(parts, dtype=np.float32), history.ravel(), counts])


def _nearest_creature(memory, kind, best, px, py) -> tuple[float, ...]:
    """In view now (on the grid) or remembered where last seen, whichever is nearer."""
    for s in memory.sightings(kind) if hasattr(memory, "sightings") else ():
        candidate = _offset(s.x - px, s.y - py)
        if best[3] == 0.0 or candidate[2] < best[2]:
            best = candidate
    return best


def deadly_moves(f: Features) -> list[int]:
    """The moves that would step into lava the map memory shows next to the player (certain
    death in Crafter): the fast tier and the retrieval agent never take them."""
    return [a for a, x, y in _MOVES if f.grid[0, x, y] == _LAVA]


FACING_AT = 4 * (len(KINDS) + 1)
"""Where the four facing flags start in the vector."""
FACED_AT = FACING_AT + 4
"""Where the faced cell's one-hot material starts in the vector (after the facing flags)."""


def futile_moves(f: Features) -> list[int]:
    """The move into the cell the player already faces when that cell cannot be entered (a
    tree, stone, water, a table, a creature): in Crafter it changes nothing, so a policy
    going round in circles (``fast.unstick_after``) is kept from repeating it."""
    facing = f.vector[FACING_AT : FACING_AT + 4]
    return [
        a
        for i, (a, x, y) in enumerate(_MOVES)
        if facing[i] and not _WALKABLE[f.grid[0, x, y]] and f.grid[0, x, y] != _LAVA
    ]


_TABLE = _ID["table"] + 1
_TABLE_KNOWN = 4 * KINDS.index("table") + 3
"""The vector's "a table is remembered" flag."""
_PLACE_FURNACE = ACTIONS.index("place_furnace")


def stray_furnace(f: Features) -> list[int]:
    """``place_furnace`` while a table is remembered but none is next to the player: iron
    tools need a table and a furnace both within reach, so the slow tier places a furnace
    only beside a table (``agent.slow.controller``), and the fast tier keeps to the same."""
    c = CROP // 2
    if not f.vector[_TABLE_KNOWN] or (f.grid[0, c - 1 : c + 2, c - 1 : c + 2] == _TABLE).any():
        return []
    return [_PLACE_FURNACE]


INVENTORY_AT = BASE_DIM - len(ITEMS) - len(STATUS)
"""Where the inventory counts (divided by 9, in :data:`ITEMS` order) start in the vector."""
_MAKE = [
    (ACTIONS.index(f"make_{name}"), [_ID[s] + 1 for s in rule["nearby"]], rule["uses"])
    for name, rule in constants.make.items()
]
_PLACE = [
    (ACTIONS.index(f"place_{name}"), [_ID[w] + 1 for w in rule["where"]], rule["uses"])
    for name, rule in constants.place.items()
]


def futile_crafts(f: Features) -> list[int]:
    """The make and place actions Crafter ignores here, as the map memory and the inventory
    show: a make without its materials or with a station out of the 3x3 cells around the
    player (on the world's first row or column there is none: Crafter slices that area
    from the cell before the player's), a place without its materials or onto a cell it
    cannot go on (a creature there included). A confident policy pressed make_wood_pickaxe
    two cells from the table until the attempt gave up, 20 steps later."""
    c = CROP // 2
    area = f.grid[0, c - 1 : c + 2, c - 1 : c + 2]
    edge = bool((area[0, :] == OUTSIDE).all() or (area[:, 0] == OUTSIDE).all())
    held = np.rint(f.vector[INVENTORY_AT : INVENTORY_AT + len(ITEMS)] * 9.0)
    have = {item: held[i] for i, item in enumerate(ITEMS)}
    faced = int(np.argmax(f.vector[FACED_AT : FACED_AT + N_MATERIALS]))
    out = []
    for action, stations, uses in _MAKE:
        short = any(have.get(k, 0) < n for k, n in uses.items())
        if short or edge or not all((area == s).any() for s in stations):
            out.append(action)
    for action, where, uses in _PLACE:
        if faced not in where or any(have.get(k, 0) < n for k, n in uses.items()):
            out.append(action)
    return out


def encode(f: Features) -> bytes:
    """The bytes a step row stores (the store compresses them)."""
    return f.grid.tobytes() + f.vector.astype(np.float32).tobytes()


def decode(blob: bytes) -> Features:
    """Inverse of :func:`encode`."""
    n = 2 * CROP * CROP
    if len(blob) not in (n + 4 * VECTOR_DIM, n + 4 * BASE_DIM):
        raise ValueError(
            f"a features blob of {len(blob)} bytes; this runtime reads {n + 4 * VECTOR_DIM}"
            f" (or {n + 4 * BASE_DIM} without path features; record the episodes again with"
            " this version)"
        )
    grid = np.frombuffer(blob[:n], dtype=np.uint8).reshape(2, CROP, CROP)
    return Features(grid, np.frombuffer(blob[n:], dtype=np.float32))
