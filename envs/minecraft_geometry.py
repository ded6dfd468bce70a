"""Minecraft's view geometry, shared by the MineDojo controller and the test fake.

Yaw 0 faces +z, yaw 90 faces -x; pitch > 0 looks down (MineDojo's ``location_stats``, in
degrees). The look vector is Minecraft's ``Entity.getVectorForRotation``:
(-sin yaw cos pitch, -sin pitch, cos yaw cos pitch).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Cell = tuple[int, int, int]
Vec = np.ndarray


def look_vector(yaw: float, pitch: float) -> Vec:
    y, p = math.radians(yaw), math.radians(pitch)
    return np.array([-math.sin(y) * math.cos(p), -math.sin(p), math.cos(y) * math.cos(p)])


def raycast(
    origin: Vec, direction: Vec, length: float, solid: Callable[[Cell], bool]
) -> tuple[Cell, Cell, float] | None:
    """The first cell ``solid`` accepts along the segment: (cell, face normal, distance), or
    None ([vanilla] World.rayTraceBlocks over full cubes, Amanatides-Woo traversal)."""
    d = direction / np.linalg.norm(direction)
    cell = [math.floor(c) for c in origin]
    step = [1 if v > 0 else -1 for v in d]
    t_max, t_delta = [], []
    for i in range(3):
        if abs(d[i]) < 1e-12:
            t_max.append(math.inf)
            t_delta.append(math.inf)
            continue
        edge = cell[i] + (1 if d[i] > 0 else 0)
        t_max.append((edge - origin[i]) / d[i])
        t_delta.append(abs(1.0 / d[i]))
    t, normal = 0.0, (0, 0, 0)
    while t <= length:
        if solid((cell[0], cell[1], cell[2])):
            return (cell[0], cell[1], cell[2]), normal, t
        axis = int(np.argmin(t_max))
        t = t_max[axis]
        cell[axis] += step[axis]
        t_max[axis] += t_delta[axis]
        n = [0, 0, 0]
        n[axis] = -step[axis]
        normal = (n[0], n[1], n[2])
    return None
