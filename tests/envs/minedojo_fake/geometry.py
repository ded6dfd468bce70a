"""Where the player looks, and what a ray meets: Minecraft's conventions as MineDojo reads them.

Yaw 0 faces +z, yaw 90 faces -x; pitch > 0 looks down (``location_stats``, degrees,
J/Utils/JSONWorldDataHelper.java:196-203). The look vector is [vanilla]
``Entity.getVectorForRotation`` = (-sin yaw cos pitch, -sin pitch, cos yaw cos pitch). Plain
``math`` sin/cos are used (Minecraft's lookup table differs by ~1e-4).
"""

from __future__ import annotations

import math

import numpy as np

from envs.minecraft_geometry import look_vector, raycast

from .rules import FOV

__all__ = ["look_vector", "raycast"]

Vec = np.ndarray


def corner_cosine(cell: tuple[int, int, int], eye: Vec, look: Vec) -> float:
    """``cos_look_vec_angle``: the cosine between the look vector and the eye -> the block's
    *minimum corner* (J/Utils/JSONWorldDataHelper.java:313-314), not its centre."""
    v = np.asarray(cell, dtype=float) - eye
    n = float(np.linalg.norm(v))
    if n < 1e-4:  # [vanilla] Vec3d.normalize gives (0, 0, 0)
        return 0.0
    return float(np.float32(np.dot(v / n, look / np.linalg.norm(look))))


def lidar_direction(look: Vec, pitch: float, yaw: float) -> Vec:
    """A lidar ray's unit direction (J/Utils/JSONWorldDataHelper.java:414-417): MineDojo's
    ``rotatePitchLidar`` (Mixins/MixinVec3d.java:21-42) sets the elevation to the look's
    elevation + ``pitch`` (radians, positive = UP, clamped to +-89 degrees), then [vanilla]
    ``Vec3d.rotateYaw(yaw)``: x' = x cos + z sin, z' = z cos - x sin, so a positive yaw
    points to the player's LEFT."""
    x, y, z = look
    h = math.hypot(x, z)
    elevation = math.degrees(math.atan2(y, h)) + math.degrees(pitch)
    elevation = max(-89.0, min(89.0, elevation))
    y2 = math.tan(math.radians(elevation)) * h
    ratio = 1.0 / math.sqrt(y2 * y2 + x * x + z * z)
    x, y, z = ratio * x, ratio * y2, ratio * z
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([x * c + z * s, y, z * c - x * s])


def ray_box(origin: Vec, direction: Vec, lo: Vec, hi: Vec) -> float | None:
    """Distance along a unit ray to an axis-aligned box (0 when the origin is inside), or None."""
    t0, t1 = 0.0, math.inf
    for i in range(3):
        if abs(direction[i]) < 1e-12:
            if not lo[i] <= origin[i] <= hi[i]:
                return None
            continue
        a, b = (lo[i] - origin[i]) / direction[i], (hi[i] - origin[i]) / direction[i]
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
        if t0 > t1:
            return None
    return t0


def in_view(head: Vec, look: Vec, cell: tuple[int, int, int], width: int, height: int) -> bool:
    """``hasNearbyCraftingTable``/``hasNearbyFurnace`` transcribed
    (J/MissionHandlers/NearbyCraftCommandsImplementation.java:157-196, the same in
    NearbySmeltCommandsImplementation.java:163-202): within 5 blocks of the head point and
    inside the field of view, computed with Java's projections as written (they divide by
    the vector's length once). No line-of-sight test."""
    block = np.asarray(cell, dtype=float) + 0.5
    to_block = block - head
    if float(np.dot(to_block, to_block)) > 25.0:
        return False
    if float(np.dot(look, to_block)) / float(np.linalg.norm(look)) <= 0:
        return False
    cross = np.cross(look, [0.0, 1.0, 0.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        plane = to_block - cross * (np.dot(cross, to_block) / np.linalg.norm(cross))
        pitch = _acos(np.dot(look, plane) / (np.linalg.norm(look) * np.linalg.norm(plane)))
        up = np.cross(cross, look)
        plane2 = to_block - up * (np.dot(up, to_block) / np.linalg.norm(up))
        yaw = _acos(np.dot(look, plane2) / (np.linalg.norm(look) * np.linalg.norm(plane2)))
    if math.isnan(pitch) or math.isnan(yaw):  # looking straight up or down
        return False
    half = FOV / 2.0
    return (
        math.degrees(yaw) <= min(1, width / height) * half
        and math.degrees(pitch) <= min(1, height / width) * half
    )


def _acos(v: float) -> float:
    """Java's Math.acos: NaN outside [-1, 1] (then the test fails, as in Java)."""
    v = float(v)
    return math.acos(v) if -1.0 <= v <= 1.0 else float("nan")
