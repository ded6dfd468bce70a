"""The observation schema shared by every backend.

Each backend maps its own observation into these four keys; anything else it
has (Crafter's semantic map, MineDojo's voxels) goes in ``info``.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

#: Inventory items in their fixed order (Crafter's tech tree names; other
#: backends map their items onto these).
ITEMS: tuple[str, ...] = (
    "sapling",
    "wood",
    "stone",
    "coal",
    "iron",
    "diamond",
    "wood_pickaxe",
    "stone_pickaxe",
    "iron_pickaxe",
    "wood_sword",
    "stone_sword",
    "iron_sword",
)
#: Status values in their fixed order.
STATUS: tuple[str, ...] = ("health", "food", "drink", "energy")
#: Creatures whose defeat is counted in ``info["kills"]``.
KILLABLE: tuple[str, ...] = ("zombie", "skeleton")

MAX_COUNT = 2**16


def observation_space(height: int, width: int) -> spaces.Dict:
    """The Dict space every backend's observation lives in."""
    return spaces.Dict(
        {
            "rgb": spaces.Box(0, 255, (height, width, 3), np.uint8),
            "inventory": spaces.Box(0, MAX_COUNT, (len(ITEMS),), np.int32),
            "status": spaces.Box(0.0, 100.0, (len(STATUS),), np.float32),
            "position": spaces.Box(-1e7, 1e7, (3,), np.float32),
        }
    )


def inventory_vector(inventory: dict[str, int]) -> np.ndarray:
    """Counts of :data:`ITEMS` in their fixed order (missing items are 0)."""
    return np.array([inventory.get(name, 0) for name in ITEMS], dtype=np.int32)


def status_vector(status: dict[str, float]) -> np.ndarray:
    """Values of :data:`STATUS` in their fixed order."""
    return np.array([status.get(name, 0.0) for name in STATUS], dtype=np.float32)


def inventory_dict(vector: np.ndarray) -> dict[str, int]:
    """Inverse of :func:`inventory_vector`."""
    return {name: int(v) for name, v in zip(ITEMS, vector, strict=True)}


def status_dict(vector: np.ndarray) -> dict[str, float]:
    """Inverse of :func:`status_vector`."""
    return {name: float(v) for name, v in zip(STATUS, vector, strict=True)}
