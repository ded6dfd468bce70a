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

import numpy as np

from envs.crafter_env import SEMANTIC_NAMES
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


class Features(NamedTuple):
    grid: np.ndarray
    """(2, CROP, CROP) uint8: material + 1 and age of each cell around the player."""
    vector: np.ndarray
    """(VECTOR_DIM,) float32 (see the module docstring)."""


def features(obs: dict[str, np.ndarray], info: dict[str, Any], paths: bool = True) -> Features:
    """The policy input at this step, from the map memory in ``info["map"]`` (``paths``:
    with the path features; without, the layout of trunks trained before them)."""
    memory = info["map"]
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
        float(np.clip(dx / SCALE, -1, 1)),
        float(np.clip(dy / SCALE, -1, 1)),
        float(min((abs(dx) + abs(dy)) / SCALE, 1.0)),
        1.0,
    )


def _nearest(mask: np.ndarray, dist: np.ndarray, px: int, py: int) -> tuple[float, ...]:
    if not mask.any():
        return (0.0, 0.0, 1.0, 0.0)
    flat = int(np.where(mask, dist, np.iinfo(np.int32).max).argmin())
    x, y = divmod(flat, mask.shape[1])
    return _offset(x - px, y - py)


def _vector(obs, info, memory, px: int, py: int, crop: np.ndarray) -> np.ndarray:
    grid = memory.grid
    w, h = grid.shape
    xs = np.abs(np.arange(w, dtype=np.int32) - px)[:, None]
    ys = np.abs(np.arange(h, dtype=np.int32) - py)[None, :]
    dist = xs + ys
    parts: list[float] = []
    for kind, kind_id in zip(KINDS, _KIND_IDS, strict=True):
        if kind in _CREATURES:
            parts.extend(_nearest_creature(memory, kind, grid, kind_id, px, py, dist))
        else:
            parts.extend(_nearest(grid == kind_id, dist, px, py))
    parts.extend(_nearest(_frontier(grid), dist, px, py))
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


def _nearest_creature(memory, kind, grid, kind_id, px, py, dist) -> tuple[float, ...]:
    """In view now (on the grid) or remembered where last seen, whichever is nearer."""
    best = _nearest(grid == kind_id, dist, px, py)
    for s in memory.sightings(kind) if hasattr(memory, "sightings") else ():
        candidate = _offset(s.x - px, s.y - py)
        if best[3] == 0.0 or candidate[2] < best[2]:
            best = candidate
    return best


def _frontier(grid: np.ndarray) -> np.ndarray:
    unknown = grid < 0
    near = np.zeros_like(unknown)
    near[1:, :] |= unknown[:-1, :]
    near[:-1, :] |= unknown[1:, :]
    near[:, 1:] |= unknown[:, :-1]
    near[:, :-1] |= unknown[:, 1:]
    return near & _WALKABLE[grid + 1]


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
