"""What the MineDojo controller knows of the blocks around it, and where to point the camera.

Read from one observation: the feet position, yaw and pitch (``location_stats``, degrees;
yaw 0 faces +z, pitch > 0 looks down) and the voxel cube (its bounds in ``info["voxel_size"]``,
by default ``envs.minedojo_env.VOXEL_SIZE``; indexed [x - xmin, y - ymin, z - zmin] from the
block at the feet). Cells outside the cube
are unknown and treated as empty. The camera turns in 15-degree steps
(``camera_left``/``right``/``up``/``down``), so :meth:`View.aim` searches the orientations on
that grid for the fewest steps that put the crosshair (a ray from the eyes, 4.5 blocks, the
reach) on a wanted block.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.minecraft_geometry import Cell, look_vector, raycast
from envs.minedojo_env import VOXEL_SIZE

EYE = 1.62  # eye height above the feet
REACH = 4.5  # block reach in survival
STEP = 15.0  # degrees per camera action
HALF = 0.3  # half the player's width


#: Camera moves (pitch steps, yaw steps) by cost: a full turn round, 6 steps up or down.
ORDER = sorted(
    ((dp, dy) for dp in range(-6, 7) for dy in range(-12, 12)), key=lambda m: abs(m[0]) + abs(m[1])
)


@dataclass(frozen=True)
class Aim:
    pitch_steps: int  # > 0: look down
    yaw_steps: int  # > 0: turn right
    cell: Cell  # the block the crosshair will be on
    face: Cell  # the face it meets (the normal)

    @property
    def steps(self) -> int:
        return abs(self.pitch_steps) + abs(self.yaw_steps)


class View:
    def __init__(self, info: dict[str, Any]):
        stats = info["location_stats"]
        self.pos = np.asarray(stats["pos"], dtype=float)
        self.yaw = float(np.ravel(stats["yaw"])[0])
        self.pitch = float(np.ravel(stats["pitch"])[0])
        voxels = info.get("voxels") or {}
        self.names = np.asarray(voxels.get("block_name", np.full((0, 0, 0), "air")))
        bounds = info.get("voxel_size") or VOXEL_SIZE
        low = np.array([bounds["xmin"], bounds["ymin"], bounds["zmin"]])
        self.origin = np.floor(self.pos).astype(int) + low

    @property
    def eye(self) -> np.ndarray:
        return self.pos + np.array([0, EYE, 0])

    def block(self, cell: Cell) -> str | None:
        """The block's name, or None outside the cube."""
        i = np.asarray(cell) - self.origin
        if (i < 0).any() or (i >= self.names.shape).any():
            return None
        return str(self.names[tuple(i)])

    def solid(self, cell: Cell) -> bool:
        return self.block(cell) not in (None, "air", "water", "lava", "grass")

    def crosshair(self, pitch: float | None = None, yaw: float | None = None) -> Any:
        pitch = self.pitch if pitch is None else pitch
        yaw = self.yaw if yaw is None else yaw
        return raycast(self.eye, look_vector(yaw, pitch), REACH, self.solid)

    def aim(self, wanted: Callable[[Cell, Cell], bool]) -> Aim | None:
        """The cheapest orientation on the camera's grid whose crosshair meets a block for
        which ``wanted(cell, face)`` holds; None if none does from here."""
        for dp, dy in ORDER:
            pitch = self.pitch + dp * STEP
            if not -90.0 <= pitch <= 90.0:
                continue
            hit = self.crosshair(pitch, self.yaw + dy * STEP)
            if hit is not None and wanted(hit[0], hit[1]):
                return Aim(dp, dy, hit[0], hit[1])
        return None

    def body_overlaps(self, cell: Cell) -> bool:
        """Whether a block at ``cell`` would overlap the player (Minecraft refuses to place)."""
        lo, hi = np.asarray(cell, dtype=float), np.asarray(cell, dtype=float) + 1
        plo, phi = self.pos - np.array([HALF, 0, HALF]), self.pos + np.array([HALF, 1.8, HALF])
        return bool((plo < hi).all() and (phi > lo).all())

    def yaw_to(self, x: float, z: float) -> float:
        """Degrees to turn right to face the point (x, z) (in (-180, 180])."""
        want = math.degrees(math.atan2(-(x - self.pos[0]), z - self.pos[2]))
        return (want - self.yaw + 180.0) % 360.0 - 180.0

    def ahead(self) -> list[Cell]:
        """The cells one step forward at the feet, the head, and above the head."""
        f = look_vector(self.yaw, 0.0)
        x, z = math.floor(self.pos[0] + 0.8 * f[0]), math.floor(self.pos[2] + 0.8 * f[2])
        y = math.floor(self.pos[1] + 1e-6)
        return [(x, y, z), (x, y + 1, z), (x, y + 2, z)]
